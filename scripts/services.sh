#!/usr/bin/env bash
# Local services for keyproof's tests and demo, without Docker:
#   redis-server   BullMQ queues                         default 127.0.0.1:6379
#   moto_server    AWS emulator (KMS, S3, IAM, ...)      default 127.0.0.1:5000
#   OpenBao (dev)  HashiCorp Vault API                   default 127.0.0.1:8200
#   Lowkey Vault   Azure Key Vault emulator (HTTPS)      default 127.0.0.1:8443, token/metadata port 8080
#
# On demand (named after `start`, then kept by every later `start` until `stop`):
#   redis-sentinel a master + one replica + three sentinels (quorum 2), master name keyproof-test
#                  default data 127.0.0.1:6380-6381, sentinels 127.0.0.1:26379-26381
#   redis-cluster  a three-node Redis Cluster (no replicas)  default 127.0.0.1:7379-7381
#
# Usage: scripts/services.sh start [redis-sentinel] [redis-cluster]|stop|status|env
#   start   install what is missing (Debian packages, .venv, the Lowkey jar, node_modules),
#           start each service on loopback, wait until it answers, write .keyproof/services.env.
#           Idempotent: running services are kept, so a second start is a quick no-op.
#   stop    stop the services this script started (never ones it found already running)
#   status  show each service, its address and whether it answers
#   env     print .keyproof/services.env (export lines for tests: `. .keyproof/services.env`)
#
# If a default port already answers as a healthy instance of the same service (a developer's own
# redis or moto, say), that instance is reused and left alone by `stop`. If the port is taken by
# anything else, the service starts on the next free loopback port instead.
#
# Environment knobs (all optional):
#   KEYPROOF_LOWKEY_JAR=/path/lowkey-vault-app.jar   use this jar instead of fetching one
#   KEYPROOF_LOWKEY_JAVA_HOME=/usr/lib/jvm/...       Java 25 for Lowkey Vault
#   KEYPROOF_REQUIRE_LOWKEY=1                        fail when Lowkey Vault cannot be started
#                                                    (by default it is reported and skipped)
#   KEYPROOF_{REDIS,MOTO,OPENBAO,LOWKEY,LOWKEY_TOKEN}_PORT   preferred ports
#   KEYPROOF_{SENTINEL_DATA,SENTINEL,CLUSTER}_PORT            first preferred port of each group
set -euo pipefail

LOG_PREFIX=services
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# --- pins and defaults (docker-compose.yml uses the same versions) -------------------------------
APT_PACKAGES=(redis-server chromium poppler-utils tesseract-ocr fonts-dejavu-core curl openssl ca-certificates)
REQUIREMENTS="$KEYPROOF_ROOT/scripts/requirements-services.txt"
VENV="$KEYPROOF_ROOT/.venv"
LOWKEY_GROUP=com.github.nagyesta.lowkey-vault
LOWKEY_ARTIFACT=lowkey-vault-app
LOWKEY_VERSION=7.3.74
LOWKEY_VAULT_NAMES=acme-prod,acme-dev
LOWKEY_JAVA_HOME="${KEYPROOF_LOWKEY_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CHROMIUM=/usr/bin/chromium

PORT_REDIS="${KEYPROOF_REDIS_PORT:-6379}"
PORT_MOTO="${KEYPROOF_MOTO_PORT:-5000}"
PORT_OPENBAO="${KEYPROOF_OPENBAO_PORT:-8200}"
PORT_LOWKEY="${KEYPROOF_LOWKEY_PORT:-8443}"
PORT_LOWKEY_TOKEN="${KEYPROOF_LOWKEY_TOKEN_PORT:-8080}"

PORT_SENTINEL_DATA="${KEYPROOF_SENTINEL_DATA_PORT:-6380}"
PORT_SENTINEL="${KEYPROOF_SENTINEL_PORT:-26379}"
PORT_CLUSTER="${KEYPROOF_CLUSTER_PORT:-7379}"
SENTINEL_MASTER_NAME=keyproof-test

SERVICES=(redis moto openbao lowkey)
# Started only when asked for (`start redis-sentinel`), then kept by every later `start`.
OPTIONAL_SERVICES=(redis-sentinel redis-cluster)

# --- state files ----------------------------------------------------------------------------------
# .keyproof/services/<name>.state holds ST_* assignments: ST_MODE=own|external|unavailable,
# ST_PORT, ST_PID (own only), ST_TOKEN (openbao), ST_TOKEN_PORT (lowkey), ST_REASON (unavailable).

state_file() { printf '%s/%s.state\n' "$KEYPROOF_SERVICES_DIR" "$1"; }
pid_file() { printf '%s/%s.pid\n' "$KEYPROOF_SERVICES_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$KEYPROOF_SERVICES_DIR" "$1"; }

read_state() {
  ST_MODE="" ST_PORT="" ST_PID="" ST_TOKEN="" ST_TOKEN_PORT="" ST_REASON="" ST_PIDS="" ST_PORTS="" ST_SENTINEL_PORTS=""
  local file
  file="$(state_file "$1")"
  # shellcheck disable=SC1090
  [[ -f "$file" ]] && . "$file"
  return 0
}

# write_state NAME KEY=VALUE...
write_state() {
  local name="$1" kv file
  shift
  file="$(state_file "$name")"
  : >"$file.tmp"
  for kv in "$@"; do
    printf 'ST_%s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$file.tmp"
  done
  mv "$file.tmp" "$file"
}

