#!/usr/bin/env bash
# tests/bench/bench_smoke.sh -- lms-bench against a throw-away five-node
# cluster (ops/cluster over the PostgreSQL of ops/test, nodes on a free
# 127.0.K.x block, taken with the cluster tests' lock files): every
# operation of the mix for 3 s with --json, the table output, usage
# errors, a non-loopback node refused, one --failover-trials trial, a
# small --catchup, and --etcd against a one-member etcd when etcd is
# installed. Checks that the output names the expected operations and
# that the numbers are sane: throughput > 0, p50 <= p90 <= p99 <= max,
# no errors. Everything it started is stopped by pid file.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$1"
: "${LMS_TEST_PGPORT:?run through ops/test}"
work="$(mktemp -d /tmp/lms-bench-smoke.XXXXXX)"
export LMS_CONFIG="$work/config.json" LMS_BIN="$BIN" LMS_SKIP_BUILD=1 QUIET=1
unset LMS_NODES LMS_TOKEN OLLAMA_HOST
etcd_pid=""
cleanup() {
  "$ROOT/ops/cluster" down >/dev/null 2>&1 || true
  if [ -n "$etcd_pid" ] && grep -qa etcd "/proc/$etcd_pid/cmdline" 2>/dev/null; then
    kill "$etcd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$etcd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/data/logs/*.log; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done >&2; exit 1; }

# an address block no cluster test holds (3 is the ops smoke test's)
net=""
for k in $(seq 2 254); do
  [ "$k" = 3 ] && continue
  exec {lockfd}>"/tmp/lms-cltest-net-$k.lock"
  if flock -n "$lockfd"; then net=$k; break; fi
  exec {lockfd}>&-
done
[ -n "$net" ] || fail "no free address block"
# 20 free ports below the ephemeral range
base=""
for _ in $(seq 50); do
  b=$((21000 + (RANDOM % 500) * 22)); ok=1
  for p in $(seq "$b" $((b + 19))); do
    ss -Hltan "sport = :$p" | grep -q . && { ok=0; break; }
  done
  [ $ok = 1 ] && { base=$b; break; }
done
[ -n "$base" ] || fail "no free ports"

pgdir="$(psql -X -tA -h 127.0.0.1 -p "$LMS_TEST_PGPORT" -U lms -d postgres -c 'SHOW data_directory')"
jq --argjson b "$base" --arg net "$net" --arg pgdir "$pgdir" --argjson pgport "$LMS_TEST_PGPORT" --arg tag "$$" '
  .cluster.name = "bsmoke\($tag)" | .cluster.secret = "bench-smoke-secret" | .cluster.data_dir = "data"
  | .nodes |= map(select(.join != true)
                  | .host = "127.0.\($net).\(.id)" | .peer_port = $b + .id | .client_port = $b + 5 + .id
                  | .http_port = $b + 10 + .id
                  | .pg = {host: "127.0.0.1", port: $pgport, data_dir: $pgdir,
                           database: "bsmoke\($tag)_n\(.id)"})
  | .tutor.http_port = $b + 16' "$ROOT/config.json" >"$LMS_CONFIG"

bench() { "$BIN/lms-bench" --config "$LMS_CONFIG" "$@"; }

"$ROOT/ops/cluster" up --no-demo --no-tutor >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "ops/cluster up"; }

# usage errors, and only loopback nodes
rc=0; bench --mix bogus:1 >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "--mix bogus:1 exited $rc, not 2"
rc=0; bench --mix submit:1 --duration 1 >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "LMS ops without --password-file exited $rc, not 2"
rc=0; "$BIN/lms-bench" --nodes 10.1.2.3:7201 --kv --duration 1 >/dev/null 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -q loopback "$work/err" || fail "a non-loopback node was not refused (exit $rc): $(cat "$work/err")"
"$BIN/lms-bench" --help | grep -q -- '--failover-trials' || fail "--help does not name --failover-trials"

# check_run FILE OPS...: the run's JSON has exactly these operations, each
# with sane numbers and no errors
check_run() {
  local f="$1"; shift
  local want
  want="$(printf '%s\n' "$@" | sort | jq -R . | jq -sc .)"
  jq -e --argjson want "$want" '
    (.ops | keys) == $want
    and ([.ops[] | select(.count > 0 and .ops_per_s > 0 and .errors == 0
                          and .p50_ms > 0 and .p50_ms <= .p90_ms and .p90_ms <= .p99_ms
                          and .p99_ms <= .max_ms and .min_ms <= .p50_ms)] | length) == ($want | length)
    and .all.count == ([.ops[].count] | add) and .all.errors == 0' "$f" >/dev/null \
    || fail "$f: unexpected output: $(cat "$f")"
}

