#!/usr/bin/env bash
# A local PostgreSQL 15 + pgvector server for the shared store (issue 14), started the same way
# on a laptop and in CI, on a fresh Debian 12 machine, with nothing downloaded but Debian's own
# packages.
#
#   tools/postgres.sh [start]   install what is missing, build pgvector, initialise, start, provision
#   tools/postgres.sh stop      stop the server (the data stays)
#   tools/postgres.sh status    running or not, where, and the pgvector version
#   tools/postgres.sh url       print KB_DATABASE_URL (with the password) for $(...)
#
# Every step is skipped when already done, so `start` can be run any number of times.
#
# Why each choice:
# - Debian 12 ships PostgreSQL 15 but no pgvector binary for it. Debian's own pgvector source
#   package (0.8.0 in trixie) builds against postgresql-server-dev-15 in seconds. The deb-src
#   lines are derived from the machine's existing Debian entry (same mirror, same keyring) and
#   used through a private apt state under a temporary folder, so /etc/apt and the system's
#   package lists are left exactly as they were, and only the source package is fetched.
# - Its own cluster under data/ on 127.0.0.1:5433, not Debian's `main` cluster on 5432: nothing
#   clashes with a server the machine may already run, and deleting data/ removes it all.
# - No Unix socket, TCP on loopback only, scram-sha-256 passwords for every role (no trust):
#   the test cluster is set up like a real one, so code that works here needs no auth changes
#   later. The passwords are generated once and kept in 0600 files beside the cluster.
# - As root the server runs as the `postgres` system user (PostgreSQL refuses to run as root);
#   as anyone else it runs as that user, and installing packages needs root or sudo.
#
# Settings (environment): KB_PG_DIR (data/postgres, relative to the repository), KB_PG_PORT
# (5433), KB_PG_DB (answerdesk), KB_PG_USER (answerdesk), KB_PGVECTOR_VERSION (0.8.0-1),
# KB_PGVECTOR_SUITES (the suites searched for the source package).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_MAJOR=15
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
PORT=${KB_PG_PORT:-5433}
DB=${KB_PG_DB:-answerdesk}
ROLE=${KB_PG_USER:-answerdesk}
PGVECTOR_VERSION=${KB_PGVECTOR_VERSION:-0.8.0-1}
PG_DIR=$(realpath -m "${KB_PG_DIR:-data/postgres}")
# Where the server goes when the postgres user cannot reach $PG_DIR (a clone under /root).
FALLBACK_DIR=/var/lib/postgresql/answerdesk

SCRIPT_NAME=postgres.sh
# shellcheck source=tools/lib.sh
. tools/lib.sh