clear_state() { rm -f "$(state_file "$1")" "$(pid_file "$1")"; }

# Our own earlier instance: stop it when it no longer answers (a half-dead process would hold
# the port and the data directory).
stop_stale_own() {
  local name="$1" pattern="$2"
  if [[ "$ST_MODE" == own ]] && pid_runs "$ST_PID" "$pattern"; then
    warn "$name: the instance started earlier (pid $ST_PID) does not answer; restarting it"
    stop_pid "$ST_PID" "$name"
  fi
  clear_state "$name"
}

# fail_service NAME PID REASON: stop what we started, show the end of its log, exit non-zero.
fail_service() {
  local name="$1" pid="$2" reason="$3" logfile
  logfile="$(log_file "$name")"
  [[ -n "$pid" ]] && stop_pid "$pid" "$name"
  clear_state "$name"
  if [[ -s "$logfile" ]]; then
    printf '%s: --- last lines of %s ---\n' "$LOG_PREFIX" "$logfile" >&2
    tail -n 40 "$logfile" >&2
    printf '%s: --- end of log ---\n' "$LOG_PREFIX" >&2
  fi
  die "$name failed to start: $reason (log: $logfile)"
}

# wait_healthy NAME PID SECONDS CHECK ARGS...: poll CHECK until it succeeds, the process dies,
# or time runs out.
wait_healthy() {
  local name="$1" pid="$2" seconds="$3" tries
  shift 3
  tries=$((seconds * 4))
  while ((tries > 0)); do
    "$@" && return 0
    pid_alive "$pid" || fail_service "$name" "" "the process exited during start-up"
    sleep 0.25
    tries=$((tries - 1))
  done
  fail_service "$name" "$pid" "no healthy answer within ${seconds}s"
}

# --- installation ---------------------------------------------------------------------------------

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

apt_install() {
  local logfile="$KEYPROOF_SERVICES_DIR/apt.log"
  log "installing Debian packages: $*"
  # apt-get update only when something is missing: it is the slow part and needs the network.
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$logfile" 2>&1 ||
    ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=600 "$@" >>"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "apt-get install $* failed (log: $logfile)"
  fi
}

ensure_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" == installed ]] || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# True when .venv holds exactly the versions pinned in scripts/requirements-services.txt.
venv_has_pins() {
  [[ -x "$VENV/bin/python" && -x "$VENV/bin/moto_server" && -x "$VENV/bin/bao" ]] || return 1
  "$VENV/bin/python" - "$REQUIREMENTS" <<'PY' 2>/dev/null
import importlib.metadata as metadata
import re
import sys

for raw in open(sys.argv[1], encoding="utf-8"):
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line)
    if match is None:
        sys.exit(f"unpinned requirement: {line}")
    try:
        installed = metadata.version(match.group(1))
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if installed != match.group(3):
        sys.exit(1)
PY
}

find_python() {
  local candidate
  for candidate in python3 python3.12 python3.11 python3.10; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  venv_has_pins && return 0
  local logfile="$KEYPROOF_SERVICES_DIR/venv.log" python
  : >"$logfile"
  if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    if ! python="$(find_python)"; then
      apt_install python3 python3-venv
      python="$(find_python)" || die "no Python >= 3.10 found (moto 5.2 needs it)"
    fi
    log "creating the virtualenv .venv with $python"
    if ! "$python" -m venv --clear "$VENV" >>"$logfile" 2>&1; then
      # Debian's own python3 ships venv's pip bootstrap in a separate package.
      apt_install python3-venv
      "$python" -m venv --clear "$VENV" >>"$logfile" 2>&1 || {
        tail -n 20 "$logfile" >&2
        die "python -m venv failed (log: $logfile)"
      }
    fi
  fi
  log "installing the pinned emulators into .venv ($(grep -v '^#' "$REQUIREMENTS" | xargs))"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQUIREMENTS" >>"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "pip install -r scripts/requirements-services.txt failed (log: $logfile)"
  fi
  venv_has_pins || die ".venv still lacks the pinned versions after pip install (log: $logfile)"
}

ensure_node_modules() {
  # npm ci writes node_modules/.package-lock.json last, so it dates the last complete install.
  local stamp="$KEYPROOF_ROOT/node_modules/.package-lock.json"
  if [[ -f "$stamp" && ! "$KEYPROOF_ROOT/package-lock.json" -nt "$stamp" ]]; then
    return 0
  fi
  local logfile="$KEYPROOF_SERVICES_DIR/npm-ci.log"
  log "running npm ci (node_modules is missing or older than package-lock.json)"
  # puppeteer must not download its own browser: there is no route to its host; we use Debian's.
  if ! (cd "$KEYPROOF_ROOT" && PUPPETEER_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund) >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    die "npm ci failed (log: $logfile)"
  fi
}

