# shellcheck shell=bash disable=SC2034 # variables are used by the scripts that source this file
# Shared helpers for scripts/services.sh, scripts/test.sh and scripts/demo.sh.
# Sourced, never executed. Callers set `set -euo pipefail` themselves.

# Repository root, whatever the caller's working directory (CI runs from a fresh clone elsewhere).
KEYPROOF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KEYPROOF_STATE_DIR="$KEYPROOF_ROOT/.keyproof"
KEYPROOF_SERVICES_DIR="$KEYPROOF_STATE_DIR/services"
KEYPROOF_CACHE_DIR="$KEYPROOF_STATE_DIR/cache"
KEYPROOF_ENV_FILE="$KEYPROOF_STATE_DIR/services.env"

# Messages go to stderr so that `services.sh env` can be piped or eval'd.
log() { printf '%s: %s\n' "${LOG_PREFIX:-keyproof}" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "${LOG_PREFIX:-keyproof}" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "${LOG_PREFIX:-keyproof}" "$*" >&2
  exit 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  timeout 1 bash -c ': </dev/tcp/127.0.0.1/'"$1" 2>/dev/null
}

# Ports handed out during this run, so two services never get the same free port.
RESERVED_PORTS=" "

# Sets PICKED_PORT to the first port from $1 upwards that nothing listens on and that this run
# has not handed out yet. (A global, not output: $(...) would lose the RESERVED_PORTS update.)
PICKED_PORT=""
pick_free_port() {
  local port="$1" last=$(($1 + 200))
  while ((port <= last)); do
    if [[ "$RESERVED_PORTS" != *" $port "* ]] && ! port_in_use "$port"; then
      RESERVED_PORTS+="$port "
      PICKED_PORT="$port"
      return 0
    fi
    port=$((port + 1))
  done
  return 1
}

# HTTP GET that succeeds only on a 2xx answer; extra curl arguments may follow the URL.
http_ok() {
  local url="$1"
  shift
  curl -fsS --max-time 3 -o /dev/null "$@" "$url" 2>/dev/null
}

# HTTP GET printing the body; fails on a non-2xx answer.
http_body() {
  local url="$1"
  shift
  curl -fsS --max-time 3 "$@" "$url" 2>/dev/null
}

pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null
}

# True when process $1 is alive and its command line contains $2. Guards against a pid file
# whose process died and whose pid the kernel gave to an unrelated process since.
pid_runs() {
  local pid="$1" pattern="$2" cmdline
  pid_alive "$pid" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *"$pattern"* ]]
}

# start_detached PIDFILE LOGFILE COMMAND...
# Starts COMMAND in its own session, detached from our stdin/stdout/stderr (a CI runner waiting
# for our output pipe to close must not wait for the service), and writes its pid to PIDFILE.
# The pid is written by the process itself before exec, so it is the service's own pid.
start_detached() {
  local pidfile="$1" logfile="$2"
  shift 2
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$ and $@ expand in the child shell, on purpose.
  # 9>&-: fd 9 holds services.sh's start/stop lock; a long-lived child must not inherit it.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  local waited=0
  while [[ ! -s "$pidfile" ]] && ((waited < 50)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  [[ -s "$pidfile" ]]
}

# stop_pid PID NAME: TERM, wait up to 15 s, then KILL.
stop_pid() {
  local pid="$1" name="$2" waited=0
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid" && ((waited < 150)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if pid_alive "$pid"; then
    warn "$name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
}

# Loads .keyproof/services.env into the current shell (exported).
load_services_env() {
  [[ -f "$KEYPROOF_ENV_FILE" ]] || die "$KEYPROOF_ENV_FILE is missing; run: bash scripts/services.sh start"
  set -a
  # shellcheck disable=SC1090
  . "$KEYPROOF_ENV_FILE"
  set +a
}
