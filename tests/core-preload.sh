#!/bin/sh
# core-preload.sh: how libmemtop.so attaches, loaded directly with
# LD_PRELOAD (no memtop) and a segment in a file (tests/unit/core-segfile).
#
# Without MEMTOP_FD, with a value that is not a descriptor, a descriptor
# that is not a segment, or a segment meant for another process (a
# descendant that inherited the environment), the program runs untracked
# and the library says nothing.  A segment meant for this process but
# broken stops tracking at once: the program still runs, the reason is in
# the header and on stderr, on one line, once.  A good segment is tracked,
# and its counters match what the program reports.

. "$top_srcdir/tests/lib/tap.sh"

plan 18

LIB=$top_builddir/.libs/libmemtop.so
SEGFILE=$top_builddir/tests/unit/core-segfile
EDGE=$TARGETS/core-edge
need "libmemtop.so (make builds it)" test -f "$LIB"
need "tests/unit/core-segfile (make check builds it)" test -x "$SEGFILE"
need "tests/targets/core-edge (make check builds it)" test -x "$EDGE"

# edge [ENV...]: core-edge preloaded, with ENV; its stderr in $T/err.
edge() {
	rm -f "$T/expect"
	env LD_PRELOAD="$LIB" "$@" "$EDGE" "$T/expect" >"$T/out" 2>"$T/err"
}

edge
ok $? "no MEMTOP_FD: the program runs" || diag_file "$T/err"
is "$(cat "$T/err")" "" "no MEMTOP_FD: not a word on stderr"

for v in abc 99 -1 0; do
	edge MEMTOP_FD=$v </dev/null
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$T/err" ] && grep -q '"failed": 0' "$T/expect"
	ok $? "MEMTOP_FD=$v (not a segment): runs untracked, silently" || {
		diag "exit status $rc"
		diag_file "$T/err"
		diag_file "$T/expect"
	}
done

head -c 1048576 /dev/urandom >"$T/noise"
edge MEMTOP_FD=3 3<>"$T/noise"
[ $? -eq 0 ] && [ ! -s "$T/err" ]
ok $? "a file of random bytes: runs untracked, silently" || diag_file "$T/err"

# Another process's segment (pid 1): refused without a trace.
"$SEGFILE" write "$T/other" 1 none
edge MEMTOP_FD=3 3<>"$T/other"
[ $? -eq 0 ] && [ ! -s "$T/err" ]
ok $? "another process's segment: runs untracked, silently" ||
    diag_file "$T/err"
is "$("$SEGFILE" read "$T/other")" "state 0 generation 0 allocated 0 reason -" \
    "another process's segment is left untouched"

# sh execs env, env execs the program: one pid, known in advance ($$).
# preload FILE DEFECT: run core-edge on a segment for its pid.
preload() {
	rm -f "$T/expect"
	sh -c '"$1" write "$2" $$ "$3" && exec env LD_PRELOAD="$4" \
	    MEMTOP_FD=3 "$5" "$6" 3<>"$2"' sh "$SEGFILE" "$1" "$2" "$LIB" \
	    "$EDGE" "$T/expect" >"$T/out" 2>"$T/err"
}

preload "$T/good" none
ok $? "a good segment: the program runs" || diag_file "$T/err"
is "$(cat "$T/err")" "" "a good segment: nothing on stderr"
final=$(sed -n 's/.*"final": \([0-9]*\).*/\1/p' "$T/expect")
is "$("$SEGFILE" read "$T/good")" \
    "state 5 generation 1 allocated $final reason -" \
    "tracked to the end (attached, exiting), allocated exactly $final"

for defect in overlap frames ring; do
	preload "$T/$defect" $defect
	rc=$?
	[ $rc -eq 0 ] && grep -q '"failed": 0' "$T/expect"
	ok $? "a broken segment ($defect): the program runs to its end" ||
	    diag_file "$T/err"
	r=$("$SEGFILE" read "$T/$defect")
	reason=${r#*reason }
	[ "$(wc -l <"$T/err")" -eq 1 ] &&
	    [ "$(cat "$T/err")" = "memtop: tracking stopped: $reason" ] &&
	    [ "${r%% generation*}" = "state 2" ] && [ "$reason" != "-" ]
	ok $? "a broken segment ($defect): stopped, one line: $reason" || {
		diag "$r"
		diag_file "$T/err"
	}
done

tap_done
