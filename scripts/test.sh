#!/usr/bin/env bash
# npm test: type check, then every test file through node's runner.
# Files are passed by the shell, never as a quoted glob or folder: node 20 runs zero .ts files
# and exits 0 when given those (reference: stack notes, pitfall 2).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
shopt -s nullglob globstar
files=(lib/**/*.test.ts properties/*.test.ts goldens/*.test.ts scripts/*.test.ts)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
status=0
node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}" || status=$?
pass=$(grep -E '^# pass ' "$tap" | awk '{print $3}')
fail=$(grep -E '^# fail ' "$tap" | awk '{print $3}')
echo "${pass:-0} passed, ${fail:-0} failed"
if [ "${pass:-0}" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
