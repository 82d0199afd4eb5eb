#!/usr/bin/env bash
# Runs Stryker once per group of source files and keeps each group's JSON report, so a long
# measurement yields results group by group (Stryker writes its report only when a whole run ends)
# and can be resumed by naming the groups still to run. `npm run test:mutation` runs every file in one go.
#   bash scripts/mutation-by-group.sh [group ...]     then: node scripts/mutation-summary.mjs
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A GROUPS_TO_FILES=(
  [errors-and-config]='src/errors.ts,src/error-classifier.ts,src/validation-issues.ts,src/pydantic-lax.ts,src/error-handling.ts,src/fastapi-error-renderer.ts,src/client-errors.ts,src/plugins/error-handler.ts,src/plugins/route-registry.ts,src/config.ts,src/schemas/customer-features.ts'
  [rest-and-batching]='src/churn-api/**/*.ts,src/data-plane/micro-batcher.ts,src/data-plane/data-plane.ts,src/data-plane/feature-rows.ts,src/data-plane/model-handle.ts'
  [model]='src/data-plane/churn-model.ts'
  [explanations-and-drift]='src/data-plane/tree-explainer.ts,src/data-plane/onnx-trees.ts,src/data-plane/drift.ts'
  [open-inference]='src/open-inference/**/*.ts'
)
ORDER=(errors-and-config rest-and-batching model explanations-and-drift open-inference)
groups=("${@:-${ORDER[@]}}")

mkdir -p reports/mutation/groups
for group in "${groups[@]}"; do
  files=${GROUPS_TO_FILES[$group]:?unknown group "$group"; groups are: ${ORDER[*]}}
  echo "== $group: $files ($(date -u +%H:%M:%S))"
  npx stryker run --mutate "$files" --reporters clear-text,json,progress-append-only --logLevel warn
  cp reports/mutation/mutation.json "reports/mutation/groups/$group.json"
done
node scripts/mutation-summary.mjs reports/mutation/groups/*.json