# Sets LOWKEY_JAR to a runnable jar, or LOWKEY_REASON and returns 1.
resolve_lowkey_jar() {
  LOWKEY_JAR="" LOWKEY_REASON=""
  if [[ -n "${KEYPROOF_LOWKEY_JAR:-}" ]]; then
    [[ -f "$KEYPROOF_LOWKEY_JAR" ]] || {
      LOWKEY_REASON="KEYPROOF_LOWKEY_JAR=$KEYPROOF_LOWKEY_JAR does not exist"
      return 1
    }
    LOWKEY_JAR="$KEYPROOF_LOWKEY_JAR"
    return 0
  fi
  local coordinates="$LOWKEY_GROUP:$LOWKEY_ARTIFACT:$LOWKEY_VERSION"
  local jar="$KEYPROOF_CACHE_DIR/$LOWKEY_ARTIFACT-$LOWKEY_VERSION.jar"
  local refused="$jar.unavailable"
  if [[ -s "$jar" ]]; then
    LOWKEY_JAR="$jar"
    return 0
  fi
  # Remember a refusal for a day: asking Maven again costs a JVM start on every `start`.
  if [[ -f "$refused" && -z "$(find "$refused" -mmin +1440 2>/dev/null)" ]]; then
    LOWKEY_REASON="$(cat "$refused") [remembered; delete $refused to ask again]"
    return 1
  fi
  if ! command -v mvn >/dev/null; then
    LOWKEY_REASON="mvn is not installed, so $coordinates cannot be fetched"
    return 1
  fi
  local logfile="$KEYPROOF_SERVICES_DIR/lowkey-fetch.log"
  log "lowkey: fetching $coordinates from Maven Central"
  if mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$coordinates:jar" -DoutputDirectory="$KEYPROOF_CACHE_DIR" >"$logfile" 2>&1 &&
    [[ -s "$jar" ]]; then
    LOWKEY_JAR="$jar"
    return 0
  fi
  LOWKEY_REASON="Maven Central here does not serve $coordinates (mvn dependency:copy failed; log: $logfile)"
  printf '%s\n' "$LOWKEY_REASON" >"$refused"
  return 1
}

# --- health checks (each takes the port; they also tell our service from an unrelated one) -------

redis_healthy() {
  local answer policy
  answer="$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" || return 1
  [[ "$answer" == PONG ]] || return 1
  # BullMQ loses jobs under any eviction policy, so only a noeviction Redis is reused.
  policy="$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" --raw config get maxmemory-policy 2>/dev/null | sed -n 2p)"
  [[ "$policy" == noeviction ]] || return 1
  # It must also take writes: a Redis whose snapshot directory is gone answers PING but refuses every
  # write (MISCONF), and so does a read-only replica or a full one.
  answer="$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" set keyproof:services:write-probe 1 EX 5 2>/dev/null)" || return 1
  [[ "$answer" == OK ]]
}

moto_healthy() {
  local body
  body="$(http_body "http://127.0.0.1:$1/moto-api/")" || return 1
  [[ "$body" == *"<title>Moto"* ]]
}

# openbao_healthy PORT [TOKEN]: unsealed dev server, and TOKEN (when given) is accepted.
openbao_healthy() {
  local body
  body="$(http_body "http://127.0.0.1:$1/v1/sys/health")" || return 1
  [[ "$body" == *'"initialized":true'* && "$body" == *'"sealed":false'* ]] || return 1
  [[ -z "${2:-}" ]] || http_ok "http://127.0.0.1:$1/v1/auth/token/lookup-self" -H "X-Vault-Token: $2"
}

# lowkey_healthy PORT TOKEN_PORT
lowkey_healthy() {
  http_ok "https://127.0.0.1:$1/ping" -k && http_ok "http://127.0.0.1:$2/ping"
}

# --- services -------------------------------------------------------------------------------------

start_redis() {
  read_state redis
  if [[ "$ST_MODE" == own ]] && pid_runs "$ST_PID" redis-server && redis_healthy "$ST_PORT"; then
    log "redis: running (pid $ST_PID) on 127.0.0.1:$ST_PORT"
    RESERVED_PORTS+="$ST_PORT "
    return 0
  fi
  stop_stale_own redis redis-server
  if redis_healthy "$PORT_REDIS"; then
    log "redis: reusing the noeviction Redis already on 127.0.0.1:$PORT_REDIS (not started here; stop leaves it)"
    write_state redis MODE=external PORT="$PORT_REDIS"
    RESERVED_PORTS+="$PORT_REDIS "
    return 0
  fi
  local port dir logfile pid
  pick_free_port "$PORT_REDIS" || die "redis: no free port from $PORT_REDIS"
  port="$PICKED_PORT"
  [[ "$port" == "$PORT_REDIS" ]] || log "redis: 127.0.0.1:$PORT_REDIS is taken by something else; using port $port"
  dir="$KEYPROOF_SERVICES_DIR/redis"
  logfile="$(log_file redis)"
  mkdir -p "$dir"
  log "redis: starting on 127.0.0.1:$port"
  start_detached "$(pid_file redis)" "$logfile" \
    redis-server --port "$port" --bind 127.0.0.1 --maxmemory-policy noeviction \
    --appendonly yes --dir "$dir" --daemonize no --logfile "" ||
    fail_service redis "" "could not launch redis-server"
  pid="$(cat "$(pid_file redis)")"
  wait_healthy redis "$pid" 20 redis_healthy "$port"
  write_state redis MODE=own PORT="$port" PID="$pid"
}

