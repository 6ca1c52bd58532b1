#!/bin/sh
# tui-log.sh: the target's output goes to a capture file, never to the
# screen; the log view shows it (stdout and stderr, escape sequences
# removed); its stdin is /dev/null unless --stdin FILE; --capture FILE
# names the file; the path is printed on exit.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 15

tui_start 80 24
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
pid=$(target_pid)
echo "$pid" >>"$T/pids"
tui_capture >/dev/null
! grep -q 'hello from the target' "$SCREEN"
ok $? "the main screen does not show the target's output"
tui_keys l
ok_screen "l: the log view, with the capture file's name" \
    '^Target output: .*memtop-tui-grow-'
ok_screen "it shows what the target wrote to stdout" \
    '^tui-grow: hello from the target$'
ok_screen "and to stderr" '^tui-grow: a line on stderr$'
ok_screen "and follows what it writes next" '^tui-grow: step 40$'
tui_keys Escape
ok_screen "Esc: back to the table" 'LOCATION'
readlink "/proc/$pid/fd/0" >"$T/stdin"
is "$(cat "$T/stdin")" /dev/null "the target's stdin is /dev/null"
ps -o tty= -p "$pid" >"$T/tty"
is "$(tr -d ' ' <"$T/tty")" "?" "the target has no controlling terminal"
tui_keys q
tui_wait 'still running'
tui_keys k
tui_rc >/dev/null
ok_screen "on exit memtop names the file" \
    '^memtop: target output saved to .*/memtop-tui-grow-'
f=$(sed -n 's/^memtop: target output saved to //p' "$SCREEN" | tail -n 1)
grep -q 'hello from the target' "$f" 2>/dev/null
ok $? "and the file has the output" || diag "file: $f"

# --stdin and --capture; escape sequences are not passed to the screen.
printf 'line one from stdin\n\033[31mred\033[0m and \033]0;title\007plain\n' \
    >"$T/input"
tui_type clear
tui_type "$MEMTOP --stdin $T/input --capture $T/out.log $TARGETS/tui-grow echo; echo rc=\$?"
tui_wait 'pid [0-9]+ +running' 10
echo "$(target_pid)" >>"$T/pids"
tui_keys l
ok_screen "--stdin: the target read the file" '^line one from stdin$'
ok_screen "escape sequences are removed" '^red and plain$'
ok_screen "the log view names the --capture file" "Target output: $T/out.log"
tui_keys q
tui_wait 'still running'
tui_keys k
tui_rc >/dev/null
grep -q 'line one from stdin' "$T/out.log"
ok $? "--capture: the output is in the file"
ok_screen "and memtop names it" "target output saved to $T/out.log"

tap_done
