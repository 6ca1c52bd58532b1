#!/bin/sh
# tui-table.sh: working the stacks table: sorting by a column (keys and a
# click on its title), search (/, n, and a miss), the stack view (Enter),
# a click and the wheel, the chart's zoom, the refresh interval, and the
# chart's ASCII fallback outside a UTF-8 locale.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 21

# mouse BUTTON X Y: an X10 mouse report (what TERM=screen asks for) at
# column X, line Y (from 0); BUTTON 0 is the first button (pressed, then
# released), 64 the wheel up.
mouse() {
	tm send-keys -t t -l "$(printf '\033[M%b%b%b' \
	    "\\$(printf %o $((32 + $1)))" "\\$(printf %o $((33 + $2)))" \
	    "\\$(printf %o $((33 + $3)))")"
	[ "$1" -eq 0 ] || return 0
	tm send-keys -t t -l "$(printf '\033[M#%b%b' \
	    "\\$(printf %o $((33 + $2)))" "\\$(printf %o $((33 + $3)))")"
}
# first_row: the first row under the table's titles.
first_row() {
	grep -A1 'LOCATION' "$SCREEN" | tail -n 1
}
# line_of PATTERN: the screen line of the first row matching, or 999.
line_of() {
	n=$(grep -n -- "$1" "$SCREEN" | head -n 1 | cut -d: -f1)
	echo "${n:-999}"
}

# The spike target: tui_spike_alloc holds 64 MiB in one block,
# tui_slow_step 10 MiB in ten.
tui_start 80 24
tui_type "$MEMTOP $TARGETS/tui-grow spike; echo rc=\$?"
ok_screen "both stacks are in the table" 'tui_slow_step'
tui_wait 'tui_spike_alloc'
echo "$(target_pid)" >>"$T/pids"
like "$(first_row)" 'tui_spike_alloc' "sorted by LIVE, the spike comes first"

# Sorting: > until COUNT, where the ten blocks win.
n=0
while [ "$n" -lt 12 ] && ! grep -q 'sorted by COUNT' "$SCREEN"; do
	tui_keys '>'
	sleep 0.2
	tui_capture >/dev/null
	n=$((n + 1))
done
ok_screen "> steps through the columns to COUNT" 'sorted by COUNT'
tui_capture >/dev/null
# The ten blocks above the one (the second thread's 1000-byte block, when
# a sample catches it, counts for 262 blocks until its free: it may lead).
ten=$(line_of tui_slow_step)
one=$(line_of tui_spike_alloc)
[ "$ten" -lt "$one" ] && [ "$one" -lt 999 ]
ok $? "sorted by COUNT, the ten blocks come before the one" ||
	diag "tui_slow_step on line $ten, tui_spike_alloc on line $one"
# A click on the LIVE title sorts by LIVE again.
y=$(grep -n 'LOCATION' "$SCREEN" | head -n 1 | cut -d: -f1)
mouse 0 4 $((y - 1))
ok_screen "a click on the LIVE title sorts by it" 'sorted by LIVE'
tui_capture >/dev/null
like "$(first_row)" 'tui_spike_alloc' "the spike is first again"

# Search.
tui_keys /
ok_screen "/ opens the search prompt" '^Search:'
tui_type slow
ok_screen "the search finds the stack: its frames in the detail pane" \
    '^#0 +tui_slow_step'
tui_keys n
ok_screen "n wraps around to the only match" '^#0 +tui_slow_step'
tui_keys /
tui_type nosuchfunction
ok_screen "a search that finds nothing says so" 'not found: nosuchfunction'

# Every frame of the selected stack.
tui_keys Enter
ok_screen "Enter shows every frame of the stack" \
    '^Stack [0-9]+, innermost frame first'
ok_screen "from the innermost" '^#0 +tui_slow_step .*tui-grow\.c'
ok_screen "to the outermost" '^#4 +_start'
tui_keys Escape
ok_screen "Esc goes back to the table" 'LOCATION'

# The mouse: a click on the row not selected selects it, the wheel up
# goes back to the first.
tui_keys g
sleep 0.5
tui_capture >/dev/null
sel=$(sed -n 's/^#0 *\(tui_[a-z_]*\) .*/\1/p' "$SCREEN")
if [ "$sel" = tui_spike_alloc ]; then other=tui_slow_step; else other=tui_spike_alloc; fi
y=$(grep -n "$other tui-grow" "$SCREEN" | head -n 1 | cut -d: -f1)
mouse 0 10 $((y - 1))
ok_screen "a click on a row selects it" "^#0 +$other"
mouse 64 10 $((y - 1))
ok_screen "the wheel up moves the cursor up" "^#0 +$sel"

# The chart's window: zoom in (once the run is longer than 10 seconds)
# down to 10 seconds, then out to the whole run.
tui_wait 'running  (1[1-9]\.[0-9]s|[0-9]+:[0-9]+) ' 30
n=0
until grep -q 'window 10s' "$SCREEN" || [ "$n" -ge 15 ]; do
	tui_keys +
	sleep 0.2
	tui_capture >/dev/null
	n=$((n + 1))
done
ok_screen "+ zooms the chart in, down to the last 10 seconds" 'window 10s'
n=0
until grep -q 'window whole run' "$SCREEN" || [ "$n" -ge 15 ]; do
	tui_keys -
	sleep 0.2
	tui_capture >/dev/null
	n=$((n + 1))
done
ok_screen "- zooms out, up to the whole run" 'window whole run'

# The refresh interval.
tui_keys d
tui_wait 'Refresh every'
tui_keys C-u
tui_type 0.5
ok_screen "d sets the refresh interval" 'refresh every 0\.5 s'
tui_keys q
tui_wait 'still running'
tui_keys k
tui_rc >/dev/null

# Outside a UTF-8 locale: the ASCII chart.
tui_type clear
tui_type "LC_ALL=C LANG=C $MEMTOP $TARGETS/tui-grow spike; echo rc=\$?"
ok_screen "in the C locale, the legend marks are ASCII" \
    '\*\* allocated .* \+\+ resident .* xx swapped'
tui_wait 'tui_spike_alloc'
echo "$(target_pid)" >>"$T/pids"
# Braille is U+2800 to U+28FF: in UTF-8, 0xe2 then 0xa0 to 0xa3.
braille=$(printf '\342[\240-\243]')
! LC_ALL=C grep -q "$braille" "$SCREEN" &&
    grep -Eq '^ *[0-9.]*[KMGT]?[+|].*\*' "$SCREEN"
ok $? "the plot is drawn with ASCII characters, no braille" ||
    diag_file "$SCREEN"
tui_keys q
tui_wait 'still running'
tui_keys k
tui_rc >/dev/null

tap_done
