#!/bin/sh
# tui-exit.sh: the ways out of the live view.  The exit status passes
# through (the target's, 128 + N for signal N, 0 when it is left running);
# the terminal is restored after a quit, Ctrl-C, SIGTERM, SIGINT and a
# crash of memtop; a target that exits stays on screen, marked, until q.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 34

tui_start 80 24

# The exit status passes through, and the terminal comes back.
tui_type "$MEMTOP --exit-with-target $TARGETS/tui-grow exit 7; echo rc=\$?"
is "$(tui_rc)" 7 "--exit-with-target: memtop exits with the target's status"
terminal_sane "after --exit-with-target"
ok_screen "memtop says where the target's output is" \
    'memtop: target output saved to .*memtop-tui-grow-'

tui_type clear
tui_type "$MEMTOP --exit-with-target -- sh -c 'sleep 0.5; kill -9 \$\$'; echo rc=\$?"
is "$(tui_rc)" 137 "a target killed by SIGKILL: memtop exits 137"

# Without --exit-with-target the final state stays until q.  The target
# makes one allocation of 1 MiB: with a mean of 64 KiB it is sampled but
# for a chance of exp(-16) (at the default 256 KiB, exp(-4), about 2%).
tui_type clear
tui_type "$MEMTOP --sample-bytes 64K $TARGETS/tui-grow exit 3; echo rc=\$?"
ok_screen "a target that exits is marked exited with its status" \
    'pid [0-9]+ +exited 3 '
sleep 1
tui_capture >/dev/null
grep -q 'exited 3' "$SCREEN" && ! grep -q '^rc=' "$SCREEN"
ok $? "memtop stays, showing the final state" || diag_file "$SCREEN"
ok_line "with the allocating function still in the table" 'tui_slow_step' \
    '^ +[0-9.]+[KM]? .*tui_slow_step'
tui_keys q
is "$(tui_rc)" 3 "q after the exit quits at once with the target's status"

# Leave it running.
tui_type clear
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
pid=$(target_pid)
echo "$pid" >>"$T/pids"
tui_keys p
tui_wait 'PAUSED'
tui_keys q
ok_screen "q asks: kill, leave, cancel" 'l +leave it running'
tui_keys Escape
ok_screen "Esc cancels: still there" 'F10Quit' 10
tui_wait_gone 'leave it running' 5
ok $? "the question is gone" || diag_file "$SCREEN"
tui_keys q
tui_wait 'leave it running'
tui_keys l
is "$(tui_rc)" 0 "left running: memtop exits 0"
ok_screen "memtop says which pid runs on and where its output goes" \
    "memtop: left pid $pid running; its output goes to"
kill -0 "$pid"
ok $? "the target is still alive"
wait_state "$pid" '[RS]' 10
ok $? "a paused target left running is resumed (state $(proc_state "$pid"))"
kill "$pid"

# Ctrl-C: the question, and Ctrl-C again kills.
tui_type clear
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
echo "$(target_pid)" >>"$T/pids"
tui_keys C-c
ok_screen "Ctrl-C asks as q does" 'k +kill it'
tui_keys C-c
is "$(tui_rc)" 143 "Ctrl-C twice kills the target: 143"
terminal_sane "after Ctrl-C"

# SIGTERM to memtop goes to the target; memtop follows it out.
tui_type clear
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
echo "$(target_pid)" >>"$T/pids"
kill -TERM "$(memtop_pid)"
is "$(tui_rc)" 143 "SIGTERM to memtop: passed on, memtop exits 143"
terminal_sane "after SIGTERM"

# SIGINT from outside (the tty sends none: it is in raw mode).
tui_type clear
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
echo "$(target_pid)" >>"$T/pids"
kill -INT "$(memtop_pid)"
is "$(tui_rc)" 130 "SIGINT to memtop: passed on, memtop exits 130"

# A crash of memtop restores the terminal; the target goes on.
tui_type clear
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
pid=$(target_pid)
echo "$pid" >>"$T/pids"
kill -SEGV "$(memtop_pid)"
is "$(tui_rc)" 139 "a crash: memtop dies of SIGSEGV"
ok_screen "and says so after restoring the terminal" 'memtop: crashed'
terminal_sane "after a crash"
kill -0 "$pid"
ok $? "the target is still alive after memtop crashed"
out=$(ls -t "$T"/memtop-tui-grow-* 2>/dev/null | head -n 1)
sz1=$(wc -c <"$out")
sleep 1.5
sz2=$(wc -c <"$out")
[ "$sz2" -gt "$sz1" ]
ok $? "and still writes its output to the file ($sz1 -> $sz2 bytes)"
kill "$pid"

tap_done