for name in "$DB" "$ROLE"; do
  [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || die "'$name' is not a plain lower-case SQL name"
done
[[ $PORT =~ ^[0-9]+$ ]] || die "KB_PG_PORT must be a number, not '$PORT'"

# --- 1. Debian's PostgreSQL 15 and what building an extension needs -----------------------
install_packages() {
  local wanted=(postgresql "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" make gcc dpkg-dev)
  local missing=() pkg
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# --- 2. pgvector from Debian's source package ---------------------------------------------
# Prints the first Debian entry for this release from the machine's apt sources, as
# "URI<TAB>KEYRING" (keyring may be empty), from deb822 .sources files or one-line lists.
debian_entry() {
  local codename=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") && uris != "") {
          split(uris, u, " "); printf "%s\t%s\n", u[1], key; found = 1; exit
        }
        types = suites = uris = key = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:" { $1 = ""; types = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "uris:" { $1 = ""; sub(/^ +/, ""); uris = $0 }
      tolower($1) == "signed-by:" && NF == 2 { key = $2 }
      END { if (!found) flush() }
    ' "$f" | head -1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$codename" '
      $1 != "deb" { next }
      {
        key = ""; i = 2
        if ($2 ~ /^\[/) {
          while (i <= NF) {
            if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
            if ($i ~ /\]$/) { i++; break }
            i++
          }
        }
        if ($(i + 1) == want) { printf "%s\t%s\n", $i, key; exit }
      }
    ' "$f" | head -1
  done
}

build_pgvector() {
  local extdir
  extdir=$("$PG_CONFIG" --sharedir)/extension
  if [ -f "$extdir/vector.control" ]; then
    return 0
  fi
  local codename entry uri key work
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot tell this Debian release from /etc/os-release"
  entry=$(debian_entry "$codename" | head -1)
  [ -n "$entry" ] || die "no 'deb ... $codename' entry in /etc/apt/sources.list{,.d/} to derive deb-src lines from"
  uri=${entry%%$'\t'*}
  key=${entry#*$'\t'}
  local suites=${KB_PGVECTOR_SUITES:-"$codename $codename-backports trixie"}
  work=$(mktemp -d /tmp/answerdesk-pgvector.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'; trap - RETURN" RETURN
  chmod 755 "$work" # apt's download sandbox user must be able to write here
  mkdir -p "$work/parts" "$work/lists/partial" "$work/src"
  {
    echo "Types: deb-src"
    echo "URIs: $uri"
    echo "Suites: $suites"
    echo "Components: main"
    [ -z "$key" ] || echo "Signed-By: $key"
  } >"$work/parts/pgvector-src.sources"
  say "fetching Debian's pgvector source ($suites from $uri)"
  local apt=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  as_root apt-get "${apt[@]}" update -qq
  local have
  have=$(apt-cache "${apt[@]}" showsrc pgvector 2>/dev/null | awk '/^Version:/ { print $2 }' | sort -V | tail -1)
  [ -n "$have" ] || die "no pgvector source package in $suites"
  local want=$PGVECTOR_VERSION
  if ! apt-cache "${apt[@]}" showsrc pgvector | grep -qx "Version: $want"; then
    say "pgvector $want is not offered; building $have instead"
    want=$have
  fi
  (cd "$work/src" && as_root apt-get "${apt[@]}" source "pgvector=$want" >"$work/log" 2>&1) ||
    die "apt-get source pgvector=$want failed: $(tail -n 5 "$work/log")"
  local srcdir
  srcdir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -1)
  [ -n "$srcdir" ] || die "the pgvector source did not unpack"
  say "building pgvector $want against PostgreSQL $PG_MAJOR"
  # with_llvm=no: no JIT bitcode, which the server does not need for vector search.
  # OPTFLAGS="": no -march=native, as Debian builds it, so the library runs on any x86-64
  # (pgvector picks its SIMD distance functions at run time).
  local flags=(PG_CONFIG="$PG_CONFIG" with_llvm=no OPTFLAGS=)
  as_root make -C "$srcdir" -j "$(nproc)" "${flags[@]}" >"$work/log" 2>&1 ||
    die "building pgvector failed: $(tail -n 20 "$work/log")"
  as_root make -C "$srcdir" "${flags[@]}" install >"$work/log" 2>&1 ||
    die "installing pgvector failed: $(tail -n 20 "$work/log")"
  [ -f "$extdir/vector.control" ] || die "pgvector built but vector.control is not in $extdir"
}

# --- 3. The cluster ---------------------------------------------------------------------
# As root the server runs as `postgres`; it must be able to reach the folder.
if is_root; then
  OWNER=postgres
  run() { runuser -u postgres -- "$@"; }
else
  OWNER=$(id -un)
  run() { "$@"; }
fi

resolve_dir() {
  is_root || return 0
  id postgres >/dev/null 2>&1 || return 0 # before the package creates the user
  mkdir -p "$PG_DIR"
  if ! runuser -u postgres -- test -x "$PG_DIR"; then
    rmdir "$PG_DIR" 2>/dev/null || true
    say "the postgres user cannot reach $PG_DIR (a parent folder is private); using $FALLBACK_DIR"
    PG_DIR=$FALLBACK_DIR
  fi
}

pgdata() { echo "$PG_DIR/cluster"; }

new_secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# Writes a fresh password to $1 unless it exists; readable only by the server's owner.
ensure_secret() {
  [ -s "$1" ] && return 0
  (
    umask 077
    new_secret >"$1"
  )
  chown "$OWNER" "$1"
}

init_cluster() {
  mkdir -p "$PG_DIR"
  chown "$OWNER" "$PG_DIR"
  chmod 700 "$PG_DIR"
  ensure_secret "$PG_DIR/superuser.password"
  ensure_secret "$PG_DIR/$ROLE.password"
  if [ -f "$(pgdata)/PG_VERSION" ]; then
    return 0
  fi
  say "initialising a cluster in $(pgdata)"
  run "$PGBIN/initdb" -D "$(pgdata)" -U postgres --pwfile="$PG_DIR/superuser.password" \
    -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$(pgdata)/postgresql.conf" <<EOF

# AnswerDesk (tools/postgres.sh): loopback TCP only, no Unix socket; the port is given at start.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
port = $PORT
# HNSW index builds are much faster when the graph fits in maintenance memory.
maintenance_work_mem = '256MB'
# Every store of every replica holds a connection of its own (kb.postgres).
max_connections = 400
EOF
}

# Memory and planner settings, rewritten at every start into answerdesk.conf (included from
# postgresql.conf), so a cluster made before them gets them too. Measured at 100,000 chunks
# (eval/reports/postgres-scale.md): the HNSW index (195 MB), the vectors (359 MB) and the
# lexical table (130 MB) did not fit in the default 128 MB of shared buffers, so every search
# copied thousands of pages in from the OS; and JIT compiled the lexical scoring query on
# every run (~45 ms of ~190). shared_buffers: a quarter of RAM, 128 MB to 1 GB (a 2 GB CI
# machine gets 512 MB); effective_cache_size: half of RAM (the planner's guess of what the
# OS caches); random_page_cost 1.1: the data is on SSD or in memory, so the planner uses
# the GIN and HNSW indexes. KB_PG_SHARED_BUFFERS (e.g. 256MB) overrides. shared_buffers
# takes effect when the server starts; the others on reload (done here when it runs).
tune_cluster() {
  local conf mem_mb shared cache
  conf="$(pgdata)/answerdesk.conf"
  mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
  shared=$((mem_mb / 4))
  [ "$shared" -le 1024 ] || shared=1024
  [ "$shared" -ge 128 ] || shared=128
  shared=${KB_PG_SHARED_BUFFERS:-${shared}MB}
  [[ $shared =~ ^[0-9]+(kB|MB|GB)$ ]] || die "KB_PG_SHARED_BUFFERS must look like 512MB, not '$shared'"
  cache=$((mem_mb / 2))
  [ "$cache" -ge 256 ] || cache=256
  cat >"$conf" <<EOF
# Written by tools/postgres.sh at every start: edits here are lost (see tune_cluster there).
shared_buffers = '$shared'
effective_cache_size = '${cache}MB'
work_mem = '8MB'
jit = off
random_page_cost = 1.1
EOF
  chown "$OWNER" "$conf"
  grep -qxF "include_if_exists = 'answerdesk.conf'" "$(pgdata)/postgresql.conf" ||
    echo "include_if_exists = 'answerdesk.conf'" >>"$(pgdata)/postgresql.conf"
  if running; then
    run "$PGBIN/pg_ctl" -D "$(pgdata)" reload >/dev/null
  fi
}

running() { [ -f "$(pgdata)/PG_VERSION" ] && run "$PGBIN/pg_ctl" -D "$(pgdata)" status >/dev/null 2>&1; }

# The port a running server listens on (line 4 of postmaster.pid), else the configured one.
live_port() {
  if running; then sed -n 4p "$(pgdata)/postmaster.pid"; else echo "$PORT"; fi
}

start_server() {
  if running; then
    [ "$(live_port)" = "$PORT" ] || say "already running on port $(live_port), not $PORT"
    return 0
  fi
  say "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$PORT"
  if ! run "$PGBIN/pg_ctl" -D "$(pgdata)" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PORT" start >/dev/null; then
    tail -n 20 "$PG_DIR/server.log" >&2 || true
    die "the server did not start (log: $PG_DIR/server.log)"
  fi
}

sql() { # sql DATABASE STATEMENT...: as the superuser, over loopback TCP
  local db=$1
  shift
  PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$(cat "$PG_DIR/superuser.password") "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$(live_port)" -U postgres -d "$db" "$@"
}

provision() {
  local pw
  pw=$(cat "$PG_DIR/$ROLE.password")
  # The password is hex, so it needs no quoting beyond the literal's quotes.
  sql postgres -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN PASSWORD '$pw';
      ELSE
        ALTER ROLE $ROLE LOGIN PASSWORD '$pw';
      END IF;
    END \$\$;"
  if [ -z "$(sql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    sql postgres -c "CREATE DATABASE $DB OWNER $ROLE"
  fi
  sql "$DB" -c "CREATE EXTENSION IF NOT EXISTS vector"
}

url() {
  [ -s "$PG_DIR/$ROLE.password" ] || die "no cluster in $PG_DIR yet: run tools/postgres.sh start"
  echo "postgresql://$ROLE:$(cat "$PG_DIR/$ROLE.password")@127.0.0.1:$(live_port)/$DB"
}

cmd=${1:-start}
case $cmd in
start)
  started=$SECONDS
  install_packages
  build_pgvector
  resolve_dir
  init_cluster
  tune_cluster
  start_server
  provision
  if [ "$(sql postgres -c "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]; then
    say "settings changed that need a restart: tools/postgres.sh stop && tools/postgres.sh start"
  fi
  say "ready in $((SECONDS - started)) s: pgvector $(sql "$DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'") in $DB on 127.0.0.1:$(live_port), data in $PG_DIR"
  echo "KB_DATABASE_URL=$(url | sed 's/:[0-9a-f]*@/:****@/')"
  echo "Use it with: export KB_DATABASE_URL=\"\$(tools/postgres.sh url)\""
  ;;
stop)
  resolve_dir
  if running; then
    run "$PGBIN/pg_ctl" -D "$(pgdata)" -m fast -w stop >/dev/null
    say "stopped ($(pgdata))"
  else
    say "not running ($(pgdata))"
  fi
  ;;
status)
  resolve_dir
  if running; then
    echo "running on 127.0.0.1:$(live_port), data in $(pgdata), pgvector" \
      "$(sql "$DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
  else
    echo "not running (data in $(pgdata))"
    exit 3
  fi
  ;;
url)
  resolve_dir
  url
  ;;
*)
  die "usage: tools/postgres.sh [start|stop|status|url]"
  ;;
esac
