#!/bin/sh
# tui-drops.sh: the header's "drops" counts samples that lost their stack
# or were not kept, not events.  The churn under --exact makes six million
# allocations and frees in a fraction of a second, every one a sample: a
# live view whose target wrote events dropped them by the million, and the
# header showed it; nothing the live view shows reads them, and with no
# table full and no unwinding failed there is nothing to report.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 5

CHURN=$top_builddir/tests/bench/churn

tui_start 100 30
tui_type "$MEMTOP --exact $CHURN -t 1 -n 30000000; echo rc=\$?"
ok_screen "the churn runs under the live view" 'pid [0-9]+ +running'
# Line three shows the counts while the target runs.
ok_screen "exact mode, and no samples dropped while it runs" \
    '^exact +stacks [0-9]+ +threads [0-9]+ +drops 0 '
ok_screen "the churn's stack is in the table" 'churn_thread churn\.c:[0-9]+'
ok_screen "the churn runs to its end" 'pid [0-9]+ +exited 0 ' 60
tui_keys q
is "$(tui_rc)" 0 "q quits with the target's status"

tap_done
