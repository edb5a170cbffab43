#!/usr/bin/env bash
# tests/raft_unit/purity.sh -- the Raft core stays pure (DESIGN.md "Layers"):
# no libevent or libpq header in raft/*.c|h, and the compiled core library
# calls no clock, no random source, no I/O and no libevent/libpq function.
# Looking at the undefined symbols of the archive catches calls that a grep
# of the source would miss (macros, wrappers).
set -euo pipefail
src="$1"; lib="$2"
fail=0
if grep -n -E '#include <(event2?/|libpq)' "$src"/raft/*.c "$src"/raft/*.h "$src"/raft/include/*.h; then
  echo "FAIL: the core includes a libevent or libpq header" >&2; fail=1
fi
# external symbols only: undefined somewhere, defined in no member
defined="$(nm --defined-only "$lib" | awk 'NF == 3 {print $3}' | sort -u)"
undef="$(nm -u "$lib" | awk 'NF >= 2 {print $NF}' | sort -u | comm -23 - <(echo "$defined"))"
bad="$(echo "$undef" | grep -E '^(time|clock_gettime|gettimeofday|clock|rand|random|srand|srandom|drand48|getrandom|arc4random|read|write|open|fopen|send|recv|socket|connect|sleep|usleep|nanosleep|pthread_.*|event_.*|evbuffer_.*|bufferevent_.*|PQ.*)$' || true)"
if [ -n "$bad" ]; then
  echo "FAIL: the core library calls: $bad" >&2; fail=1
fi
[ $fail -eq 0 ] && echo "raft core is pure: $(echo "$undef" | tr '\n' ' ')"
exit $fail
