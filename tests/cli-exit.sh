#!/bin/sh
# cli-exit.sh: memtop exits with the target's status (128 + N when it was
# killed by signal N), and prints the report whatever ended the target:
# a normal exit, SIGKILL, a Ctrl-C (SIGINT to the whole process group, as
# the terminal sends it), or a SIGTERM sent to memtop (forwarded).

. "$top_srcdir/tests/lib/tap.sh"

plan 25

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

# SIGHUP likewise.  The target inherits the disposition memtop was started
# with, and a test run under nohup would start it with SIGHUP ignored: env
# gives memtop the default.
rm -f "$T/ready"
env --default-signal=HUP "$MEMTOP" --report -- "$TARGETS/known" \
    "$T/expect" sleep "$T/ready" >"$T/out" 2>"$T/err" &
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

# A file without a #! line is run by /bin/sh, with its arguments, as
# execvp does; its status passes through.
printf 'echo "script:$1:$2"\nexit 5\n' >"$T/script"
chmod +x "$T/script"
"$MEMTOP" --report -o /dev/null -- "$T/script" a 'b c' >"$T/out" 2>"$T/err"
is $? 5 "a script without #! runs under sh: exit 5"
is "$(cat "$T/out")" "script:a:b c" "and gets its arguments"

# The target starts with memtop's own signal mask and dispositions, not
# those memtop uses meanwhile (SIGINT and SIGQUIT ignored, SIGCHLD, SIGTERM
# and SIGHUP blocked): nothing blocked, SIGINT default or ignored as it was
# for memtop.  /proc/PID/status shows the masks in hexadecimal.
sigmasks() {
	"$PYTHON3" -c '
import os, signal, sys
signal.signal(signal.SIGINT, getattr(signal, sys.argv[1]))
signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.execv(sys.argv[2], sys.argv[2:])' "$1" "$MEMTOP" --report -o /dev/null -- \
	    grep -E '^Sig(Blk|Ign)' /proc/self/status
}
sigmasks SIG_DFL >"$T/out" 2>"$T/err"
is $? 0 "the target reads its signal masks"
is "$(sed -n 's/^SigBlk:[[:space:]]*//p' "$T/out")" 0000000000000000 \
    "the target starts with no signal blocked"
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$T/out")
is "$(( 0x$ign & 2 ))" 0 "SIGINT default for memtop: default for the target"
sigmasks SIG_IGN >"$T/out" 2>"$T/err"
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$T/out")
is "$(( 0x$ign & 2 ))" 2 "SIGINT ignored for memtop: ignored for the target"

tap_done
