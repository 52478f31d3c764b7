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
# The AWS SDK warns once per process that releases after January 2027 need Node 22; keyproof pins
# SDK versions in package-lock.json, so the warning is noise in test and demo output.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
exec npx --no-install tsx scripts/demo/run-demo.ts "$@"
