#!/bin/sh
# timeline-spike.sh: the peak view and the timeline, under tmux.
#
# tests/targets/res-spike holds 8 MiB from the start (res_base), 96 MiB
# from 1 s to 2.5 s (res_spike, the peak), and 32 MiB from 3 s to its end
# at 4 s (res_after).  Once it has exited (the chart's window is then the
# whole run, still), the test checks:
#   - now: res_after is on top, res_spike holds nothing;
#   - P, the peak view: res_spike is on top with its 96 MiB, and the legend
#     names the moment of the peak, within the spike;
#   - [ and {, the cursor moved back to the middle of the spike (1.5 to
#     2 s; the legend says where it is): res_spike on top again, grown by
#     96 MiB over the five seconds before;
#   - m at 0.5 s and the cursor in the spike: the interval view ranks
#     res_spike first by growth, +96 MiB;
#   - m in the spike and the cursor at the end: res_after first (+32 MiB),
#     res_spike last (-96 MiB: what shrank);
#   - . goes back to now.
# The cursor's moments are read back from the legend, so that nothing
# depends on how many columns a second takes on the screen.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 16

# top_row: the first row of the table (the line after the titles).
top_row() {
	sed -n '/ LOCATION/{n;p;q;}' "$SCREEN"
}

# row FUNCTION: the table's row of a function.
row() {
	grep -E "^ +[-0-9.]+[BKMGT]? .* $1 " "$SCREEN" | head -n 1
}

# cursor_at: the cursor's moment in seconds, from the legend ("at 1.75s").
cursor_at() {
	tui_capture >/dev/null
	sed -n 's/.* at \([0-9.]*\)s  window .*/\1/p; s/.*\.\.\([0-9.]*\)s  window .*/\1/p' \
	    "$SCREEN" | head -n 1
}

# move_to LO HI: press [ { ] } until the cursor is between LO and HI s.
move_to() {
	_i=0
	while [ "$_i" -lt 300 ]; do
		_t=$(cursor_at)
		[ -n "$_t" ] || { tui_keys '['; sleep 0.1; _i=$((_i + 1)); continue; }
		if awk -v t="$_t" -v lo="$1" -v hi="$2" 'BEGIN { exit !(t >= lo && t <= hi) }'; then
			return 0
		fi
		_k=$(awk -v t="$_t" -v lo="$1" -v hi="$2" 'BEGIN {
			if (t > hi) print (t - hi > 0.8 ? "{" : "[");
			else print (lo - t > 0.8 ? "}" : "]") }')
		tui_keys "$_k"
		sleep 0.1
		_i=$((_i + 1))
	done
	diag "the cursor did not reach $1..$2 s (last at $_t s)"
	return 1
}

tui_start 120 40
tui_type "$MEMTOP --exact $TARGETS/res-spike; echo rc=\$?"
ok_screen "the run ends, memtop stays" 'pid [0-9]+ +exited 0' 30

# Now.
tui_capture >/dev/null
like "$(top_row)" ' 32\.0M .* res_after ' "now: res_after is on top"
like "$(row res_spike)" '^ +0B ' "now: res_spike holds nothing"

# The peak.
tui_keys P
ok_screen "P: the legend names the peak" 'peak [0-9.]+s  window'
peak=$(sed -n 's/.* peak \([0-9.]*\)s  window .*/\1/p' "$SCREEN" | head -n 1)
awk -v t="$peak" 'BEGIN { exit !(t >= 0.9 && t <= 2.6) }'
ok $? "the peak is within the spike (at $peak s)"
like "$(top_row)" '^ +96\.0M .* res_spike ' \
    "P: res_spike is on top with its 96 MiB"
tui_keys .
ok_screen ". : back to now" ' window whole run'
tui_wait_gone 'peak [0-9.]+s  window' 5
like "$(top_row)" ' 32\.0M .* res_after ' "now again: res_after on top"

# The cursor in the middle of the spike.
move_to 1.5 2.0
ok $? "[ and { move the cursor into the spike (at $(cursor_at) s)"
tui_capture >/dev/null
like "$(top_row)" '^ +96\.0M .* \+96\.0M res_spike ' \
    "at the spike: res_spike on top, grown by 96 MiB"

# An interval from before the spike to the spike: ranked by growth.
tui_keys .
sleep 0.3
move_to 0.3 0.8
tui_keys m
ok_screen "m: the legend shows the interval" '[0-9.]+s\.\.[0-9.]+s  window' 5
move_to 1.5 2.0
ok $? "the cursor moves on into the spike (at $(cursor_at) s)"
tui_capture >/dev/null
like "$(top_row)" ' \+96\.0M res_spike ' \
    "the interval view ranks res_spike first by growth"

# From the spike to the end: what shrank.
tui_keys .
sleep 0.3
move_to 1.5 2.0
tui_keys m
sleep 0.3
move_to 3.6 4.2
tui_capture >/dev/null
like "$(top_row)" ' \+32\.0M res_after ' \
    "from the spike to the end: res_after grew most"
like "$(row res_spike)" ' -96\.0M res_spike ' \
    "and res_spike shrank by 96 MiB"
tui_keys q
ok_screen "q quits" 'rc=0'

tap_done
