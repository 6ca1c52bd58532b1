#!/bin/sh
# tui-size.sh: screen sizes.  A terminal too small at the start is a user
# error (one line, exit 1, nothing started); one that becomes too small
# shows a message and memtop keeps running; a resize redraws for the new
# size; 300x100 works.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 14

tui_start 50 12
tui_type "$MEMTOP -- sh -c 'touch $T/started' 2>$T/err; echo rc=\$?"
is "$(tui_rc)" 1 "too small at the start: exit 1"
is "$(wc -l <"$T/err")" 1 "one line on stderr"
like "$(cat "$T/err")" \
    '^memtop: the terminal is 50x12, the live view needs at least 60x16' \
    "it says what size it needs"
test ! -e "$T/started"
ok $? "the target was not started"

tui_start 80 24
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
ok_screen "it starts at 80x24" 'tui_grow_step'
pid=$(target_pid)
echo "$pid" >>"$T/pids"

tm resize-window -t t -x 40 -y 10
ok_screen "shrunk to 40x10, it says it needs more room" \
    '^memtop needs at least 60x16'
ok_screen "and what it has" 'now 40x10'
tm resize-window -t t -x 12 -y 3
sleep 0.5
tm resize-window -t t -x 1 -y 1
sleep 0.5
kill -0 "$(memtop_pid)" 2>/dev/null
ok $? "memtop survives 12x3 and 1x1"

tm resize-window -t t -x 120 -y 40
ok_screen "grown to 120x40, it draws again" \
    'LIVE +% +RES +SWAP +COUNT +PEAK +TOTAL +ALLOCS +GROWTH +LOCATION'
ok_line "the function-key bar is on the last line" 'F10Quit' '^F1Help'
[ "$(tail -n 1 "$SCREEN" | grep -c F10Quit)" -eq 1 ]
ok $? "at the bottom of 40 lines" || diag_file "$SCREEN"

tm resize-window -t t -x 300 -y 100
n=100
while [ "$n" -gt 0 ]; do
	tui_capture >/dev/null
	[ "$(wc -l <"$SCREEN")" -eq 100 ] && tail -n 1 "$SCREEN" |
	    grep -q '^F1Help.*F10Quit' && break
	sleep 0.1
	n=$((n - 1))
done
[ "$n" -gt 0 ]
ok $? "at 300x100: the bar on line 100" || diag_file "$SCREEN"
ok_screen "at 300x100: the legend" \
    '━━ allocated [0-9.]+[BKMGT] +━━ resident [0-9.]+[BKMGT] +━━ swapped'
ok_screen "at 300x100: the table" 'tui_grow_step tui-grow\.c'

tap_done
