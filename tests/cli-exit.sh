#!/bin/sh
# cli-exit.sh: memtop exits with the target's status (128 + N when it was
# killed by signal N), and prints the report whatever ended the target:
# a normal exit, SIGKILL, a Ctrl-C (SIGINT to the whole process group, as
# the terminal sends it), or a SIGTERM sent to memtop (forwarded).

. "$top_srcdir/tests/lib/tap.sh"

plan 19

REPORT=$T/r.json

"$MEMTOP" --report=json -o "$REPORT" -- sh -c 'exit 3' 2>"$T/err"
is $? 3 "exit 3 passes through"
check_json "the report says exit status 3" 'r["exit_status"] == 3' \
    'r["exit_signal"] is None'

# A report sent to a device (here /dev/null) is written, not truncated.
"$MEMTOP" --report -o /dev/null -- sh -c 'exit 4' 2>"$T/err"
is $? 4 "a report to /dev/null keeps the exit status"
[ ! -s "$T/err" ]
ok $? "a report to /dev/null says nothing on stderr" || diag_file "$T/err"

"$MEMTOP" --report=json -o "$REPORT" -- sh -c 'kill -KILL $$' 2>"$T/err"
is $? 137 "killed by SIGKILL gives 137"
check_json "the report says killed by signal 9" 'r["exit_status"] == 137' \
    'r["exit_signal"] == 9'

"$MEMTOP" --report -- sh -c 'kill -SEGV $$' >"$T/out" 2>"$T/err"
is $? 139 "killed by SIGSEGV gives 139"
grep -q 'killed by signal 11' "$T/out"
ok $? "the text report says killed by signal 11" || diag_file "$T/out"

# wait_for FILE: wait (up to 20 s) until FILE exists.
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# Ctrl-C: SIGINT to the process group of memtop and the target, as a
# terminal sends it.  A background job of a shell script starts with SIGINT
# ignored (and sh cannot undo that), so python3 restores the default and
# makes the new process group, as an interactive shell would.
"$PYTHON3" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$MEMTOP" --exact --report=json -o "$REPORT" -- \
    "$TARGETS/known" "$T/expect" sleep "$T/ready" >"$T/out" 2>"$T/err" &
pid=$!
wait_for "$T/ready"
ok $? "the target is running" || diag_file "$T/err"
is "$(ps -o pgid= -p "$pid" | tr -d ' ')" "$pid" "memtop leads its own process group"
kill -INT -"$pid"
wait "$pid"
is $? 130 "Ctrl-C ends the target and memtop exits 130"
check_json "the report is written after Ctrl-C" 'r["exit_signal"] == 2' \
    'r["tracked"]' 'site("known_kept")["live_bytes"] > 0'

# SIGTERM to memtop alone is forwarded to the target.
rm -f "$T/ready"
"$MEMTOP" --report=json -o "$REPORT" -- \
    "$TARGETS/known" "$T/expect" sleep "$T/ready" >"$T/out" 2>"$T/err" &
pid=$!
wait_for "$T/ready"
ok $? "the target is running again" || diag_file "$T/err"
kill -TERM "$pid"
wait "$pid"
is $? 143 "SIGTERM to memtop reaches the target: exit 143"
check_json "the report is written after SIGTERM" 'r["exit_signal"] == 15'

# SIGHUP likewise.
rm -f "$T/ready"
"$MEMTOP" --report -- "$TARGETS/known" "$T/expect" sleep "$T/ready" \
    >"$T/out" 2>"$T/err" &
pid=$!
wait_for "$T/ready"
kill -HUP "$pid"
wait "$pid"
is $? 129 "SIGHUP to memtop reaches the target: exit 129"
grep -q 'peak allocated' "$T/out"
ok $? "the text report is printed after SIGHUP" || diag_file "$T/out"

# A target that exits before memtop's first poll still gets a report.
"$MEMTOP" --report=json -o "$REPORT" -- true 2>"$T/err"
is $? 0 "a target that ends at once: exit 0"
check_json "its report has resident memory from rusage" \
    'r["peak"]["resident"] > 0' 'r["tracked"]'

tap_done
