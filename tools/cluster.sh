#!/usr/bin/env bash
# AnswerDesk as a contact centre runs it (issue 14): app replicas and API workers behind one
# nginx, started on one machine exactly as they would run across several (each process is
# independent, shares nothing but the store, and is reached only through its address).
#
#   tools/cluster.sh [start]   install nginx if missing, start every replica, then nginx
#   tools/cluster.sh stop      stop nginx, then the replicas (the data stays)
#   tools/cluster.sh status    each process directly, then nginx: exit 0 healthy, 1 not all, 3 stopped
#
# What runs (defaults):
#   nginx   CLUSTER_LISTEN:CLUSTER_PORT (127.0.0.1:8080)     -> app replicas (sticky, websocket)
#           CLUSTER_LISTEN:CLUSTER_API_PORT (127.0.0.1:8081) -> API workers (least connections)
#   app-N   `streamlit run app.py` on CLUSTER_BIND:port for each port in CLUSTER_APP_PORTS (8511 8512)
#   api-N   `kb serve` on CLUSTER_BIND:port for each port in CLUSTER_API_PORTS (8011 8012)
#   CLUSTER_REMOTE_APPS / CLUSTER_REMOTE_APIS ("host:port ..."): replicas on other machines,
#   added to nginx's upstreams but not started here (they need KB_STORE=postgres).
#
# The store is whatever the environment says, passed to every process alike:
# - default (KB_STORE unset or local): one KB_DATA_DIR (data/kb) that all processes on this
#   machine share: SQLite and FAISS files, a file lock for writers, and readers that reload a
#   newer index generation on their next request. It cannot be shared across machines.
# - KB_STORE=postgres: KB_DATABASE_URL (and KB_DATABASE_SCHEMA) as given; when the URL is
#   unset, tools/postgres.sh starts the local server first and its URL is used.
#
# Config, pid files and logs go to CLUSTER_DIR (data/cluster): nginx.conf, *.pid, logs/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

BIN=$REPO/.venv/bin
DIR=$(realpath -m "${CLUSTER_DIR:-data/cluster}")
LISTEN=${CLUSTER_LISTEN:-127.0.0.1}
BIND=${CLUSTER_BIND:-127.0.0.1}
PORT=${CLUSTER_PORT:-8080}
API_PORT=${CLUSTER_API_PORT:-8081}
read -r -a APP_PORTS <<<"${CLUSTER_APP_PORTS:-8511 8512}"
read -r -a API_PORTS <<<"${CLUSTER_API_PORTS:-8011 8012}"
read -r -a REMOTE_APPS <<<"${CLUSTER_REMOTE_APPS:-}"
read -r -a REMOTE_APIS <<<"${CLUSTER_REMOTE_APIS:-}"
START_TIMEOUT=${CLUSTER_START_TIMEOUT:-180}
MAX_FAILS=2
FAIL_TIMEOUT=10s
NGINX=/usr/sbin/nginx
TEMPLATE=$REPO/tools/nginx/answerdesk.conf.in
CONF=$DIR/nginx.conf

SCRIPT_NAME=cluster.sh
# shellcheck source=tools/lib.sh
. tools/lib.sh

for port in "$PORT" "$API_PORT" "${APP_PORTS[@]}" "${API_PORTS[@]}"; do
  [[ $port =~ ^[0-9]+$ ]] || die "ports must be numbers, not '$port'"
