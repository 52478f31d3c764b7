#!/usr/bin/env bash
# The one test command (README, CI): starts the local services, type-checks, lints, runs both vitest
# tiers (the `unit` and `integration` projects of vitest.config.ts), lists the ten slowest tests, and
# ends with one plain line `tests: N passed, M failed[, K skipped]`.
# Exit status is non-zero when the type check, the lint or any test failed, or when no test ran.
#
# Services stay up afterwards, so a second run starts fast; KEYPROOF_STOP_SERVICES=1 stops the
# ones this run's services.sh started. Extra arguments go to `vitest run` (e.g. a file filter, or
# `--project unit` for one tier).
set -euo pipefail

LOG_PREFIX="test"
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$KEYPROOF_ROOT"

RESULTS="$KEYPROOF_STATE_DIR/test-results.json"

if [[ "${KEYPROOF_STOP_SERVICES:-0}" == 1 ]]; then
  trap 'bash "$KEYPROOF_ROOT/scripts/services.sh" stop || true' EXIT
fi

# The Sentinel and Cluster set-ups too: queue-redis-sentinel and queue-redis-cluster run on them.
bash scripts/services.sh start redis-sentinel redis-cluster
load_services_env
# The AWS SDK warns once per process that releases after January 2027 need Node 22; keyproof pins
# SDK versions in package-lock.json, so the warning is noise in test and demo output.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

failures=()

log "type check: tsc -p tsconfig.json --noEmit"
if ! npx --no-install tsc -p tsconfig.json --noEmit; then
  failures+=("type check")
fi

log "lint: eslint ."
if ! npx --no-install eslint .; then
  failures+=("lint")
fi

log "lint: import boundaries (dependency-cruiser)"
if ! npm run --silent lint:boundaries; then
  failures+=("import boundaries")
fi

log "tests: vitest run (unit and integration tiers)"
rm -f "$RESULTS"
vitest_status=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$RESULTS" "$@" || vitest_status=$?

# Counts come from vitest's JSON report, not from its console output, so the closing line is exact; the
# same reader lists the slowest tests (on stderr, with the other log lines) to show where the time goes.
# If the reader itself fails, nothing counts as run, so the run fails with the closing line still printed.
counts="$(npx --no-install tsx scripts/vitest-report.ts "$RESULTS" 10)" || counts="0 0 0 0"
read -r passed failed skipped unloaded_files <<<"$counts"

if ((vitest_status != 0)); then
  failures+=("vitest (exit $vitest_status)")
  ((unloaded_files == 0)) || log "$unloaded_files test file(s) failed before running any test (see the vitest output above)"
fi
if ((passed + failed == 0)); then
  failures+=("no test ran")
fi
((${#failures[@]} == 0)) || log "failed: $(
  IFS=,
  echo "${failures[*]}"
)"

# Stop before the closing line so that it stays the last line printed.
if [[ "${KEYPROOF_STOP_SERVICES:-0}" == 1 ]]; then
  trap - EXIT
  bash scripts/services.sh stop || true
fi

summary="tests: $passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
printf '%s\n' "$summary"
((${#failures[@]} == 0))