start_moto() {
  read_state moto
  if [[ "$ST_MODE" == own ]] && pid_runs "$ST_PID" moto_server && moto_healthy "$ST_PORT"; then
    log "moto: running (pid $ST_PID) on 127.0.0.1:$ST_PORT"
    RESERVED_PORTS+="$ST_PORT "
    return 0
  fi
  stop_stale_own moto moto_server
  if moto_healthy "$PORT_MOTO"; then
    log "moto: reusing the moto_server already on 127.0.0.1:$PORT_MOTO (not started here; stop leaves it)"
    write_state moto MODE=external PORT="$PORT_MOTO"
    RESERVED_PORTS+="$PORT_MOTO "
    return 0
  fi
  local port logfile pid
  pick_free_port "$PORT_MOTO" || die "moto: no free port from $PORT_MOTO"
  port="$PICKED_PORT"
  [[ "$port" == "$PORT_MOTO" ]] || log "moto: 127.0.0.1:$PORT_MOTO is taken by something else; using port $port"
  logfile="$(log_file moto)"
  log "moto: starting on 127.0.0.1:$port"
  # Loading IAM's ~1000 AWS-managed policies costs seconds per reset and no test uses them.
  start_detached "$(pid_file moto)" "$logfile" \
    env MOTO_IAM_LOAD_MANAGED_POLICIES=false "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" ||
    fail_service moto "" "could not launch moto_server"
  pid="$(cat "$(pid_file moto)")"
  wait_healthy moto "$pid" 60 moto_healthy "$port"
  write_state moto MODE=own PORT="$port" PID="$pid"
}

start_openbao() {
  read_state openbao
  local known_token="$ST_TOKEN"
  if [[ "$ST_MODE" == own ]] && pid_runs "$ST_PID" bao && openbao_healthy "$ST_PORT" "$ST_TOKEN"; then
    log "openbao: running (pid $ST_PID) on 127.0.0.1:$ST_PORT"
    RESERVED_PORTS+="$ST_PORT $((ST_PORT + 1)) "
    return 0
  fi
  stop_stale_own openbao bao
  # A dev server we did not start is only usable with its root token: reuse it when a token we
  # know is accepted there.
  local token
  for token in "$known_token" "${KEYPROOF_TEST_VAULT_TOKEN:-}" "${BAO_TOKEN:-}" "${VAULT_TOKEN:-}"; do
    if [[ -n "$token" ]] && openbao_healthy "$PORT_OPENBAO" "$token"; then
      log "openbao: reusing the server already on 127.0.0.1:$PORT_OPENBAO (not started here; stop leaves it)"
      write_state openbao MODE=external PORT="$PORT_OPENBAO" TOKEN="$token"
      RESERVED_PORTS+="$PORT_OPENBAO "
      return 0
    fi
  done
  local port logfile pid
  pick_free_port "$PORT_OPENBAO" || die "openbao: no free port from $PORT_OPENBAO"
  port="$PICKED_PORT"
  # Dev mode also listens for cluster traffic on port+1.
  while port_in_use $((port + 1)) || [[ "$RESERVED_PORTS" == *" $((port + 1)) "* ]]; do
    pick_free_port $((port + 2)) || die "openbao: no free port pair from $PORT_OPENBAO"
    port="$PICKED_PORT"
  done
  RESERVED_PORTS+="$((port + 1)) "
  [[ "$port" == "$PORT_OPENBAO" ]] || log "openbao: 127.0.0.1:$PORT_OPENBAO is taken by something else; using port $port"
  token="kp-dev-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
  logfile="$(log_file openbao)"
  log "openbao: starting a dev server on 127.0.0.1:$port"
  # OpenBao 2.x refuses `PUT sys/audit/<path>` unless the server config allows it, and the
  # HashiCorp Vault provider tests enable file audit devices through the API.
  local config="$KEYPROOF_SERVICES_DIR/openbao-extra.hcl"
  printf 'unsafe_allow_api_audit_creation = true\n' >"$config"
  # -dev-no-store-token: do not write the root token into the user's ~/.bao-token.
  start_detached "$(pid_file openbao)" "$logfile" \
    "$VENV/bin/bao" server -dev -dev-no-store-token -dev-root-token-id="$token" \
    -dev-listen-address="127.0.0.1:$port" -config="$config" ||
    fail_service openbao "" "could not launch bao"
  pid="$(cat "$(pid_file openbao)")"
  wait_healthy openbao "$pid" 30 openbao_healthy "$port" "$token"
  write_state openbao MODE=own PORT="$port" PID="$pid" TOKEN="$token"
}

# Exports Lowkey Vault's self-signed certificate as PEM so Node can trust it through an
# https.Agent `ca` (narrower than NODE_TLS_REJECT_UNAUTHORIZED=0).
export_lowkey_pem() {
  local token_port="$1" pem="$KEYPROOF_SERVICES_DIR/lowkey.pem" p12="$KEYPROOF_SERVICES_DIR/lowkey.p12" password
  password="$(http_body "http://127.0.0.1:$token_port/metadata/default-cert/password")" || return 1
  curl -fsS --max-time 5 -o "$p12" "http://127.0.0.1:$token_port/metadata/default-cert/lowkey-vault.p12" || return 1
  # OpenSSL 3 refuses the older PKCS#12 ciphers unless -legacy is given; try both.
  if ! openssl pkcs12 -in "$p12" -nokeys -passin "pass:$password" -out "$pem.tmp" 2>/dev/null &&
    ! openssl pkcs12 -legacy -in "$p12" -nokeys -passin "pass:$password" -out "$pem.tmp" 2>/dev/null; then
    return 1
  fi
  openssl x509 -in "$pem.tmp" -out "$pem" || return 1
  rm -f "$pem.tmp" "$p12"
}

