#!/bin/sh
# tui-screen.sh: what the live view shows at 80x24: the chart's legend
# with the three current values, the header, a known allocating function
# in the table, its frames in the detail pane, and in the call tree both
# ways and found by a search inside a folded node; the target's output
# never on the main screen; quitting.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 21

tui_start 80 24
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"

ok_screen "the header names the command, pid and state" \
    '^memtop .*tui-grow grow .*pid [0-9]+ +running'
echo "$(target_pid)" >>"$T/pids"
ok_screen "the legend shows allocated, resident and swapped with values" \
    '━━ allocated [0-9.]+[BKMGT] +━━ resident [0-9.]+[BKMGT] +━━ swapped [0-9.]+[BKMGT]'
ok_line "the header has each line now and at its peak" '^allocated' \
    '^allocated [0-9.]+[BKMGT] peak [0-9.]+[BKMGT] +resident [0-9.]+[BKMGT] peak [0-9.]+[BKMGT] +swapped [0-9.]+[BKMGT] peak'
ok_screen "the table has its column titles" \
    'LIVE +% +COUNT +PEAK +TOTAL +GROWTH +LOCATION'
ok_screen "the allocating function is in the table, with its file and line" \
    '^ +[0-9.]+[KMG] .* tui_grow_step tui-grow\.c:[0-9]+'
ok_screen "the detail pane shows the selected stack's frames" \
    '^#0 +tui_grow_step .*tui-grow\.c:[0-9]+'
ok_line "the detail pane goes on to the caller" '^#1 ' 'main .*tui-grow\.c'
ok_screen "the function-key bar" 'F1Help +F2Log +F3Search.*F10Quit'
tui_capture >/dev/null
! grep -q 'hello from the target' "$SCREEN"
ok $? "the target's output is not written over the screen" || diag_file "$SCREEN"

# The chart grows as the target does: the y axis top is a size.
ok_line "the chart's y axis is labelled with a size" \
    '^ *[0-9.]+[KMGT]?B?(┤|\+)' '[0-9]'

tui_keys t
ok_screen "t shows the call tree" 'CALL TREE, top-down'
ok_screen "a chain of single calls opens by itself" '▾ __libc_start_main'
# main has more than one child when one of its other allocations (stdout's
# buffer, the new thread's TLS) happens to be sampled, and is then not
# opened by itself (seen once in a distcheck): open everything.
tui_keys Home '*'
ok_screen "top-down, the allocating function is under main" \
    'main tui-grow\.c:[0-9]+'
ok_screen "top-down, the allocating function is in the tree" \
    '^ +[0-9.]+[KMG] .*tui_grow_step tui-grow\.c:[0-9]+'

# Search finds a function inside a folded node and opens the way to it.
tui_keys Home Left
tui_wait_gone 'tui_grow_step tui-grow\.c' 10
ok $? "Left folds the top node: the allocating function is hidden" ||
    diag_file "$SCREEN"
tui_keys /
tui_wait '^Search:' 5
tui_type tui_grow_step
ok_screen "a search opens the folded nodes down to the function it finds" \
    '^ +[0-9.]+[KMG] .*tui_grow_step tui-grow\.c:[0-9]+'
row=$(grep -B1 'F1Help' "$SCREEN" | head -n 1)
like "$row" '^ *tui_grow_step tui-grow\.c' \
    "and selects it: the detail pane's path ends at it"

tui_keys r
ok_screen "r turns it bottom-up" 'CALL TREE, bottom-up'
tui_capture >/dev/null
row=$(grep -A1 'CALL TREE' "$SCREEN" | tail -n 1)
like "$row" 'tui_grow_step tui-grow\.c' \
    "bottom-up, the allocating function is the first node"

tui_keys q
ok_screen "q while the target runs asks what to do" \
    'still running.*|k +kill it'
tui_keys k
is "$(tui_rc)" 143 "k kills the target: memtop exits 128 + SIGTERM"

tap_done