done
[ ${#APP_PORTS[@]} -ge 1 ] && [ ${#API_PORTS[@]} -ge 1 ] ||
  die "CLUSTER_APP_PORTS and CLUSTER_API_PORTS need at least one port each"

# --- nginx from Debian ---------------------------------------------------------------------
install_nginx() {
  [ -x "$NGINX" ] && return 0
  say "installing Debian's nginx with apt-get"
  local had_pid=no
  [ -e /run/nginx.pid ] && had_pid=yes
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    nginx >/dev/null
  # Where nothing stops it (no policy-rc.d), the package starts Debian's default site on
  # port 80. That server is not ours and nothing needs it: stop the one we just started.
  if [ "$had_pid" = no ] && [ -s /run/nginx.pid ]; then
    say "stopping the default nginx the package started (port 80)"
    as_root "$NGINX" -s quit 2>/dev/null || true
  fi
  [ -x "$NGINX" ] || die "nginx did not install ($NGINX is missing)"
}

# --- the store -------------------------------------------------------------------------------
prepare_store() {
  export KB_DATA_DIR
  KB_DATA_DIR=$(realpath -m "${KB_DATA_DIR:-data/kb}")
  if [ "${KB_STORE:-local}" = postgres ]; then
    if [ -z "${KB_DATABASE_URL:-}" ]; then
      tools/postgres.sh start >&2
      KB_DATABASE_URL=$(tools/postgres.sh url)
    fi
    export KB_STORE KB_DATABASE_URL
  elif [ ${#REMOTE_APPS[@]} -gt 0 ] || [ ${#REMOTE_APIS[@]} -gt 0 ]; then
    die "replicas on other machines need a shared store: set KB_STORE=postgres"
  fi
  # One cookie secret for every app replica (Streamlit signs its XSRF cookie with it), so a
  # browser that moves to another replica when one fails keeps working. Across machines, copy
  # the file. Kept out of the command line, where `ps` would show it.
  if [ -z "${STREAMLIT_SERVER_COOKIE_SECRET:-}" ]; then
    mkdir -p "$DIR"
    [ -s "$DIR/cookie-secret" ] || (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$DIR/cookie-secret")
    export STREAMLIT_SERVER_COOKIE_SECRET
    STREAMLIT_SERVER_COOKIE_SECRET=$(cat "$DIR/cookie-secret")
  fi
  # The replicas take the browser's address from nginx's X-Forwarded-For only when it comes
  # from here (uvicorn's own default); across machines, list the nginx host(s).
  export FORWARDED_ALLOW_IPS=${FORWARDED_ALLOW_IPS:-127.0.0.1}
}

store_summary() {
  if [ "${KB_STORE:-local}" = postgres ]; then
    echo "postgres ($(printf '%s' "${KB_DATABASE_URL:-}" | sed 's#://\([^:/@]*\):[^@]*@#://\1:****@#'), schemas ${KB_DATABASE_SCHEMA:-answerdesk}_*)"
  else
    echo "local ($KB_DATA_DIR)"
  fi
}

# --- processes -------------------------------------------------------------------------------
# Every process: its name, its port, a pid file and a log under $DIR.
pid_of() { # prints the pid when the process in $DIR/$1.pid is alive
  local file=$DIR/$1.pid pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

http_ok() { # http_ok URL [EXPECTED_BODY]: 200 (and that body) within 2 s
  "$BIN/python" - "$@" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
        body = response.read().decode("utf-8", "replace").strip()
        ok = response.status == 200 and (len(sys.argv) < 3 or body == sys.argv[2])
except OSError:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

health_url() { # the address each kind answers "alive" on
  case $1 in
  app-*) echo "http://$BIND:$2/_stcore/health" ;;
  api-*) echo "http://$BIND:$2/openapi.json" ;;
  esac
}

healthy() { # healthy NAME PORT
  case $1 in
  app-*) http_ok "$(health_url "$1" "$2")" ok ;;
  api-*) http_ok "$(health_url "$1" "$2")" ;;
  esac
}

port_taken() { "$BIN/python" -c 'import socket, sys; s = socket.socket(); sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))) != 0)' "$1" "$2"; }

max_upload_mb() {
  "$BIN/python" -c 'import math; from kb.config import Settings; print(math.ceil(Settings().max_file_mb))'
}

start_process() { # start_process NAME PORT COMMAND...
  local name=$1 port=$2
  shift 2
  if pid_of "$name" >/dev/null; then
    say "$name already running (pid $(pid_of "$name"))"
    return 0
  fi
  port_taken "$BIND" "$port" && die "$name: $BIND:$port is already in use by another program"
  # Its own session, so `stop` ends the process and anything it started, and nothing else.
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
  say "$name starting on $BIND:$port (pid $!, log $DIR/logs/$name.log)"
}

wait_healthy() { # wait_healthy NAME PORT
  local name=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT))
  until healthy "$name" "$port"; do
    pid_of "$name" >/dev/null || {
      tail -n 20 "$DIR/logs/$name.log" >&2 || true
      die "$name exited while starting (log: $DIR/logs/$name.log)"
    }
    [ $SECONDS -lt $deadline ] || die "$name is not healthy after ${START_TIMEOUT}s (log: $DIR/logs/$name.log)"
    sleep 0.5
  done
}

signal_process() { # signal_process NAME SIGNAL: to its whole session
  local pid
  pid=$(pid_of "$1") || return 0
  kill "-$2" -- "-$pid" 2>/dev/null || kill "-$2" "$pid" 2>/dev/null || true
}

stop_processes() { # stop_processes NAME...: TERM them all, then wait; KILL after 20 s
  local name pid deadline=$((SECONDS + 20))
  for name in "$@"; do signal_process "$name" TERM; done
  for name in "$@"; do
    if pid=$(pid_of "$name"); then
      while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
          say "$name did not stop after 20 s: killing it"
          signal_process "$name" KILL
        fi
        sleep 0.2
      done
    fi
    rm -f "$DIR/$name.pid"
    say "$name stopped"
  done
}

# --- nginx's configuration ---------------------------------------------------------------------
render_conf() {
  local upload_mb app_servers="" api_servers="" names="" i port address
  upload_mb=$(max_upload_mb)
  for i in "${!APP_PORTS[@]}"; do
    address=$BIND:${APP_PORTS[$i]}
    app_servers+="        server $address max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT;"$'\n'
    names+="        $address app-$((i + 1));"$'\n'
  done
  for i in "${!REMOTE_APPS[@]}"; do
    address=${REMOTE_APPS[$i]}
    app_servers+="        server $address max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT;"$'\n'
    names+="        $address app-remote-$((i + 1));"$'\n'
  done
  for i in "${!API_PORTS[@]}"; do
    address=$BIND:${API_PORTS[$i]}
    api_servers+="        server $address max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT;"$'\n'
    names+="        $address api-$((i + 1));"$'\n'
  done
  for i in "${!REMOTE_APIS[@]}"; do
    address=${REMOTE_APIS[$i]}
    api_servers+="        server $address max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT;"$'\n'
    names+="        $address api-remote-$((i + 1));"$'\n'
  done
  local user temp
  if is_root; then
    # Workers never run as root; Debian's www-data uses Debian's temp folders (/var/lib/nginx).
    user="user www-data;"
    temp=""
  else
    # Workers run as this user, who cannot write /var/lib/nginx: temp folders of our own.
    user="# (not root: the workers run as $(id -un))"
    mkdir -p "$DIR/nginx-temp"
    temp=""
    local kind
    for kind in client_body proxy fastcgi uwsgi scgi; do
      temp+="    ${kind}_temp_path $DIR/nginx-temp/$kind;"$'\n'
    done
  fi
  NGX_USER=$user NGX_DIR=$DIR NGX_TEMP_PATHS=${temp%$'\n'} NGX_LISTEN=$LISTEN NGX_APP_PORT=$PORT \
    NGX_API_PORT=$API_PORT NGX_MAX_BODY_MB=$((upload_mb + 1)) NGX_APP_SERVERS=${app_servers%$'\n'} \
    NGX_API_SERVERS=${api_servers%$'\n'} NGX_REPLICA_NAMES=${names%$'\n'} NGX_MAX_FAILS=$MAX_FAILS \
    NGX_FAIL_TIMEOUT=$FAIL_TIMEOUT \
    awk '{
      line = $0
      while (match(line, /@[A-Z_]+@/)) {
        key = "NGX_" substr(line, RSTART + 1, RLENGTH - 2)
        if (!(key in ENVIRON)) { print "unknown placeholder " key > "/dev/stderr"; exit 1 }
        line = substr(line, 1, RSTART - 1) ENVIRON[key] substr(line, RSTART + RLENGTH)
      }
      print line
    }' "$TEMPLATE" >"$CONF.new"
  mv "$CONF.new" "$CONF"
}

