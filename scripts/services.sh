# shellcheck shell=bash
# scripts/services.sh: the real services the integration tests run against.
#
# Source it (don't execute it), then:
#   services_start prometheus [etcd nginx moto ...]   # install if missing, start, wait, export
#   services_stop_all                                 # stop everything services_start started
#
# Each service NAME is declared once, below, as four functions:
#   svc_NAME_install  make its binaries present; a quick no-op when they already are
#   svc_NAME_start    spawn it (with _svc_spawn) on 127.0.0.1 and a free port, using the
#                     fresh directory "$(svc_dir NAME)", and export its endpoint variables
#                     with svc_export NAME VAR VALUE (unset again when it is stopped)
#   svc_NAME_ready    one quick probe; exit status 0 once it answers
#   svc_NAME_stop     stop what svc_NAME_start spawned (usually just: _svc_kill NAME)
# The generic code recreates the directory, retries a start whose process died at once (a
# port taken between picking and binding), bounds the wait for readiness, and prints the
# tail of the service's log when something goes wrong. See scripts/README.md.
#
# Only 127.0.0.1 is ever bound or contacted.

SHADOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything the services write: per-service directories (recreated each run) and the
# moto virtualenv (kept between runs).
SHADOW_SERVICES_DIR="$SHADOW_ROOT/target/shadow-services"
# Seconds to wait for one service to become ready.
SHADOW_SERVICE_READY_TIMEOUT="${SHADOW_SERVICE_READY_TIMEOUT:-60}"

# State, kept across re-sourcing.
if ! declare -p _SVC_PID >/dev/null 2>&1; then declare -gA _SVC_PID=(); fi
if ! declare -p _SVC_STARTED >/dev/null 2>&1; then declare -ga _SVC_STARTED=(); fi
if ! declare -p _SVC_VARS >/dev/null 2>&1; then declare -gA _SVC_VARS=(); fi
_SVC_APT_UPDATED="${_SVC_APT_UPDATED:-0}"

# ----------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------

_svc_log() { printf '[services] %s\n' "$*" >&2; }
_svc_err() { printf '[services] ERROR: %s\n' "$*" >&2; }

# Microseconds since the epoch (locale-proof), and "12.3s" since a given value.
_svc_now() { local t="${EPOCHREALTIME//[!0-9]/}"; printf '%s\n' "$t"; }
_svc_since() {
  local d=$(($(_svc_now) - $1))
  printf '%d.%ds' $((d / 1000000)) $((d / 100000 % 10))
}

_svc_have() { command -v "$1" >/dev/null 2>&1; }

# svc_dir NAME: the service's own directory, recreated on every start.
svc_dir() { printf '%s/%s\n' "$SHADOW_SERVICES_DIR" "$1"; }

# svc_export NAME VAR VALUE: export VAR=VALUE for the tests; services_stop_all unsets it again.
svc_export() {
  export "$2=$3"
  if [[ " ${_SVC_VARS[$1]:-} " != *" $2 "* ]]; then _SVC_VARS[$1]+=" $2"; fi
}

