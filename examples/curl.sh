#!/usr/bin/env bash
# Every route of the churn service, with curl. Run it against a running server:
#
#   bash examples/curl.sh                         # http://localhost:8000, no API key
#   BASE_URL=https://churn.internal API_KEY=... ADMIN_TOKEN=... bash examples/curl.sh
#
# Each call prints its answer; the script stops at the first unexpected status.
set -euo pipefail

BASE_URL="${BASE_URL:-http://localhost:8000}"
auth=()
if [[ -n "${API_KEY:-}" ]]; then auth=(-H "authorization: Bearer ${API_KEY}"); fi

# call METHOD PATH EXPECTED_STATUS [curl arguments...]: prints the body, checks the status.
call() {
  local method=$1 path=$2 expected=$3
  shift 3
  local body status
  body="$(mktemp)"
  status="$(curl -sS -o "$body" -w '%{http_code}' -X "$method" "${BASE_URL}${path}" "$@")"
  printf '\n$ %s %s -> %s\n' "$method" "$path" "$status"
  head -c 600 "$body"
  echo
  rm -f "$body"
  if [[ "$status" != "$expected" ]]; then
    echo "expected $expected" >&2
    exit 1
  fi
}

json=(-H 'content-type: application/json')

# Probes: liveness, readiness, and the FastAPI service's /health.
call GET /health/live 200
call GET /health/ready 200
call GET /health 200

# One customer. customer_id is optional and echoed back.
call POST /predict 200 "${json[@]}" "${auth[@]}" \
  -d '{"customer_id":"9237-HQITU","tenure_months":2,"monthly_charges":70.7,"total_charges":151.65,"num_products":2,"has_support_calls":0}'

# Up to 100 customers in one model run; answers come back in the order sent.
call POST /predict/batch 200 "${json[@]}" "${auth[@]}" \
  -d '{"customers":[
        {"customer_id":"9237-HQITU","tenure_months":2,"monthly_charges":70.7,"total_charges":151.65,"num_products":2,"has_support_calls":0},
        {"customer_id":"7795-CFOCW","tenure_months":45,"monthly_charges":42.3,"total_charges":1840.75,"num_products":4,"has_support_calls":1}]}'

# A value out of range: 422 with a FastAPI-style detail list.
call POST /predict 422 "${json[@]}" "${auth[@]}" \
  -d '{"tenure_months":999,"monthly_charges":70.7,"total_charges":151.65,"num_products":2,"has_support_calls":0}'

# The model card (training data, metrics, features, operating points) and drift against the training data;
# like every route but the probes, the docs and /metrics, they need the key when the server has API_KEYS.
call GET /model 200 "${auth[@]}"
call GET /monitoring/drift 200 "${auth[@]}"

# The same model over the Open Inference Protocol (KServe V2), for KServe, Triton and MLServer clients.
call GET /v2 200 "${auth[@]}"
call GET /v2/health/ready 200
call GET /v2/models/churn 200 "${auth[@]}"
call GET /v2/models/churn/ready 200
# One FP32 [N, 5] input, one row per customer, columns in the order the metadata lists them;
# data may be nested (as here) or flat.
call POST /v2/models/churn/infer 200 "${json[@]}" "${auth[@]}" \
  -d '{"id":"crm-sync-42","inputs":[{"name":"features","datatype":"FP32","shape":[2,5],
        "data":[[2,70.7,151.65,2,0],[45,42.3,1840.75,4,1]]}]}'
# Only the probabilities, flat data, pinned to the served version (404 once another one serves).
version="$(curl -sS "${auth[@]}" "${BASE_URL}/v2/models/churn" | sed -E 's/.*"versions":\["([^"]+)".*/\1/')"
call POST "/v2/models/churn/versions/${version}/infer" 200 "${json[@]}" "${auth[@]}" \
  -d '{"inputs":[{"name":"features","datatype":"FP32","shape":[1,5],"data":[2,70.7,151.65,2,0]}],"outputs":[{"name":"probabilities"}]}'
# Errors are 400 with {"error": "..."}, as the protocol says: here a row of 4 values.
call POST /v2/models/churn/infer 400 "${json[@]}" "${auth[@]}" \
  -d '{"inputs":[{"name":"features","datatype":"FP32","shape":[1,4],"data":[2,70.7,151.65,2]}]}'

# Prometheus metrics (first lines) and the OpenAPI document.
call GET /metrics 200
call GET /openapi.json 200

# Model reload, only when the server has ADMIN_TOKEN set.
if [[ -n "${ADMIN_TOKEN:-}" ]]; then
  call POST /admin/reload 200 -H "authorization: Bearer ${ADMIN_TOKEN}"
fi

printf '\nAll calls answered as expected. Interactive docs: %s/docs\n' "$BASE_URL"
