#!/usr/bin/env bash
# tests/ops/cluster_smoke.sh -- ops/cluster end to end on a throw-away
# five-node cluster: up, status, a write, pause/resume, kill/start,
# partition/heal (when root), transfer-leader, down; nothing left running.
# The tutor too: up creates its account (data/tutor-password, 0600) and
# starts tutord, which runs without Ollama (/health 503, waiting for it);
# once a fake Ollama listens at tutor.ollama_url it turns healthy by
# itself and answers a demo student's `lms ask`; down stops it.
# The nodes' databases live in the PostgreSQL that ops/test started
# (an external server for ops/cluster); nodes use 127.0.3.N.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$1"
: "${LMS_TEST_PGPORT:?run through ops/test}"
work="$(mktemp -d /tmp/lms-cluster-smoke.XXXXXX)"
export LMS_CONFIG="$work/config.json" LMS_BIN="$BIN" LMS_SKIP_BUILD=1 QUIET=1
unset OLLAMA_HOST LMS_TOKEN LMS_NODES   # tutor.ollama_url below is what counts
fake_pid=""
cleanup() {
  "$ROOT/ops/cluster" down >/dev/null 2>&1 || true
  if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/data/logs/*.log; do echo "== $f"; tail -20 "$f"; done >&2; exit 1; }

base=$(( 30000 + ($$ % 200) * 20 ))
pgdir="$(psql -X -tA -h 127.0.0.1 -p "$LMS_TEST_PGPORT" -U lms -d postgres -c 'SHOW data_directory')"
jq --argjson b "$base" --arg pgdir "$pgdir" --argjson pgport "$LMS_TEST_PGPORT" --arg tag "$$" '
  .cluster.name = "smoke\($tag)" | .cluster.secret = "smoke-secret" | .cluster.data_dir = "data"
  | .nodes |= map(.host = "127.0.3.\(.id)" | .peer_port = $b + .id | .client_port = $b + 5 + .id
                  | .http_port = $b + 10 + .id
                  | .pg = {host: "127.0.0.1", port: $pgport, data_dir: $pgdir,
                           database: "smoke\($tag)_n\(.id)"})
  | .tutor.http_port = $b + 19 | .tutor.ollama_url = "http://127.0.0.1:\($b + 18)"' "$ROOT/config.json" >"$LMS_CONFIG"

admin() { "$BIN/lms-admin" --config "$LMS_CONFIG" "$@"; }
leader() { admin --json status | jq '[.[] | select(.role == "leader")][0].node // 0'; }
lms() { XDG_CONFIG_HOME="$work/xdg" "$BIN/lms" --config "$LMS_CONFIG" "$@"; }
tutor_health="http://127.0.0.1:$((base + 19))/health"
tutord_pid() { cat "$work/data/run/tutord.pid" 2>/dev/null; }

"$ROOT/ops/cluster" up >/dev/null || fail "up"
tpid="$(tutord_pid)" || fail "no tutord pid file after up"
"$ROOT/ops/cluster" up >/dev/null || fail "up twice"
[ "$(tutord_pid)" = "$tpid" ] || fail "up twice restarted tutord ($tpid -> $(tutord_pid))"
st="$("$ROOT/ops/cluster" status)" || fail "status after up: $st"
admin kv put a 1 >/dev/null || fail "first write"

# the tutor: its account, its password file, tutord waiting for Ollama
[ "$(stat -c %a "$work/data/tutor-password")" = 600 ] || fail "data/tutor-password is not 0600"
lms login admin --password-stdin <"$work/data/admin-password" >/dev/null || fail "admin login"
role="$(lms --json user list | jq -r '[.users[] | select(.username == "tutor")][0].role // "none"')"
[ "$role" = tutor ] || fail "the tutor account: role $role"
tr '\0' ' ' <"/proc/$tpid/cmdline" 2>/dev/null | grep -q "tutord --config $LMS_CONFIG" \
  || fail "tutord (pid $tpid) is not running"
echo "$st" | grep -q "^tutor: tutord pid $tpid; .*/health: 503 unavailable: waiting for ollama" \
  || fail "status does not show tutord waiting for Ollama: $st"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$tutor_health")" = 503 ] || fail "tutord /health is not 503 without Ollama"