lowkey_unavailable() {
  local reason="$1"
  if [[ "${KEYPROOF_REQUIRE_LOWKEY:-0}" == 1 ]]; then
    die "lowkey: cannot start Lowkey Vault: $reason"
  fi
  warn "lowkey: Azure Key Vault emulator not started: $reason"
  warn "lowkey: KEYPROOF_TEST_LOWKEY_* stay unset; set KEYPROOF_LOWKEY_JAR to a lowkey-vault-app jar to enable it"
  write_state lowkey MODE=unavailable REASON="$reason"
  rm -f "$KEYPROOF_SERVICES_DIR/lowkey.pem"
}

start_lowkey() {
  read_state lowkey
  local pem="$KEYPROOF_SERVICES_DIR/lowkey.pem"
  if [[ "$ST_MODE" == own ]] && pid_runs "$ST_PID" --app.token.port= && lowkey_healthy "$ST_PORT" "$ST_TOKEN_PORT" && [[ -s "$pem" ]]; then
    log "lowkey: running (pid $ST_PID) on https://127.0.0.1:$ST_PORT (token port $ST_TOKEN_PORT)"
    RESERVED_PORTS+="$ST_PORT $ST_TOKEN_PORT "
    return 0
  fi
  stop_stale_own lowkey --app.token.port=
  if lowkey_healthy "$PORT_LOWKEY" "$PORT_LOWKEY_TOKEN"; then
    export_lowkey_pem "$PORT_LOWKEY_TOKEN" || die "lowkey: could not export the certificate of the Lowkey Vault on $PORT_LOWKEY"
    log "lowkey: reusing the Lowkey Vault already on 127.0.0.1:$PORT_LOWKEY (not started here; stop leaves it)"
    write_state lowkey MODE=external PORT="$PORT_LOWKEY" TOKEN_PORT="$PORT_LOWKEY_TOKEN"
    RESERVED_PORTS+="$PORT_LOWKEY $PORT_LOWKEY_TOKEN "
    return 0
  fi
  local java="$LOWKEY_JAVA_HOME/bin/java"
  if [[ ! -x "$java" ]]; then
    lowkey_unavailable "Java 25 not found at $LOWKEY_JAVA_HOME (Lowkey Vault 5.x and later need it; set KEYPROOF_LOWKEY_JAVA_HOME)"
    return 0
  fi
  if ! resolve_lowkey_jar; then
    lowkey_unavailable "$LOWKEY_REASON"
    return 0
  fi
  local port token_port logfile pid
  pick_free_port "$PORT_LOWKEY" || die "lowkey: no free port from $PORT_LOWKEY"
  port="$PICKED_PORT"
  pick_free_port "$PORT_LOWKEY_TOKEN" || die "lowkey: no free port from $PORT_LOWKEY_TOKEN"
  token_port="$PICKED_PORT"
  [[ "$port" == "$PORT_LOWKEY" && "$token_port" == "$PORT_LOWKEY_TOKEN" ]] ||
    log "lowkey: default ports $PORT_LOWKEY/$PORT_LOWKEY_TOKEN are taken; using $port/$token_port"
  logfile="$(log_file lowkey)"
  log "lowkey: starting Lowkey Vault $(basename "$LOWKEY_JAR") on https://127.0.0.1:$port (token port $token_port)"
  # Vault names become https://<name>.localhost:<port>; requests are routed by Host header.
  start_detached "$(pid_file lowkey)" "$logfile" \
    env JAVA_HOME="$LOWKEY_JAVA_HOME" "$java" -Xmx512m -jar "$LOWKEY_JAR" \
    --server.port="$port" --app.token.port="$token_port" --LOWKEY_VAULT_NAMES="$LOWKEY_VAULT_NAMES" ||
    fail_service lowkey "" "could not launch java"
  pid="$(cat "$(pid_file lowkey)")"
  wait_healthy lowkey "$pid" 120 lowkey_healthy "$port" "$token_port"
  export_lowkey_pem "$token_port" || fail_service lowkey "$pid" "could not export its certificate to $pem"
  write_state lowkey MODE=own PORT="$port" PID="$pid" TOKEN_PORT="$token_port"
}

# --- Redis Sentinel and Redis Cluster (on demand) ------------------------------------------------
# Each is a group of processes: ST_PIDS lists them, ST_PORTS their ports (data nodes first), so
# stop/status treat the group as one service.

# Sets SENTINEL_CMD to the way sentinels are started here. Debian ships `redis-sentinel` as its own
# package; when it cannot be installed (no network, no root), `redis-server <conf> --sentinel` is the
# same program in sentinel mode.
SENTINEL_CMD=()
resolve_sentinel_command() {
  if ! command -v redis-sentinel >/dev/null; then
    [[ "$(dpkg-query -W -f='${db:Status-Status}' redis-sentinel 2>/dev/null || true)" == installed ]] ||
      (apt_install redis-sentinel) || warn "redis-sentinel: package not installed; using redis-server --sentinel"
  fi
  if command -v redis-sentinel >/dev/null; then SENTINEL_CMD=(redis-sentinel); else SENTINEL_CMD=(redis-server); fi
}

group_alive() {
  local pid
  [[ -n "$ST_PIDS" ]] || return 1
  for pid in $ST_PIDS; do pid_runs "$pid" redis- || return 1; done
}

group_stop() {
  local pid
  for pid in $ST_PIDS; do pid_runs "$pid" redis- && stop_pid "$pid" "$1"; done
  return 0
}

