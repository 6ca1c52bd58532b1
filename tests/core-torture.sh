#!/bin/sh
# core-torture.sh: tests/targets/torture under memtop, exact and sampled.
#
# torture runs waves of threads through every allocator at once (threads
# starting and exiting meanwhile, a fork in a thread, realloc chains,
# aligned and zero-size allocations, partial munmap, mremap) and frees and
# unmaps everything it made.  It prints its own ledger: how many blocks the
# malloc family gave it and the sum of their usable sizes.
#
# Exact mode must agree with the ledger to the byte for the stacks whose
# innermost frame is torture_heap, find none of them left at exit, and its
# per-stack aggregates must add up to the exact counters (what libc keeps,
# stdio's buffer and the cached threads' TLS blocks, included).  Sampled
# mode must estimate the ledger within 5 standard deviations: an
# allocation of S bytes sampled with mean R contributes S^2 (1-P)/P <= S R
# to the variance, so sigma <= sqrt(R B) for B bytes in all; a correct
# tracker fails that check with probability below 1e-6.

. "$top_srcdir/tests/lib/tap.sh"

plan 18

TORTURE=$TARGETS/torture
need "tests/targets/torture (make check builds it)" test -x "$TORTURE"

# run MODE-ARGS...: memtop on torture, the report in $REPORT, its line in $LINE.
run() {
	REPORT=$T/report.json
	"$MEMTOP" "$@" --report=json -o "$REPORT" --top 0 -- \
	    "$TORTURE" -t 8 -w 3 -n 20000 >"$T/out" 2>"$T/err"
	rc=$?
	LINE=$(grep '^torture:' "$T/out")
	ALLOCS=$(echo "$LINE" | sed -n 's/.* allocs \([0-9]*\) .*/\1/p')
	BYTES=$(echo "$LINE" | sed -n 's/.* bytes \([0-9]*\) .*/\1/p')
	FORKS=$(echo "$LINE" | sed -n 's/.* forks \([0-9]*\)$/\1/p')
	return $rc
}

OWN="[s for s in r['stacks'] if s['frames'] and s['frames'][0]['function'] == 'torture_heap']"

run --exact
ok $? "exact: memtop and torture exit 0" || diag_file "$T/err"
like "$LINE" '^torture: ok ' "exact: torture found nothing wrong"
check_json "exact: tracked to the end, nothing dropped from the tables" \
    'r["tracked"]' 'r["disabled_reason"] is None' \
    'r["drops"]["stack_table_full"] == 0' \
    'r["drops"]["live_table_full"] == 0' \
    'r["drops"]["unwind_failures"] == 0'
# A million events a run when written: the report reads none, so the
# target is told to write none, and none can be dropped.
check_json "exact: the report's target writes no events (none dropped)" \
    'r["drops"]["events"] == 0'
check_json "exact: torture_heap's stacks total its ledger ($ALLOCS blocks, $BYTES bytes)" \
    "sum(s['total_bytes'] for s in $OWN) == $BYTES" \
    "sum(s['allocations'] for s in $OWN) == $ALLOCS"
check_json "exact: nothing torture allocated is left" \
    "sum(s['live_bytes'] for s in $OWN) == 0"
check_json "exact: the stacks add up to the counters, to the byte" \
    "sum(s['live_bytes'] for s in r['stacks']) == r['final']['allocated']" \
    "r['counts']['allocated_bytes'] - r['counts']['freed_bytes'] + r['counts']['mapped_bytes'] - r['counts']['unmapped_bytes'] == r['final']['allocated']"
check_json "exact: every mapping made was unmapped" \
    "r['counts']['mmaps'] > 0" \
    "r['counts']['mapped_bytes'] == r['counts']['unmapped_bytes']"
check_json "exact: what is left is libc's, and small" \
    "0 <= r['final']['allocated'] < 65536"
check_json "exact: the forks were counted ($FORKS)" \
    "r['counts']['forks'] == $FORKS" "$FORKS > 0"

run --sample-bytes 64K
ok $? "sampled: memtop and torture exit 0" || diag_file "$T/err"
like "$LINE" '^torture: ok ' "sampled: torture found nothing wrong"
check_json "sampled: torture_heap's total bytes within 5 sigma of its ledger" \
    "within(sum(s['total_bytes'] for s in $OWN), $BYTES, 5 * (65536 * $BYTES) ** 0.5 + r['counts']['samples'])"
check_json "sampled: the live estimate of what torture left is zero" \
    "sum(s['live_bytes'] for s in $OWN) == 0"
check_json "sampled: counters balance: mappings, and only libc is left" \
    "r['counts']['mapped_bytes'] == r['counts']['unmapped_bytes']" \
    "0 <= r['final']['allocated'] < 65536" \
    "r['counts']['forks'] == $FORKS"

# The start of torture, where a second thread first allocates while the
# main thread is busy allocating, again and again in exact mode: each run's
# stacks must still match its ledger and add up to its counters (solo mode
# handing over to two threads; with two threads both skipping the locks the
# live table breaks, and runs fail or hang, which the timeout turns into a
# failure).
# run_small: one short exact run; 0 when its stacks match its ledger.
run_small() {
	REPORT=$T/small.json
	timeout 60 "$MEMTOP" --exact --report=json -o "$REPORT" \
	    --top 0 -- "$TORTURE" -t 3 -w 1 -n 3000 >"$T/out" \
	    2>"$T/err" || return 1
	LINE=$(grep '^torture: ok' "$T/out") || return 1
	ALLOCS=$(echo "$LINE" | sed -n 's/.* allocs \([0-9]*\) .*/\1/p')
	BYTES=$(echo "$LINE" | sed -n 's/.* bytes \([0-9]*\) .*/\1/p')
	python3 - "$REPORT" "$ALLOCS" "$BYTES" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
own = [s for s in r["stacks"] if s["frames"] and s["frames"][0]["function"] == "torture_heap"]
ok = (sum(s["total_bytes"] for s in own) == int(sys.argv[3]) and
      sum(s["allocations"] for s in own) == int(sys.argv[2]) and
      sum(s["live_bytes"] for s in own) == 0 and
      sum(s["live_bytes"] for s in r["stacks"]) == r["final"]["allocated"])
sys.exit(0 if ok else 1)
EOF
}

bad=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	run_small || { bad=$((bad + 1)); cp "$REPORT" "$T/bad-$i.json" 2>/dev/null; }
done
is "$bad" 0 "exact, 12 short runs: the second thread's start never loses a count"

# The default mode, more threads than cores, a longer run.
"$MEMTOP" --report=json -o "$T/default.json" -- "$TORTURE" -t 24 -w 4 \
    -n 10000 >"$T/out" 2>"$T/err"
ok $? "default mode, 96 threads: exit 0" || diag_file "$T/err"
REPORT=$T/default.json
check_json "default mode: counters balance" \
    "r['counts']['mapped_bytes'] == r['counts']['unmapped_bytes']" \
    "0 <= r['final']['allocated'] < 262144"

tap_done