curl -s "$tutor_health" | grep -q 'waiting for ollama' || fail "tutord /health: $(curl -s "$tutor_health")"

# a (fake) Ollama appears at tutor.ollama_url: tutord finds it on its own
# (its retries back off to 5 s) and answers a demo student's question
"$BIN/fake-ollama" --port $((base + 18)) >"$work/fake-ollama.log" 2>&1 </dev/null &
fake_pid=$!
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$tutor_health")" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$tutor_health")" = 200 ] \
  || fail "tutord did not turn healthy with the fake Ollama: $(curl -s "$tutor_health") $(cat "$work/fake-ollama.log")"
echo pass123 | lms login student1 --password-stdin >/dev/null || fail "student1 login"
ans="$(lms --json ask DEMO101 "How does Raft elect a leader?" --wait 30)" || fail "lms ask"
echo "$ans" | jq -e '.answered and (.query.answers | length) >= 1' >/dev/null \
  || fail "the tutor did not answer: $ans"

# the HTTP status port of node 1
http="http://127.0.3.1:$((base + 11))"
curl -fsS "$http/health" | grep -q '^ok' || fail "/health"
curl -fsS "$http/status" | jq -e '.node == 1 and (.peers | length) == 5 and .applied >= 1' >/dev/null \
  || fail "/status: $(curl -sS "$http/status")"
metrics="$(curl -fsS "$http/metrics")" || fail "/metrics"
for m in lms_raft_applied_index lms_raft_term lms_raft_elections_total \
         lms_raft_append_seconds_count lms_raft_apply_seconds_count \
         lms_raft_commit_seconds_count lms_raft_entries_per_batch_count \
         lms_peer_bytes_sent lms_raft_snapshots_total; do
  echo "$metrics" | grep -q "^$m " || fail "/metrics lacks $m"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$http/nope")" = 404 ] || fail "unknown path is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$http/status")" = 405 ] || fail "POST is not 405"
[ "$(admin kv get a)" = 1 ] || fail "read back"

"$ROOT/ops/cluster" pause 2 >/dev/null
admin kv put b 2 >/dev/null || fail "write with a paused node"
st="$("$ROOT/ops/cluster" status)" || true
echo "$st" | grep -q 'paused' || fail "status does not show the pause: $st"
"$ROOT/ops/cluster" resume 2 >/dev/null

l="$(leader)"
"$ROOT/ops/cluster" kill "$l" >/dev/null
admin kv put c 3 >/dev/null || fail "write after killing the leader"
"$ROOT/ops/cluster" start "$l" >/dev/null

if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null; then
  l="$(leader)"
  "$ROOT/ops/cluster" partition "$l" >/dev/null
  admin kv put d 4 >/dev/null || fail "write during a partition of the leader"
  "$ROOT/ops/cluster" heal >/dev/null
  "$ROOT/ops/cluster" heal >/dev/null
  nft list tables | grep -q "smoke$$" && fail "heal left the nft table"
else
  echo "skipping partition (needs root and nft)"
fi

admin transfer-leader >/dev/null || fail "transfer-leader"
for _ in $(seq 50); do
  sums="$(admin --json checksum | jq -r '[.[] | "\(.applied_index) \(.checksum)"] | unique | length')"
  [ "$sums" = 1 ] && break
  sleep 0.1
done
[ "$sums" = 1 ] || fail "nodes did not converge: $(admin checksum)"

"$ROOT/ops/cluster" down >/dev/null
"$ROOT/ops/cluster" down >/dev/null
for f in "$work"/data/run/*.pid; do
  [ -e "$f" ] && fail "pid file left: $f"
done
if pgrep -f "lmsd --config $LMS_CONFIG" >/dev/null; then fail "lmsd left running"; fi
if pgrep -f "tutord --config $LMS_CONFIG" >/dev/null; then fail "tutord left running"; fi
kill -0 "$tpid" 2>/dev/null && fail "tutord (pid $tpid) still runs after down"
echo "ops/cluster smoke: ok"