# The master the sentinels name, as host:port; fails unless a sentinel answers and that master takes writes.
sentinel_master() {
  local sentinel_port="$1" answer
  answer="$(timeout 3 redis-cli -p "$sentinel_port" --raw sentinel get-master-addr-by-name "$SENTINEL_MASTER_NAME" 2>/dev/null)" || return 1
  local host port
  host="$(sed -n 1p <<<"$answer")" port="$(sed -n 2p <<<"$answer")"
  [[ -n "$host" && -n "$port" ]] || return 1
  [[ "$(timeout 3 redis-cli -h "$host" -p "$port" --raw role 2>/dev/null | sed -n 1p)" == master ]] || return 1
  printf '%s:%s\n' "$host" "$port"
}

# healthy when every sentinel knows a writable master and sees the others (quorum reachable).
redis_sentinel_healthy() {
  local port
  for port in "$@"; do
    sentinel_master "$port" >/dev/null || return 1
    timeout 3 redis-cli -p "$port" sentinel ckquorum "$SENTINEL_MASTER_NAME" 2>/dev/null | grep -q '^OK' || return 1
  done
}

start_redis_sentinel() {
  read_state redis-sentinel
  if [[ "$ST_MODE" == own ]] && group_alive && redis_sentinel_healthy ${ST_SENTINEL_PORTS}; then
    log "redis-sentinel: running (master $(sentinel_master "${ST_SENTINEL_PORTS%% *}"), sentinels on ${ST_SENTINEL_PORTS// /,})"
    RESERVED_PORTS+="$ST_PORTS "
    return 0
  fi
  [[ "$ST_MODE" == own ]] && group_alive && warn "redis-sentinel: the set-up started earlier is not healthy; restarting it"
  [[ "$ST_MODE" == own ]] && group_stop redis-sentinel
  clear_state redis-sentinel
  resolve_sentinel_command
  local dir="$KEYPROOF_SERVICES_DIR/redis-sentinel" logfile pids="" data_ports=() sentinel_ports=() port i
  rm -rf "$dir"
  mkdir -p "$dir"
  logfile="$(log_file redis-sentinel)"
  : >"$logfile"
  for i in 0 1; do
    pick_free_port $((PORT_SENTINEL_DATA + i)) || die "redis-sentinel: no free port from $PORT_SENTINEL_DATA"
    data_ports+=("$PICKED_PORT")
  done
  for i in 0 1 2; do
    pick_free_port $((PORT_SENTINEL + i)) || die "redis-sentinel: no free port from $PORT_SENTINEL"
    sentinel_ports+=("$PICKED_PORT")
  done
  log "redis-sentinel: master 127.0.0.1:${data_ports[0]}, replica :${data_ports[1]}, sentinels :${sentinel_ports[*]}"
  for i in 0 1; do
    port="${data_ports[$i]}"
    mkdir -p "$dir/$port"
    local replica=()
    ((i == 0)) || replica=(--replicaof 127.0.0.1 "${data_ports[0]}")
    start_detached "$dir/$port.pid" "$logfile" \
      redis-server --port "$port" --bind 127.0.0.1 --maxmemory-policy noeviction --save "" \
      --appendonly no --dir "$dir/$port" --daemonize no --logfile "" "${replica[@]}" ||
      fail_service redis-sentinel "" "could not launch redis-server on $port"
    pids+="$(cat "$dir/$port.pid") "
  done
  for port in "${sentinel_ports[@]}"; do
    # Sentinels rewrite their config file (known replicas, epochs): one writable file each.
    cat >"$dir/sentinel-$port.conf" <<CONF
port $port
bind 127.0.0.1
daemonize no
logfile ""
dir $dir
sentinel monitor $SENTINEL_MASTER_NAME 127.0.0.1 ${data_ports[0]} 2
sentinel down-after-milliseconds $SENTINEL_MASTER_NAME 2000
sentinel failover-timeout $SENTINEL_MASTER_NAME 10000
sentinel parallel-syncs $SENTINEL_MASTER_NAME 1
CONF
    local mode=()
    [[ "${SENTINEL_CMD[0]}" == redis-server ]] && mode=(--sentinel)
    start_detached "$dir/sentinel-$port.pid" "$logfile" "${SENTINEL_CMD[@]}" "$dir/sentinel-$port.conf" "${mode[@]}" ||
      fail_service redis-sentinel "" "could not launch a sentinel on $port"
    pids+="$(cat "$dir/sentinel-$port.pid") "
  done
  ST_PIDS="${pids% }"
  local tries=120
  # The replica must be known to the sentinels too, or a failover has nowhere to go.
  until redis_sentinel_healthy "${sentinel_ports[@]}" &&
    timeout 3 redis-cli -p "${sentinel_ports[0]}" sentinel replicas "$SENTINEL_MASTER_NAME" 2>/dev/null | grep -q "${data_ports[1]}"; do
    tries=$((tries - 1))
    if ((tries == 0)) || ! group_alive; then
      group_stop redis-sentinel
      fail_service redis-sentinel "" "the sentinels did not agree on a master with its replica within 30s"
    fi
    sleep 0.25
  done
  write_state redis-sentinel MODE=own PIDS="$ST_PIDS" PORTS="${data_ports[*]} ${sentinel_ports[*]}" \
    SENTINEL_PORTS="${sentinel_ports[*]}"
}

