#!/bin/sh
# core-edge.sh: the corner cases of the allocator API under memtop.
#
# tests/targets/core-edge allocates before main (a constructor), in an
# atexit handler and in a destructor, makes every call that must fail
# (calloc and reallocarray overflow, impossible malloc and realloc, a bad
# alignment), realloc(NULL, n), realloc(p, 0), malloc(0), a malloc big
# enough for glibc to mmap it inside, mappings of every kind (only
# anonymous private ones count), and allocates while a 50 us timer's
# handler allocates too.  It writes what the report must say; the counters
# are exact in every mode, the stacks in exact mode.
#
# tests/targets/core-cxx checks the C++ paths: over-aligned new, a failing
# nothrow new, exceptions, new[]/delete[] of objects, growing containers;
# and a library loaded with dlopen, used and unloaded, whose frames must
# still be named after exit.

. "$top_srcdir/tests/lib/tap.sh"

plan 24

EDGE=$TARGETS/core-edge
CXX=$TARGETS/core-cxx
need "tests/targets/core-edge (make check builds it)" test -x "$EDGE"
need "tests/targets/core-cxx (make check builds it)" test -x "$CXX"

SITES="edge_early edge_zero edge_realloc_null edge_realloc_zero edge_failures edge_big edge_atexit edge_dtor"

for mode in exact sampled; do
	REPORT=$T/$mode.json
	EXPECT=$T/$mode.expect
	if [ $mode = exact ]; then opt=--exact; else opt=; fi
	# A deadlock would hang here: the timeout turns it into a failure.
	timeout 120 "$MEMTOP" $opt --report=json -o "$REPORT" --top 0 -- \
	    "$EDGE" "$EXPECT" >"$T/out" 2>"$T/err"
	ok $? "$mode: exit 0, no deadlock with an allocating signal handler" ||
	    diag_file "$T/err"
	check_json "$mode: the target saw nothing wrong, tracking never stopped" \
	    'e["failed"] == 0' 'r["tracked"]' 'r["disabled_reason"] is None'
	check_json "$mode: allocated at exit is exactly what it kept" \
	    'r["final"]["allocated"] == e["final"]'
	check_json "$mode: only anonymous private mappings count, in pages" \
	    'r["counts"]["mapped_bytes"] - r["counts"]["unmapped_bytes"] == e["mapped_live"]'
done

REPORT=$T/exact.json
EXPECT=$T/exact.expect
for s in $SITES; do
	check_json "exact: $s: live, total and count are exact" \
	    "site('$s')['live_bytes'] == e['sites']['$s']['live']" \
	    "site('$s')['total_bytes'] == e['sites']['$s']['total']" \
	    "site('$s')['allocations'] == e['sites']['$s']['count']"
done
check_json "exact: failed calls are not counted anywhere" \
    "all(s['frames'][0]['function'] != 'edge_failures' or s['allocations'] == 1 for s in r['stacks'])" \
    "len([s for s in r['stacks'] if s['frames'][0]['function'] == 'edge_failures']) == 1"
check_json "exact: the stacks add up to the counters" \
    "sum(s['live_bytes'] for s in r['stacks']) == r['final']['allocated']"

# C++.
REPORT=$T/cxx.json
unset EXPECT
"$MEMTOP" --exact --report=json -o "$REPORT" --top 0 -- "$CXX" \
    >"$T/cxx.out" 2>"$T/cxx.err"
ok $? "C++: exit 0" || diag_file "$T/cxx.err"
LINE=$(cat "$T/cxx.out")
like "$LINE" '^core-cxx: ok [0-9]+$' "C++: the target saw nothing wrong"
ALIGNED=${LINE##* }
check_json "C++: over-aligned new counted exactly ($ALIGNED bytes), freed" \
    "site('cxx_aligned()', file='core-cxx.cc')['total_bytes'] == $ALIGNED" \
    "site('cxx_aligned()', file='core-cxx.cc')['allocations'] == 10" \
    "site('cxx_aligned()', file='core-cxx.cc')['live_bytes'] == 0"
# A failing nothrow new throws and catches bad_alloc inside: only the
# exception object is allocated, never the impossible block.
check_json "C++: a failing nothrow new counts nothing; exceptions and arrays are freed" \
    "all(s['total_bytes'] < 4096 and s['live_bytes'] == 0 for s in stacks('cxx_nothrow()'))" \
    "sum(s['allocations'] for s in stacks('cxx_throw()')) >= 200" \
    "sum(s['live_bytes'] for s in stacks('cxx_throw()')) == 0" \
    "sum(s['live_bytes'] for s in stacks('cxx_arrays()')) == 0" \
    "sum(s['allocations'] for s in stacks('cxx_arrays()')) >= 3"
check_json "C++: a library loaded, used and unloaded is still named" \
    "any(s['frames'][0]['module'].startswith('libz.so') and any(f['function'] == 'compress2' for f in s['frames']) and any(f['function'] == 'cxx_dlopen()' for f in s['frames']) for s in r['stacks'])" \
    "sum(s['live_bytes'] for s in stacks('cxx_dlopen()') if s['frames'][0]['module'].startswith('libz.so')) == 0"
check_json "C++: the stacks add up to the counters (the loader's kept blocks too)" \
    "sum(s['live_bytes'] for s in r['stacks']) == r['final']['allocated']"

tap_done
