#!/usr/bin/env bash
# The demo command (README): starts the local services, loads their addresses, and runs the
# end-to-end demo against the emulators. Arguments go to scripts/demo/run-demo.ts.
set -euo pipefail

LOG_PREFIX=demo
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$KEYPROOF_ROOT"

bash scripts/services.sh start
load_services_env
exec npx --no-install tsx scripts/demo/run-demo.ts "$@"