cluster_healthy() {
  local port
  for port in "$@"; do
    timeout 3 redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

start_redis_cluster() {
  read_state redis-cluster
  if [[ "$ST_MODE" == own ]] && group_alive && cluster_healthy ${ST_PORTS}; then
    log "redis-cluster: running on 127.0.0.1:${ST_PORTS// /,}"
    RESERVED_PORTS+="$ST_PORTS "
    return 0
  fi
  [[ "$ST_MODE" == own ]] && group_alive && warn "redis-cluster: the cluster started earlier is not healthy; restarting it"
  [[ "$ST_MODE" == own ]] && group_stop redis-cluster
  clear_state redis-cluster
  local dir="$KEYPROOF_SERVICES_DIR/redis-cluster" logfile pids="" ports=() port candidate i
  # A fresh cluster every time: test data needs no persistence, and an old nodes.conf would name
  # node ids the new processes do not have.
  rm -rf "$dir"
  mkdir -p "$dir"
  logfile="$(log_file redis-cluster)"
  : >"$logfile"
  candidate="$PORT_CLUSTER"
  for i in 0 1 2; do
    # Each node also listens on port + 10000 (the cluster bus).
    while :; do
      pick_free_port "$candidate" || die "redis-cluster: no free port from $PORT_CLUSTER"
      candidate=$((PICKED_PORT + 1))
      port_in_use $((PICKED_PORT + 10000)) || break
    done
    ports+=("$PICKED_PORT")
  done
  log "redis-cluster: starting three nodes on 127.0.0.1:${ports[*]}"
  for port in "${ports[@]}"; do
    mkdir -p "$dir/$port"
    start_detached "$dir/$port.pid" "$logfile" \
      redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/$port/nodes.conf" --cluster-node-timeout 5000 \
      --maxmemory-policy noeviction --save "" --appendonly no --dir "$dir/$port" --daemonize no --logfile "" ||
      fail_service redis-cluster "" "could not launch redis-server on $port"
    pids+="$(cat "$dir/$port.pid") "
  done
  ST_PIDS="${pids% }"
  for port in "${ports[@]}"; do
    local tries=80
    until [[ "$(timeout 3 redis-cli -p "$port" ping 2>/dev/null)" == PONG ]]; do
      tries=$((tries - 1))
      ((tries > 0)) && group_alive || {
        group_stop redis-cluster
        fail_service redis-cluster "" "node $port did not answer"
      }
      sleep 0.25
    done
  done
  if ! redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >>"$logfile" 2>&1; then
    group_stop redis-cluster
    fail_service redis-cluster "" "redis-cli --cluster create failed"
  fi
  local tries=120
  until cluster_healthy "${ports[@]}"; do
    tries=$((tries - 1))
    ((tries > 0)) || {
      group_stop redis-cluster
      fail_service redis-cluster "" "cluster_state did not become ok within 30s"
    }
    sleep 0.25
  done
  write_state redis-cluster MODE=own PIDS="$ST_PIDS" PORTS="${ports[*]}"
}

# --- env file -------------------------------------------------------------------------------------

env_line() {
  [[ "$2" != *"'"* ]] || die "value for $1 contains a single quote: $2"
  printf "export %s='%s'\n" "$1" "$2"
}

write_env_file() {
  local tmp="$KEYPROOF_ENV_FILE.tmp"
  {
    printf '# Written by scripts/services.sh start. Load with: . .keyproof/services.env\n'
    read_state redis
    env_line KEYPROOF_TEST_REDIS_URL "redis://127.0.0.1:$ST_PORT"
    env_line REDIS_URL "redis://127.0.0.1:$ST_PORT"
    read_state moto
    env_line KEYPROOF_TEST_AWS_ENDPOINT "http://127.0.0.1:$ST_PORT"
    read_state openbao
    env_line KEYPROOF_TEST_VAULT_ADDR "http://127.0.0.1:$ST_PORT"
    env_line KEYPROOF_TEST_VAULT_TOKEN "$ST_TOKEN"
    read_state lowkey
    if [[ "$ST_MODE" == own || "$ST_MODE" == external ]]; then
      env_line KEYPROOF_TEST_LOWKEY_URL "https://127.0.0.1:$ST_PORT"
      env_line KEYPROOF_TEST_LOWKEY_TOKEN_URL "http://127.0.0.1:$ST_TOKEN_PORT"
      env_line KEYPROOF_TEST_LOWKEY_CA "$KEYPROOF_SERVICES_DIR/lowkey.pem"
    else
      printf '# KEYPROOF_TEST_LOWKEY_* not set: %s\n' "${ST_REASON//$'\n'/ }"
    fi
    env_line KEYPROOF_CHROMIUM "$CHROMIUM"
    read_state redis-sentinel
    if [[ "$ST_MODE" == own ]]; then
      env_line KEYPROOF_TEST_REDIS_SENTINELS "$(printf '127.0.0.1:%s,' $ST_SENTINEL_PORTS | sed 's/,$//')"
      env_line KEYPROOF_TEST_REDIS_SENTINEL_NAME "$SENTINEL_MASTER_NAME"
    fi
    read_state redis-cluster
    if [[ "$ST_MODE" == own ]]; then
      env_line KEYPROOF_TEST_REDIS_CLUSTER_NODES "$(printf '127.0.0.1:%s,' $ST_PORTS | sed 's/,$//')"
    fi
  } >"$tmp"
  mv "$tmp" "$KEYPROOF_ENV_FILE"
}

# --- commands -------------------------------------------------------------------------------------

cmd_start() {
  local started=$SECONDS name
  for name in "$@"; do
    [[ " ${OPTIONAL_SERVICES[*]} " == *" $name "* ]] || die "start: unknown service $name (on demand: ${OPTIONAL_SERVICES[*]})"
  done
  ensure_apt_packages
  ensure_venv
  ensure_node_modules
  start_redis
  start_moto
  start_openbao
  start_lowkey
  local optional
  for optional in "${OPTIONAL_SERVICES[@]}"; do
    read_state "$optional"
    # Asked for now, or started by an earlier `start` (its state file is still there).
    if [[ " $* " == *" $optional "* || -n "$ST_MODE" ]]; then
      case "$optional" in
      redis-sentinel) start_redis_sentinel ;;
      redis-cluster) start_redis_cluster ;;
      esac
    fi
  done
  write_env_file
  log "ready in $((SECONDS - started))s; environment in .keyproof/services.env"
}

