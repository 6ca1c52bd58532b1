#!/bin/sh
# resident-tui.sh: the live view's RES and SWAP columns and the header's
# reconciliation, under tmux, on tests/targets/res-touch (a 64 MiB calloc
# with its first half written, a 16 MiB block written whole, a 24 MiB block
# never written; see resident-touch.sh for the exact numbers).  In exact
# mode the table must show res_half with 64.0M live and 32.0M resident,
# res_full all resident, res_none next to nothing resident, none of them
# swapped; the header, how much of the anonymous RSS the heap explains.
# The target frees res_full before it exits: after that, the row shows
# nothing live and nothing resident (not the last scan's 16 MiB).

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 7

tui_start 120 40
tui_type "$MEMTOP --exact $TARGETS/res-touch $T/expect.json $T/ready $T/go free; echo rc=\$?"
ok_screen "the table has RES and SWAP columns" \
    'LIVE +% +RES +SWAP +COUNT .* LOCATION' 30
ok_screen "res_half: 64 MiB live, 32 MiB resident, none swapped" \
    '^ +64\.0M +[0-9.]+ +32\.0M +0B .* res_half ' 60
# Every block is written once the target says ready; a scan pass may have
# caught res_full half written before that, so wait for a later one.
_n=300
while [ ! -e "$T/ready" ] && [ "$_n" -gt 0 ]; do
	sleep 0.1
	_n=$((_n - 1))
done
ok_screen "res_full: all of its 16 MiB resident" \
    '^ +16\.0M +[0-9.]+ +16\.0M +0B .* res_full ' 30
ok_line "res_none: 24 MiB live, under 2 MiB resident" ' res_none ' \
    '^ +24\.0M +[0-9.]+ +([0-9.]+[BK]|[01]\.[0-9]+M) +0B '
ok_line "the header reconciles the heap with the anonymous RSS" '^allocated ' \
    ' heap [0-9.]+[BKMG] of [0-9.]+[BKMG] anon RSS'
touch "$T/go"
tui_wait 'exited 0' 30
ok_screen "a block freed before the exit is neither live nor resident" \
    '^ +0B +[0-9.]+ +0B +0B .* res_full ' 10
tui_keys q
ok_screen "q quits" 'rc=0'

tap_done
