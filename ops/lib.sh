# ops/lib.sh -- shell functions shared by the ops/ scripts (sourced, not run).
#
# PostgreSQL refuses to run as root, so when we are root every server runs as
# the unprivileged system user $LMS_PG_OSUSER (default "lms", created on
# demand); otherwise as the invoking user. Each cluster lives in a directory
# we own; its postmaster.pid is the pid file `stop` uses. Servers listen on
# 127.0.0.1 only, with trust authentication for the superuser role "lms"
# (loopback-only development/test clusters: see README "Known limits").

LMS_ROOT="${LMS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
LMS_PG_OSUSER="${LMS_PG_OSUSER:-lms}"
LMS_PG_ROLE="${LMS_PG_ROLE:-lms}"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
say() { [ -n "${QUIET:-}" ] || echo "$@"; }

pg_bindir() {
  local d
  if command -v pg_config >/dev/null && d="$(pg_config --bindir 2>/dev/null)" \
     && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  die "PostgreSQL server programs not found (run ops/deps)"
}

# Runs a command as the PostgreSQL OS user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$LMS_PG_OSUSER" -- "$@"
  else
    "$@"
  fi
}

ensure_pg_osuser() {
  [ "$(id -u)" -eq 0 ] || return 0
  id -u "$LMS_PG_OSUSER" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$LMS_PG_OSUSER" \
    || die "could not create system user \"$LMS_PG_OSUSER\""
}

# pg_running DIR -> 0 when the server of DIR is up (pid file + live process)
pg_running() {
  local dir="$1" pid
  [ -f "$dir/postmaster.pid" ] || return 1
  pid="$(head -1 "$dir/postmaster.pid" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# pg_init DIR PORT: create the cluster directory if it does not exist yet.
pg_init() {
  local dir="$1" port="$2" bin
  bin="$(pg_bindir)"
  if [ -f "$dir/PG_VERSION" ]; then return 0; fi
  ensure_pg_osuser
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$LMS_PG_OSUSER:" "$dir"
  as_pg test -w "$dir" || die "cluster directory \"$dir\" is not writable by user \"$(as_pg id -un)\"" \
    "(each parent directory must be searchable by that user)"
  as_pg "$bin/initdb" -D "$dir" -U "$LMS_PG_ROLE" -A trust -E UTF8 \
    --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
    || { cat "$dir.initdb.log" >&2; die "initdb failed for \"$dir\""; }
  rm -f "$dir.initdb.log"
  # Durability is not negotiable: the Raft log's safety depends on fsync.
  as_pg tee -a "$dir/postgresql.conf" >/dev/null <<CONF

# --- lms settings (ops/lib.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '/tmp'
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = minimal
max_wal_senders = 0
max_connections = 60
shared_buffers = 64MB
logging_collector = off
log_min_messages = warning
CONF
}

# pg_start DIR PORT: start the server (no-op when it runs); waits until ready.
pg_start() {
  local dir="$1" port="$2" bin
  bin="$(pg_bindir)"
  pg_running "$dir" && return 0
  as_pg "$bin/pg_ctl" -D "$dir" -o "-p $port" -l "$dir/server.log" -w -t 60 \
    start >/dev/null || { tail -20 "$dir/server.log" >&2 2>/dev/null; \
    die "could not start PostgreSQL in \"$dir\" on port $port"; }
}

# pg_stop DIR: fast shutdown; no-op when not running.
pg_stop() {
  local dir="$1" bin
  bin="$(pg_bindir)"
  pg_running "$dir" || return 0
  as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null \
    || die "could not stop PostgreSQL in \"$dir\""
}

pg_destroy() {
  local dir="$1"
  pg_stop "$dir"
  rm -rf "$dir"
}

# pg_psql PORT DB [psql args...]
pg_psql() {
  local port="$1" db="$2"; shift 2
  PGOPTIONS="-c client_min_messages=warning" \
    "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
    -U "$LMS_PG_ROLE" -d "$db" "$@"
}

# pg_createdb PORT DB: create the database unless it exists.
pg_createdb() {
  local port="$1" db="$2" exists
  exists="$(pg_psql "$port" postgres -tA -c \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")"
  [ "$exists" = 1 ] || pg_psql "$port" postgres -c "CREATE DATABASE \"$db\"" >/dev/null
}

# pg_apply_schema PORT DB: the node-local schema (idempotent).
pg_apply_schema() {
  local port="$1" db="$2" f
  for f in "$LMS_ROOT"/sql/[0-9]*.sql; do
    pg_psql "$port" "$db" -f "$f" >/dev/null || die "could not apply \"$f\" to $db"
  done
}

# config access (jq) -------------------------------------------------------
cfg() { jq -er "$1" "${LMS_CONFIG:-$LMS_ROOT/config.json}"; }

# Resolves a config path (relative paths are relative to the config file).
cfg_path() {
  local p="$1" base
  base="$(cd "$(dirname "${LMS_CONFIG:-$LMS_ROOT/config.json}")" && pwd)"
  case "$p" in /*) echo "$p" ;; *) echo "$base/$p" ;; esac
}

# free_port START: first TCP port >= START nobody listens on (loopback).
free_port() {
  local p="$1"
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}