mix=submit:30,grade:10,read:20,read-stale:10,query:10,kv-put:10,kv-get:5,kv-cas:5
bench --clients 4 --duration 3 --warmup 1 --mix "$mix" \
  --password-file "$work/data/admin-password" --json >"$work/mix.json" 2>"$work/mix.err" \
  || fail "lms-bench mix: $(cat "$work/mix.err")"
check_run "$work/mix.json" submit grade read read-stale query kv-put kv-get kv-cas
jq -e '.clients == 4 and .target == "lms" and .nodes == 5 and .measured_s >= 2.9 and .measured_s <= 3.5' \
  "$work/mix.json" >/dev/null || fail "mix header: $(jq -c 'del(.ops, .all)' "$work/mix.json")"

# the table
bench --kv --clients 2 --duration 1 --warmup 0 >"$work/table.txt" || fail "lms-bench --kv"
grep -q '^op  *count  *errors  *ops/s  *p50 ms  *p90 ms  *p99 ms  *max ms$' "$work/table.txt" \
  || fail "table header: $(cat "$work/table.txt")"
grep -Eq '^kv-put +[1-9][0-9]* +0 ' "$work/table.txt" || fail "table row: $(cat "$work/table.txt")"
grep -Eq '^all +[1-9][0-9]* +0 ' "$work/table.txt" || fail "table total: $(cat "$work/table.txt")"

# one failover trial and a small catch-up, through ops/cluster's pid files
bench --failover-trials 1 --run-dir "$work/data/run" --restart-cmd "'$ROOT/ops/cluster' start {id}" \
  --json >"$work/failover.json" 2>"$work/failover.err" || fail "failover: $(cat "$work/failover.err")"
jq -e '.failover.trials == 1 and .failover.median_ms > 0 and .failover.max_ms < 30000' \
  "$work/failover.json" >/dev/null || fail "failover: $(cat "$work/failover.json")"
bench --catchup 300 --clients 4 --run-dir "$work/data/run" --restart-cmd "'$ROOT/ops/cluster' start {id}" \
  --json >"$work/catchup.json" 2>"$work/catchup.err" || fail "catch-up: $(cat "$work/catchup.err")"
jq -e '.catchup.entries >= 300 and .catchup.behind >= 300 and .catchup.caught_up_ms > 0' \
  "$work/catchup.json" >/dev/null || fail "catch-up: $(cat "$work/catchup.json")"
"$ROOT/ops/cluster" status >/dev/null || fail "a node is not running after the orchestrated runs"

# etcd mode, when etcd is installed: one member on this block
if command -v etcd >/dev/null; then
  h="127.0.$net.20"
  setsid etcd --name smoke --data-dir "$work/etcd" --listen-client-urls "http://$h:$((base + 17))" \
    --advertise-client-urls "http://$h:$((base + 17))" --listen-peer-urls "http://$h:$((base + 18))" \
    --initial-advertise-peer-urls "http://$h:$((base + 18))" --initial-cluster "smoke=http://$h:$((base + 18))" \
    --logger zap --log-outputs stderr --log-level error >"$work/etcd.log" 2>&1 </dev/null &
  etcd_pid=$!
  for _ in $(seq 100); do
    curl -s -m 1 "http://$h:$((base + 17))/health" | grep -q '"health":"true"' && break
    sleep 0.1
  done
  "$BIN/lms-bench" --etcd "http://$h:$((base + 17))" --mix kv-put:3,kv-get:1 --clients 2 --duration 1 \
    --warmup 0 --json >"$work/etcd.json" 2>"$work/etcd.err" || fail "etcd mode: $(cat "$work/etcd.err" "$work/etcd.log")"
  check_run "$work/etcd.json" kv-put kv-get
  jq -e '.target == "etcd"' "$work/etcd.json" >/dev/null || fail "etcd target"
else
  echo "etcd not installed: --etcd not exercised"
fi
echo "bench smoke: ok"
