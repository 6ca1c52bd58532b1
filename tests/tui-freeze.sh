#!/bin/sh
# tui-freeze.sh: freeze (space) holds the screen still while the target
# grows and memtop keeps collecting; pause (p) stops the target, every
# thread (state T in /proc), and resumes it; a stop or continue from
# outside memtop shows too.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 15

# alloc: the allocated value in the header of the screen in $SCREEN.
alloc() {
	sed -n 's/^allocated \([0-9.]*[BKMGT]\) .*/\1/p' "$SCREEN"
}
# rss PID: VmRSS in kB.
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

tui_start 80 24
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
pid=$(target_pid)
echo "$pid" >>"$T/pids"

# Unfrozen, the screen follows the target.
tui_capture >"$T/a"
tui_wait_gone "^allocated $(alloc) " 20
ok $? "without freeze, the allocated value changes as the target grows" ||
    diag_file "$SCREEN"

tui_keys Space
ok_screen "space freezes: the header says FROZEN" 'pid [0-9]+ +running +FROZEN'
rss1=$(rss "$pid")
tui_capture >"$T/frozen1"
sleep 2
tui_capture >"$T/frozen2"
rss2=$(rss "$pid")
cmp -s "$T/frozen1" "$T/frozen2"
ok $? "frozen, two captures two seconds apart are the same" || {
	diag "first:"; diag_file "$T/frozen1"
	diag "second:"; diag_file "$T/frozen2"
}
[ "$rss2" -gt "$rss1" ]
ok $? "meanwhile the target kept growing (VmRSS $rss1 -> $rss2 kB)"
frozen=$(alloc)

tui_keys Space
ok_screen "space again: live, FROZEN gone" 'pid [0-9]+ +running  '
tui_capture >/dev/null
[ "$(alloc)" != "$frozen" ]
ok $? "live again, the header shows what was collected meanwhile" ||
    diag "allocated $frozen before and after"

# Pause: SIGSTOP to the target, every thread.
tui_keys p
ok_screen "p: the header says PAUSED" 'pid [0-9]+ +PAUSED'
wait_state "$pid" T 10
ok $? "p: the target is stopped (state T)" || diag "state $(proc_state "$pid")"
states=$(for t in /proc/"$pid"/task/*; do proc_state "$pid/task/${t##*/}"; done |
    sort | uniq -c | tr -s ' ')
like "$states" '^ ?2 T$' "p: both of its threads are stopped"
tui_keys p
ok_screen "p again: running" 'pid [0-9]+ +running'
wait_state "$pid" '[RSD]' 10
ok $? "p again: the target runs (state $(proc_state "$pid"))"

# A stop from outside shows as well.
kill -STOP "$pid"
ok_screen "a SIGSTOP from outside shows as PAUSED" 'pid [0-9]+ +PAUSED'
kill -CONT "$pid"
ok_screen "a SIGCONT from outside shows as running" 'pid [0-9]+ +running'

tui_keys q
ok_screen "q asks" 'still running'
tui_keys k
is "$(tui_rc)" 143 "k: killed, memtop exits 143"

tap_done