# service_address NAME: the URL a client uses, from the current ST_* values.
service_address() {
  case "$1" in
  redis) printf 'redis://127.0.0.1:%s' "$ST_PORT" ;;
  moto | openbao) printf 'http://127.0.0.1:%s' "$ST_PORT" ;;
  lowkey) printf 'https://127.0.0.1:%s (token port %s)' "$ST_PORT" "$ST_TOKEN_PORT" ;;
  esac
}

service_answers() {
  case "$1" in
  redis) redis_healthy "$ST_PORT" ;;
  moto) moto_healthy "$ST_PORT" ;;
  openbao) openbao_healthy "$ST_PORT" "$ST_TOKEN" ;;
  lowkey) lowkey_healthy "$ST_PORT" "$ST_TOKEN_PORT" ;;
  esac
}

cmd_status() {
  local name health all_ok=0
  for name in "${SERVICES[@]}"; do
    read_state "$name"
    case "$ST_MODE" in
    "")
      printf '%-8s stopped\n' "$name"
      all_ok=1
      ;;
    unavailable)
      printf '%-8s unavailable: %s\n' "$name" "$ST_REASON"
      ;;
    own | external)
      if [[ "$ST_MODE" == own ]] && ! pid_alive "$ST_PID"; then
        health="EXITED (see $(log_file "$name"))"
        all_ok=1
      elif service_answers "$name"; then health=healthy; else
        health="NOT ANSWERING"
        all_ok=1
      fi
      if [[ "$ST_MODE" == own ]]; then
        printf '%-8s %-13s %s  %s\n' "$name" "pid $ST_PID" "$(service_address "$name")" "$health"
      else
        printf '%-8s %-13s %s  %s\n' "$name" "external" "$(service_address "$name")" "$health"
      fi
      ;;
    esac
  done
  for name in "${OPTIONAL_SERVICES[@]}"; do
    read_state "$name"
    [[ "$ST_MODE" == own ]] || continue
    if ! group_alive; then
      health="EXITED (see $(log_file "$name"))"
      all_ok=1
    elif { [[ "$name" == redis-sentinel ]] && redis_sentinel_healthy $ST_SENTINEL_PORTS; } ||
      { [[ "$name" == redis-cluster ]] && cluster_healthy $ST_PORTS; }; then
      health=healthy
    else
      health="NOT ANSWERING"
      all_ok=1
    fi
    printf '%-14s pids %s  ports %s  %s\n' "$name" "$ST_PIDS" "$ST_PORTS" "$health"
  done
  return "$all_ok"
}

cmd_stop() {
  local name pattern
  for name in "${SERVICES[@]}"; do
    read_state "$name"
    case "$name" in
    redis) pattern=redis-server ;;
    moto) pattern=moto_server ;;
    openbao) pattern=bao ;;
    lowkey) pattern=--app.token.port= ;;
    esac
    if [[ "$ST_MODE" == own ]]; then
      if pid_runs "$ST_PID" "$pattern"; then
        log "$name: stopping pid $ST_PID"
        stop_pid "$ST_PID" "$name"
      else
        log "$name: was not running"
      fi
    elif [[ "$ST_MODE" == external ]]; then
      log "$name: leaving the instance on port $ST_PORT running (not started by this script)"
    fi
    clear_state "$name"
  done
  for name in "${OPTIONAL_SERVICES[@]}"; do
    read_state "$name"
    if [[ "$ST_MODE" == own ]]; then
      log "$name: stopping pids $ST_PIDS"
      group_stop "$name"
    fi
    clear_state "$name"
  done
  rm -f "$KEYPROOF_ENV_FILE" "$KEYPROOF_SERVICES_DIR/lowkey.pem"
}

cmd_env() {
  [[ -f "$KEYPROOF_ENV_FILE" ]] || die "no $KEYPROOF_ENV_FILE yet; run: bash scripts/services.sh start"
  cat "$KEYPROOF_ENV_FILE"
}

main() {
  local command="${1:-}"
  mkdir -p "$KEYPROOF_SERVICES_DIR" "$KEYPROOF_CACHE_DIR"
  case "$command" in
  start | stop)
    # One start/stop at a time: test.sh and demo.sh may both call start.
    exec 9>"$KEYPROOF_SERVICES_DIR/.lock"
    flock -w 600 9 || die "another services.sh $command is still running"
    shift
    "cmd_$command" "$@"
    ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
  esac
}

main "$@"