# _svc_free_ports N: N distinct TCP ports that are free on 127.0.0.1 right now.
_svc_free_ports() {
  python3 - "${1:-1}" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# _svc_http_get URL: plain HTTP/1.0 GET over bash's /dev/tcp (no curl, no proxy settings
# consulted); prints the raw response (status line, headers, body). Fails if nothing listens.
_svc_http_get() {
  local url="$1" rest hostport path
  rest="${url#http://}"
  hostport="${rest%%/*}"
  if [[ "$rest" == */* ]]; then path="/${rest#*/}"; else path=/; fi
  (
    exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
    line=
    while IFS= read -r -t 5 line || [[ -n "$line" ]]; do
      printf '%s\n' "${line%$'\r'}"
      line=
    done <&3
  ) 2>/dev/null
}

# _svc_http_status URL: prints the status code ("000" when nothing answered).
_svc_http_status() {
  local resp
  resp="$(_svc_http_get "$1")" || true
  if [[ "$resp" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
    printf '%s\n' "${BASH_REMATCH[1]}"
  else
    printf '000\n'
  fi
}

# Process helpers. A service's process is its own session and process group leader (setsid),
# so stopping it takes its children (nginx workers) with it and Ctrl-C in the terminal doesn't
# reach it before the EXIT trap does.
_svc_proc_field() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat="${stat##*) }" # drop "pid (comm) ", comm may contain spaces
  local -a f
  read -r -a f <<<"$stat"
  printf '%s\n' "${f[$(($2 - 3))]}"
}
_svc_alive() { # running and not a zombie
  local state
  state="$(_svc_proc_field "$1" 3)" || return 1
  [[ "$state" != Z && "$state" != X ]]
}
_svc_starttime() { _svc_proc_field "$1" 22; }

# _svc_spawn NAME CMD [ARGS...]: start CMD in the background, output to the service's log,
# and record its pid (for _svc_kill, and in NAME.pid so a later run can clean up after a
# run that was killed with SIGKILL).
_svc_spawn() {
  local name="$1" dir had_m=0 pid
  shift
  dir="$(svc_dir "$name")"
  # With job control on (an interactive shell that sourced this), the background child would
  # lead its own process group and setsid would fork, hiding the real pid from $!.
  if [[ $- == *m* ]]; then had_m=1; set +m; fi
  setsid "$@" </dev/null >>"$dir/$name.log" 2>&1 &
  pid=$!
  if ((had_m)); then set -m; fi
  _SVC_PID[$name]=$pid
  printf '%s %s\n' "$pid" "$(_svc_starttime "$pid" || echo 0)" >"$dir/$name.pid"
}

# Pids of live processes in process group PGID (reads /proc without forking).
_svc_group_members() {
  local d stat
  local -a f
  for d in /proc/[0-9]*; do
    read -r stat 2>/dev/null <"$d/stat" || continue
    read -r -a f <<<"${stat##*) }"
    if [[ "${f[2]}" == "$1" && "${f[0]}" != Z && "${f[0]}" != X ]]; then printf '%s\n' "${d#/proc/}"; fi
  done
}

# _svc_kill_pid PID [TIMEOUT]: SIGTERM the process group PID leads (or just PID if it leads
# none), wait up to TIMEOUT seconds for all of it to exit, then SIGKILL what is left. A group
# id can't be reused while any member lives, so this only ever reaches our own processes.
_svc_kill_pid() {
  local pid="$1" timeout="${2:-15}" target deadline
  if [[ "$(_svc_proc_field "$pid" 5 2>/dev/null)" == "$pid" || -n "$(_svc_group_members "$pid")" ]]; then
    target="-$pid"
  elif _svc_alive "$pid"; then
    target="$pid"
  else
    wait "$pid" 2>/dev/null || true
    return 0
  fi
  kill -TERM -- "$target" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while { _svc_alive "$pid" || [[ "$target" == -* && -n "$(_svc_group_members "$pid")" ]]; } &&
    ((SECONDS < deadline)); do
    sleep 0.1
  done
  if _svc_alive "$pid" || [[ "$target" == -* && -n "$(_svc_group_members "$pid")" ]]; then
    _svc_err "pid $pid (or its group) did not stop within ${timeout}s of SIGTERM; sending SIGKILL"
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# _svc_kill NAME [TIMEOUT]: stop the process _svc_spawn started for NAME.
_svc_kill() {
  local name="$1" pid
  pid="${_SVC_PID[$name]:-}"
  if [[ -n "$pid" ]]; then
    _svc_kill_pid "$pid" "${2:-15}"
    unset '_SVC_PID[$name]'
  fi
  rm -f "$(svc_dir "$name")/$name.pid"
}

# A NAME.pid left by an earlier run that never got to clean up: stop that process if it is
# still the same one (same pid and start time), so its directory can be recreated.
_svc_reap_stale() {
  local name="$1" file pid start
  file="$(svc_dir "$name")/$name.pid"
  [[ -f "$file" ]] || return 0
  read -r pid start <"$file" || true
  if [[ -n "${pid:-}" ]] && _svc_alive "$pid" && [[ "$(_svc_starttime "$pid")" == "${start:-}" ]]; then
    _svc_log "$name: stopping pid $pid left running by an earlier run"
    _svc_kill_pid "$pid" 15
  fi
  rm -f "$file"
}

_svc_log_tail() { # NAME [LINES]
  local log
  log="$(svc_dir "$1")/$1.log"
  if [[ -s "$log" ]]; then
    printf '[services] ---- last %s lines of %s ----\n' "${2:-30}" "$log" >&2
    tail -n "${2:-30}" "$log" >&2
    printf '[services] ----\n' >&2
  else
    printf '[services] (%s is empty or missing)\n' "$log" >&2
  fi
}

# ----------------------------------------------------------------------------------------
# Installing from Debian
# ----------------------------------------------------------------------------------------

# Pids of running processes whose command name is exactly NAME.
_svc_pids_named() {
  local d comm
  for d in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$d/comm" || continue
    if [[ "$comm" == "$1" ]]; then printf '%s\n' "${d#/proc/}"; fi
  done
}

# _svc_apt_install [--daemon NAME]... -- PACKAGE...
# Runs `apt-get update` at most once per run, and only when something must be installed.
# Package scripts must not start daemons here: a policy-rc.d that denies it is put in place
# for the install when the machine has none, and any NAMEd process that appears during the
# install all the same is stopped (by pid) with a warning.
_svc_apt_install() {
  local -a daemons=() pkgs=() sudo=()
  while (($#)); do
    case "$1" in
      --daemon) daemons+=("$2"); shift 2 ;;
      --) shift; pkgs+=("$@"); break ;;
      *) pkgs+=("$1"); shift ;;
    esac
  done
  if ((EUID != 0)); then
    if _svc_have sudo; then sudo=(sudo -n); else
      _svc_err "installing ${pkgs[*]} needs root (or sudo)"
      return 1
    fi
  fi
  local policy=/usr/sbin/policy-rc.d made_policy=0 d before="" rc=0 log
  log="$SHADOW_SERVICES_DIR/apt.log"
  mkdir -p "$SHADOW_SERVICES_DIR"
  for d in "${daemons[@]}"; do before+=" $(_svc_pids_named "$d" | tr '\n' ' ')"; done
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# temporary, from shadow scripts/services.sh\nexit 101\n' |
      "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy" && made_policy=1
  fi
  if [[ "$_SVC_APT_UPDATED" != 1 ]]; then
    _svc_log "apt-get update"
    "${sudo[@]}" timeout 600 apt-get -o DPkg::Lock::Timeout=300 -qq update >>"$log" 2>&1 || rc=$?
    if ((rc == 0)); then _SVC_APT_UPDATED=1; fi
  fi
  if ((rc == 0)); then
    _svc_log "apt-get install ${pkgs[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      install -y --no-install-recommends "${pkgs[@]}" >>"$log" 2>&1 || rc=$?
  fi
  if ((made_policy)); then "${sudo[@]}" rm -f "$policy"; fi
  local pid
  for d in "${daemons[@]}"; do
    for pid in $(_svc_pids_named "$d"); do
      if [[ " $before " != *" $pid "* ]]; then
        _svc_log "WARNING: installing ${pkgs[*]} left a '$d' daemon running (pid $pid); stopping it"
        "${sudo[@]}" kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        "${sudo[@]}" kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  done
  if ((rc != 0)); then
    _svc_err "apt-get failed (exit $rc) installing ${pkgs[*]}; last lines of $log:"
    tail -n 25 "$log" >&2
    return 1
  fi
}

# ----------------------------------------------------------------------------------------
# Generic driver
# ----------------------------------------------------------------------------------------

_svc_declared() {
  local f
  for f in install start ready stop; do
    if ! declare -F "svc_${1}_$f" >/dev/null; then
      _svc_err "unknown service '$1': scripts/services.sh has no svc_${1}_$f"
      return 1
    fi
  done
}

# _svc_wait_ready NAME: 0 ready, 1 timed out, 2 process exited.
_svc_wait_ready() {
  local name="$1" deadline pid
  deadline=$((SECONDS + SHADOW_SERVICE_READY_TIMEOUT))
  while :; do
    if "svc_${name}_ready" >/dev/null 2>&1; then return 0; fi
    pid="${_SVC_PID[$name]:-}"
    if [[ -n "$pid" ]] && ! _svc_alive "$pid"; then return 2; fi
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.2
  done
}

_svc_start_one() {
  local name="$1" dir attempt rc t0
  dir="$(svc_dir "$name")"
  for attempt in 1 2 3; do
    t0="$(_svc_now)"
    _svc_reap_stale "$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ " ${_SVC_STARTED[*]} " != *" $name "* ]]; then _SVC_STARTED+=("$name"); fi
    if ! "svc_${name}_start"; then
      _svc_err "$name: svc_${name}_start failed"
      _svc_log_tail "$name"
      "svc_${name}_stop" || true
      return 1
    fi
    rc=0
    _svc_wait_ready "$name" || rc=$?
    if ((rc == 0)); then
      _svc_log "$name: ready in $(_svc_since "$t0") (log: ${dir#"$SHADOW_ROOT"/}/$name.log)"
      return 0
    fi
    if ((rc == 1)); then
      _svc_err "$name: not ready after ${SHADOW_SERVICE_READY_TIMEOUT}s"
    else
      _svc_err "$name: exited before it was ready (attempt $attempt of 3)"
    fi
    _svc_log_tail "$name"
    "svc_${name}_stop" || true
    if ((rc == 1)); then return 1; fi
  done
  return 1
}

# services_start NAME...: install what's missing, then start each service and wait until it is
# ready. Exports each service's variables, and SHADOW_TEST_INTEGRATION=1 once all are up.
# Returns non-zero (having printed why) if any can't be installed or started; services already
# started stay up for the caller's services_stop_all.
services_start() {
  local name t0
  for name in "$@"; do _svc_declared "$name" || return 1; done
  if ! _svc_have python3; then
    _svc_err "python3 is needed (to pick free ports)"
    return 1
  fi
  mkdir -p "$SHADOW_SERVICES_DIR"
  for name in "$@"; do
    t0="$(_svc_now)"
    if ! "svc_${name}_install"; then
      _svc_err "$name: install failed"
      return 1
    fi
    _svc_log "$name: install step done in $(_svc_since "$t0")"
  done
  for name in "$@"; do
    _svc_start_one "$name" || return 1
  done
  if (($#)); then export SHADOW_TEST_INTEGRATION=1; fi
}

# services_stop_all: stop every service started by services_start, newest first. Idempotent.
services_stop_all() {
  local i name
  for ((i = ${#_SVC_STARTED[@]} - 1; i >= 0; i--)); do
    name="${_SVC_STARTED[$i]}"
    "svc_${name}_stop" || _svc_err "$name: stop failed"
    _svc_log "$name: stopped"
    # shellcheck disable=SC2086 # a list of variable names
    if [[ -n "${_SVC_VARS[$name]:-}" ]]; then unset ${_SVC_VARS[$name]}; fi
    unset '_SVC_VARS[$name]'
  done
  _SVC_STARTED=()
  unset SHADOW_TEST_INTEGRATION
}

# ========================================================================================
# Services
# ========================================================================================

# ---- prometheus (Debian package `prometheus`, 2.42) -------------------------------------
# Exports SHADOW_PROMETHEUS_URL (http://127.0.0.1:PORT), SHADOW_PROMETHEUS_DATA_DIR and
# SHADOW_PROMETHEUS_TARGETS_DIR (file_sd: each *.json there is scraped every second).
# Admin API on, retention 100y (backfilled samples stay queryable).
#
# Backfill: before the server starts, every *.om file in $SHADOW_PROMETHEUS_BACKFILL_DIR
# (default: tests/fixtures/prometheus-backfill, if it exists) is turned into TSDB blocks with
# `promtool tsdb create-blocks-from openmetrics FILE DATADIR`. OpenMetrics input: timestamps
# in seconds, last line `# EOF`.

svc_prometheus_install() {
  if _svc_have prometheus && _svc_have promtool; then return 0; fi
  _svc_apt_install --daemon prometheus -- prometheus
}

# svc_prometheus_backfill FILE DATADIR: write FILE's samples as blocks into DATADIR.
svc_prometheus_backfill() {
  local out
  # Long blocks (up to 4374h): promtool re-reads the whole file for every block window, so the
  # default 2h windows take minutes for series spanning months (the hidden flag exists in 2.42).
  if ! out="$(promtool tsdb create-blocks-from openmetrics \
    --max-block-duration="${SHADOW_PROMETHEUS_MAX_BLOCK_DURATION:-8760h}" "$1" "$2" 2>&1)"; then
    _svc_err "prometheus: backfilling $1 failed:"
    printf '%s\n' "$out" | tail -n 20 >&2
    return 1
  fi
  printf '%s\n' "$out" >>"$(svc_dir prometheus)/prometheus.log"
  _svc_log "prometheus: backfilled ${1#"$SHADOW_ROOT"/}"
}

svc_prometheus_start() {
  local dir port bdir f
  dir="$(svc_dir prometheus)"
  port="$(_svc_free_ports 1)" || return 1
  mkdir -p "$dir/data" "$dir/targets"
  cat >"$dir/prometheus.yml" <<EOF
# Generated by scripts/services.sh. Tests bring their own data: backfilled blocks, and live
# targets they write as $dir/targets/*.json (file_sd, scraped every second).
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: shadow-tests
    scrape_interval: 1s
    scrape_timeout: 1s
    file_sd_configs:
      - files: ['$dir/targets/*.json']
        refresh_interval: 1s
EOF
  bdir="${SHADOW_PROMETHEUS_BACKFILL_DIR:-}"
  if [[ -z "$bdir" && -d "$SHADOW_ROOT/tests/fixtures/prometheus-backfill" ]]; then
    bdir="$SHADOW_ROOT/tests/fixtures/prometheus-backfill"
  fi
  if [[ -n "$bdir" ]]; then
    if [[ ! -d "$bdir" ]]; then
      _svc_err "prometheus: SHADOW_PROMETHEUS_BACKFILL_DIR=$bdir is not a directory"
      return 1
    fi
    for f in "$bdir"/*.om; do
      [[ -e "$f" ]] || continue
      svc_prometheus_backfill "$f" "$dir/data" || return 1
    done
  fi
  _svc_spawn prometheus prometheus \
    --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=100y \
    --web.listen-address="127.0.0.1:$port" \
    --web.enable-admin-api
  svc_export prometheus SHADOW_PROMETHEUS_URL "http://127.0.0.1:$port"
  svc_export prometheus SHADOW_PROMETHEUS_DATA_DIR "$dir/data"
  svc_export prometheus SHADOW_PROMETHEUS_TARGETS_DIR "$dir/targets"
}

# svc_prometheus_generate_backfill: write the test series (tests/src/prometheus_fixtures.rs; the
# NAB CSVs too when $SHADOW_DATA, default ../shared/data, has nab/) as OpenMetrics files into
# target/prometheus-backfill and point SHADOW_PROMETHEUS_BACKFILL_DIR there, unless it is already set.
svc_prometheus_generate_backfill() {
  if [[ -n "${SHADOW_PROMETHEUS_BACKFILL_DIR:-}" ]]; then
    _svc_log "prometheus: using SHADOW_PROMETHEUS_BACKFILL_DIR=$SHADOW_PROMETHEUS_BACKFILL_DIR"
    return 0
  fi
  local out="$SHADOW_ROOT/target/prometheus-backfill"
  cargo run --quiet -p shadow-tests --bin prometheus_backfill -- "$out" || return 1
  export SHADOW_PROMETHEUS_BACKFILL_DIR="$out"
}

svc_prometheus_ready() { [[ "$(_svc_http_status "$SHADOW_PROMETHEUS_URL/-/ready")" == 200 ]]; }
svc_prometheus_stop() { _svc_kill prometheus; }

# ---- etcd (Debian package `etcd-server`, 3.4) -------------------------------------------
# Exports SHADOW_ETCD_ENDPOINTS (http://127.0.0.1:PORT). Single member, data in its directory.
# (etcdctl is in Debian's `etcd-client`, not installed here; the v3 API is also served as
# JSON over HTTP under /v3/.)

svc_etcd_install() {
  if _svc_have etcd; then return 0; fi
  _svc_apt_install --daemon etcd -- etcd-server
}

svc_etcd_start() {
  local dir ports client peer
  dir="$(svc_dir etcd)"
  ports="$(_svc_free_ports 2)" || return 1
  read -r client peer <<<"$ports"
  _svc_spawn etcd etcd \
    --name shadow \
    --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$client" \
    --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "shadow=http://127.0.0.1:$peer" \
    --initial-cluster-state new \
    --logger zap --log-outputs stderr
  svc_export etcd SHADOW_ETCD_ENDPOINTS "http://127.0.0.1:$client"
}

svc_etcd_ready() {
  local resp
  resp="$(_svc_http_get "$SHADOW_ETCD_ENDPOINTS/health")" || return 1
  [[ "$resp" == "HTTP/"*" 200 "* && "$resp" == *'"health":"true"'* ]]
}
svc_etcd_stop() { _svc_kill etcd; }

# ---- nginx (Debian package `nginx`, 1.22) -----------------------------------------------
# Exports SHADOW_NGINX_URL (http://127.0.0.1:PORT), SHADOW_NGINX_BIN (the nginx binary),
# SHADOW_NGINX_CONF_DIR (holds nginx.conf; every conf.d/*.conf there is included inside
# http {}) and SHADOW_NGINX_PREFIX (its -p prefix: html/ is the docroot, logs/ the logs).
# Reload after adding a file:  "$SHADOW_NGINX_BIN" -p "$SHADOW_NGINX_PREFIX" \
#                                -c "$SHADOW_NGINX_CONF_DIR/nginx.conf" -s reload

_svc_nginx_bin() {
  if _svc_have nginx; then command -v nginx; elif [[ -x /usr/sbin/nginx ]]; then echo /usr/sbin/nginx; else return 1; fi
}

# The Lua module (libnginx-mod-http-lua) is only for tests/tests/nginx_lua_balancer.rs, which measures a
# reload-free Lua balancer against the reload-based nginx shifter; the shifter itself does not need it.
SHADOW_NGINX_LUA_MODULE=/usr/lib/nginx/modules/ngx_http_lua_module.so

svc_nginx_install() {
  if _svc_nginx_bin >/dev/null && [[ -e "$SHADOW_NGINX_LUA_MODULE" ]]; then return 0; fi
  _svc_apt_install --daemon nginx -- nginx libnginx-mod-http-lua
}

svc_nginx_start() {
  local dir port bin user=""
  dir="$(svc_dir nginx)"
  port="$(_svc_free_ports 1)" || return 1
  bin="$(_svc_nginx_bin)" || return 1
  mkdir -p "$dir/conf/conf.d" "$dir/html" "$dir/logs" "$dir/tmp"
  printf 'shadow nginx\n' >"$dir/html/index.html"
  # As root, workers would otherwise run as nobody and might not reach files under the repo.
  if ((EUID == 0)); then user="user root root;"; fi
  cat >"$dir/conf/nginx.conf" <<EOF
# Generated by scripts/services.sh.
$user
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log notice;
events { worker_connections 256; }
http {
  access_log $dir/logs/access.log;
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  types { text/html html; text/plain txt; application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    server_name localhost;
    root $dir/html;
  }
  include $dir/conf/conf.d/*.conf;
}
EOF
  _svc_spawn nginx "$bin" -p "$dir/" -c "$dir/conf/nginx.conf" -e "$dir/logs/error.log"
  svc_export nginx SHADOW_NGINX_URL "http://127.0.0.1:$port"
  svc_export nginx SHADOW_NGINX_BIN "$bin"
  svc_export nginx SHADOW_NGINX_CONF_DIR "$dir/conf"
  svc_export nginx SHADOW_NGINX_PREFIX "$dir"
}

svc_nginx_ready() { [[ "$(_svc_http_status "$SHADOW_NGINX_URL/")" == 200 ]]; }
svc_nginx_stop() { _svc_kill nginx; }

# ---- moto (AWS API emulator, from PyPI, in a virtualenv) --------------------------------
# Exports SHADOW_AWS_ENDPOINT_URL (http://127.0.0.1:PORT), AWS_ACCESS_KEY_ID=testing,
# AWS_SECRET_ACCESS_KEY=testing, AWS_REGION and AWS_DEFAULT_REGION=us-east-1.
# The virtualenv ($SHADOW_SERVICES_DIR/venv) is kept between runs; `cargo clean` removes it.

SHADOW_MOTO_SPEC="${SHADOW_MOTO_SPEC:-moto[server]==5.2.5}"

svc_moto_install() {
  local venv="$SHADOW_SERVICES_DIR/venv" log="$SHADOW_SERVICES_DIR/pip.log"
  # .shadow-installed names what was installed: a changed SHADOW_MOTO_SPEC reinstalls.
  if [[ -x "$venv/bin/moto_server" && "$(cat "$venv/.shadow-installed" 2>/dev/null)" == "$SHADOW_MOTO_SPEC" ]] &&
    "$venv/bin/python" -c '' >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$venv"
  mkdir -p "$SHADOW_SERVICES_DIR"
  _svc_log "moto: creating $venv and installing $SHADOW_MOTO_SPEC (takes about a minute)"
  if ! python3 -m venv "$venv" >>"$log" 2>&1; then
    # A Debian python3 without ensurepip: bring python3-venv and use that python.
    rm -rf "$venv"
    if ! { _svc_apt_install python3-venv && /usr/bin/python3 -m venv "$venv" >>"$log" 2>&1; }; then
      _svc_err "moto: cannot create a virtualenv; see $log"
      return 1
    fi
  fi
  if ! timeout 900 "$venv/bin/pip" install --disable-pip-version-check "$SHADOW_MOTO_SPEC" >>"$log" 2>&1; then
    _svc_err "moto: pip install $SHADOW_MOTO_SPEC failed; last lines of $log:"
    tail -n 25 "$log" >&2
    rm -rf "$venv"
    return 1
  fi
  printf '%s\n' "$SHADOW_MOTO_SPEC" >"$venv/.shadow-installed"
}

svc_moto_start() {
  local port
  port="$(_svc_free_ports 1)" || return 1
  _svc_spawn moto "$SHADOW_SERVICES_DIR/venv/bin/moto_server" -H 127.0.0.1 -p "$port"
  svc_export moto SHADOW_AWS_ENDPOINT_URL "http://127.0.0.1:$port"
  svc_export moto AWS_ACCESS_KEY_ID testing
  svc_export moto AWS_SECRET_ACCESS_KEY testing
  svc_export moto AWS_REGION us-east-1
  svc_export moto AWS_DEFAULT_REGION us-east-1
}

svc_moto_ready() { [[ "$(_svc_http_status "$SHADOW_AWS_ENDPOINT_URL/moto-api/")" == 200 ]]; }
svc_moto_stop() { _svc_kill moto; }
