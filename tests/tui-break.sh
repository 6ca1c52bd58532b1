#!/bin/sh
# tui-break.sh: break at a spike.  With --break-at, the target stops on
# the allocation that crosses the threshold and memtop shows its stack,
# selected; p resumes it.  The b key arms a break while running.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 15

tui_start 80 24

# The spike target grows 10 MiB slowly, then allocates 64 MiB at once:
# a break at 32M must stop it in tui_spike_alloc.
tui_type "$MEMTOP --break-at 32M $TARGETS/tui-grow spike; echo rc=\$?"
ok_screen "the target stops at the break" 'pid [0-9]+ +PAUSED at break'
pid=$(target_pid)
echo "$pid" >>"$T/pids"
wait_state "$pid" T 10
ok $? "the target is stopped (state T)" || diag "state $(proc_state "$pid")"
ok_screen "memtop says so, with the sizes" \
    'BREAK: allocated [0-9.]+M >= 32\.0M at a 64\.0M allocation'
ok_line "the selected stack's first frame is the spike's function" \
    '^#0 ' 'tui_spike_alloc .*tui-grow\.c:[0-9]+'
ok_line "then its caller" '^#1 ' 'main .*tui-grow\.c:[0-9]+'
ok_line "the stack under the cursor is named in the detail pane" \
    '^Stack [0-9]+:' 'live 64\.0M'
tm capture-pane -p -e -t t >"$T/attrs"
# The selected row is drawn in the cursor's colours (not the default).
# The cursor's colours are black on cyan (46), on that row only.
esc=$(printf '\033')
grep 'tui_spike_alloc tui-grow' "$T/attrs" | grep -q "$esc\[46m" &&
    ! grep 'tui_slow_step tui-grow' "$T/attrs" | grep -q "$esc\[46m"
ok $? "the spike's row is highlighted in the table, the other is not" ||
    diag_file "$T/attrs"

tui_keys p
ok_screen "p resumes the target" 'pid [0-9]+ +running'
wait_state "$pid" '[RS]' 10
ok $? "the target runs again (state $(proc_state "$pid"))"
tui_keys l
ok_screen "it went on past the spike (its output says so)" \
    'tui-grow: after the spike'
tui_keys q
tui_wait 'still running'
tui_keys k
is "$(tui_rc)" 143 "killed at the end"

# The b key: arm a break at 30M while the grow target runs.
tui_type clear
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
pid=$(target_pid)
echo "$pid" >>"$T/pids"
tui_keys b
ok_screen "b asks for a size" 'Break at \(size'
tui_keys C-u
tui_type 30M
ok_screen "the break stops the growing target" 'pid [0-9]+ +PAUSED at break'
tui_capture >/dev/null
ok_line "at the growing function" '^#0 ' 'tui_grow_step .*tui-grow\.c'
tui_keys q
tui_wait 'still running'
tui_keys k
is "$(tui_rc)" 143 "killed at the end"

tap_done
