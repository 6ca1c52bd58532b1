#!/bin/sh
# core-process.sh: children and exec around a tracked program.
#
# tests/targets/core-fork keeps one block and makes every kind of child:
# fork (the child frees the parent's block in its copy and allocates
# 10 MiB), fork then exec, vfork then exec, posix_spawn, system and popen
# (the exec'd children run the same program and allocate 5 MiB).  None of
# it may show in the parent's numbers: the forked child writes nothing to
# the shared segment, the exec'd ones refuse it (another pid), the
# posix_spawn child calls no allocator before exec.  With "reexec" the
# program execs itself: the report describes the new image only.

. "$top_srcdir/tests/lib/tap.sh"

plan 9

FORK=$TARGETS/core-fork
need "tests/targets/core-fork (make check builds it)" test -x "$FORK"

for mode in exact sampled; do
	REPORT=$T/$mode.json
	EXPECT=$T/$mode.expect
	if [ $mode = exact ]; then opt=--exact; else opt=; fi
	"$MEMTOP" $opt --report=json -o "$REPORT" --top 0 -- \
	    "$FORK" "$EXPECT" >"$T/out" 2>"$T/err"
	ok $? "$mode: every kind of child, exit 0" || diag_file "$T/err"
	check_json "$mode: allocated at exit is the parent's one block, exactly" \
	    'e["failed"] == 0' 'r["final"]["allocated"] == e["final"]'
	check_json "$mode: two forks counted, one image, tracked" \
	    'r["counts"]["forks"] == e["forks"]' 'r["images"] == 1' \
	    'r["tracked"]' 'r["disabled_reason"] is None'
done

REPORT=$T/exact.json
EXPECT=$T/exact.expect
check_json "exact: nothing from a child: no fork_child, fork_leaf or spawn child" \
    "stacks('fork_child') == []" "stacks('fork_leaf') == []" \
    "stacks('__spawni_child') == []" "stacks('__spawnix') == [] or all(s['frames'][0]['function'] != '__spawni_child' for s in stacks('__spawnix'))"

REPORT=$T/reexec.json
EXPECT=$T/reexec.expect
"$MEMTOP" --exact --report=json -o "$REPORT" --top 0 -- \
    "$FORK" reexec "$EXPECT" >"$T/out" 2>"$T/err"
ok $? "reexec: exit 0" || diag_file "$T/err"
check_json "reexec: two images; only the second one's block is left" \
    'r["images"] == 2' 'r["final"]["allocated"] == e["final"]' \
    "stacks('fork_first') == []" \
    "site('fork_second')['live_bytes'] == e['final']"

tap_done