nginx_cmd() { "$NGINX" -p "$DIR" -c "$CONF" -e "$DIR/logs/nginx-error.log" "$@"; }

nginx_pid() {
  [ -s "$DIR/nginx.pid" ] || return 1
  local pid
  pid=$(cat "$DIR/nginx.pid")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start_nginx() {
  render_conf
  nginx_cmd -t -q 2>"$DIR/logs/nginx-test.log" ||
    die "nginx rejects $CONF: $(cat "$DIR/logs/nginx-test.log")"
  if nginx_pid >/dev/null; then
    nginx_cmd -s reload
    say "nginx reloaded with $CONF"
    return 0
  fi
  port_taken "$LISTEN" "$PORT" && die "nginx: $LISTEN:$PORT is already in use by another program"
  port_taken "$LISTEN" "$API_PORT" && die "nginx: $LISTEN:$API_PORT is already in use by another program"
  nginx_cmd
  local deadline=$((SECONDS + 15))
  until http_ok "http://$LISTEN:$PORT/nginx-health" ok; do
    [ $SECONDS -lt $deadline ] || die "nginx did not answer (log: $DIR/logs/nginx-error.log)"
    sleep 0.2
  done
}

stop_nginx() {
  local pid
  pid=$(nginx_pid) || {
    rm -f "$DIR/nginx.pid"
    return 0
  }
  kill -QUIT "$pid" 2>/dev/null || true # graceful: open requests finish
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || kill -TERM "$pid" 2>/dev/null || true
    sleep 0.2
  done
  say "nginx stopped"
}

# --- commands ------------------------------------------------------------------------------------
start() {
  [ -x "$BIN/kb" ] && [ -x "$BIN/streamlit" ] || die "no .venv with kb and streamlit: run make setup"
  local started=$SECONDS i upload_mb
  # A start that fails half-way stops what it started, so the next one begins clean.
  trap 'say "start failed: stopping what was started"; stop' EXIT
  install_nginx
  prepare_store
  mkdir -p "$DIR/logs"
  upload_mb=$(max_upload_mb)
  say "store: $(store_summary)"
  for i in "${!API_PORTS[@]}"; do
    start_process "api-$((i + 1))" "${API_PORTS[$i]}" \
      "$BIN/kb" serve --host "$BIND" --port "${API_PORTS[$i]}"
  done
  for i in "${!APP_PORTS[@]}"; do
    start_process "app-$((i + 1))" "${APP_PORTS[$i]}" \
      "$BIN/streamlit" run app.py --server.address "$BIND" --server.port "${APP_PORTS[$i]}" \
      --server.headless true --server.fileWatcherType none --server.runOnSave false \
      --browser.gatherUsageStats false --server.maxUploadSize "$upload_mb"
  done
  for i in "${!API_PORTS[@]}"; do wait_healthy "api-$((i + 1))" "${API_PORTS[$i]}"; done
  for i in "${!APP_PORTS[@]}"; do wait_healthy "app-$((i + 1))" "${APP_PORTS[$i]}"; done
  start_nginx
  {
    echo "store=$(store_summary)"
    echo "app=http://$LISTEN:$PORT"
    echo "api=http://$LISTEN:$API_PORT"
  } >"$DIR/cluster.env"
  trap - EXIT
  say "ready in $((SECONDS - started)) s: ${#APP_PORTS[@]} app replicas and ${#API_PORTS[@]} API workers"
  echo "App (agents' browsers):     http://$LISTEN:$PORT"
  echo "API (contact centre systems): http://$LISTEN:$API_PORT (OpenAPI: /docs)"
  echo "Store: $(store_summary)"
  echo "Stop with: tools/cluster.sh stop (or make stop-cluster)"
}

stop() {
  local names=() file
  stop_nginx
  # Every replica with a pid file, also those started with a longer port list than now.
  for file in "$DIR"/app-*.pid "$DIR"/api-*.pid; do
    if [ -e "$file" ]; then names+=("$(basename "$file" .pid)"); fi
  done
  [ ${#names[@]} -eq 0 ] || stop_processes "${names[@]}"
}

status() {
  local i name port pid state running=0 healthy_count=0 total=0
  check() { # check NAME PORT
    total=$((total + 1))
    if pid=$(pid_of "$1"); then
      running=$((running + 1))
      if healthy "$1" "$2"; then
        state=healthy
        healthy_count=$((healthy_count + 1))
      else
        state="NOT HEALTHY ($(health_url "$1" "$2"))"
      fi
      printf '%-8s %s:%-6s pid %-8s %s\n' "$1" "$BIND" "$2" "$pid" "$state"
    else
      printf '%-8s %s:%-6s %s\n' "$1" "$BIND" "$2" "stopped"
    fi
  }
  for i in "${!APP_PORTS[@]}"; do check "app-$((i + 1))" "${APP_PORTS[$i]}"; done
  for i in "${!API_PORTS[@]}"; do check "api-$((i + 1))" "${API_PORTS[$i]}"; done
  total=$((total + 1))
  if pid=$(nginx_pid); then
    running=$((running + 1))
    if http_ok "http://$LISTEN:$PORT/_stcore/health" ok && http_ok "http://$LISTEN:$API_PORT/openapi.json"; then
      state="healthy (app and API answer through it)"
      healthy_count=$((healthy_count + 1))
    else
      state="NOT HEALTHY (the app or the API does not answer through it)"
    fi
    printf '%-8s %s:%s,%-6s pid %-8s %s\n' nginx "$LISTEN" "$PORT" "$API_PORT" "$pid" "$state"
  else
    printf '%-8s %s:%s,%-6s %s\n' nginx "$LISTEN" "$PORT" "$API_PORT" stopped
  fi
  [ -s "$DIR/cluster.env" ] && sed -n 's/^store=/store    /p' "$DIR/cluster.env"
  [ "$running" -eq 0 ] && return 3
  [ "$healthy_count" -eq "$total" ] || return 1
}

case ${1:-start} in
start) start ;;
stop) stop ;;
status) status ;;
*) die "usage: tools/cluster.sh [start|stop|status]" ;;
esac
