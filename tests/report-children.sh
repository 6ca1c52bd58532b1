#!/bin/sh
# report-children.sh: children are not tracked, and the report says so: a
# shell that starts a program (vfork and exec, as dash does), and a target
# that forks without exec.

. "$top_srcdir/tests/lib/tap.sh"

plan 8

REPORT=$T/r.json

# "; exit 0" keeps the shell from exec'ing ls in its own process.
"$MEMTOP" --report=json -o "$REPORT" -- sh -c 'ls / >/dev/null; exit 0' \
    2>"$T/err"
is $? 0 "a shell that starts a program exits 0 under memtop"
check_json "the report counts one untracked program, ls" \
    'r["children"]["programs"] == 1' \
    'r["children"]["first_program"] == "ls"' \
    'r["children"]["first_pid"] != r["pid"]'

"$MEMTOP" --report -o "$T/text" -- sh -c 'ls / >/dev/null; exit 0' 2>"$T/err"
grep -q '1 programs started (first: ls' "$T/text"
ok $? "the text report names the untracked program" || diag_file "$T/text"

# exec in the same process is tracked, not a child.
"$MEMTOP" --report=json -o "$REPORT" -- sh -c 'exec ls / >/dev/null' \
    2>"$T/err"
check_json "a shell that execs its program has no untracked children" \
    'r["children"]["programs"] == 0' 'r["children"]["first_pid"] is None' \
    'r["images"] == 2'

# A fork without exec: python3 forks a child that allocates and exits.
"$MEMTOP" --report=json -o "$REPORT" -- "$PYTHON3" -c '
import os
pid = os.fork()
if pid == 0:
    b = bytearray(1 << 20)
    os._exit(0)
os.waitpid(pid, 0)' 2>"$T/err"
is $? 0 "a target that forks exits 0 under memtop"
check_json "the report counts the fork, and no program" \
    'r["children"]["forked"] == 1' 'r["counts"]["forks"] == 1' \
    'r["children"]["programs"] == 0'

# A program without children says nothing about them.
"$MEMTOP" --report -o "$T/text" -- ls / >/dev/null 2>"$T/err"
! grep -q 'children:' "$T/text"
ok $? "a report without children has no children line" || diag_file "$T/text"
"$MEMTOP" --report=json -o "$REPORT" -- ls / 2>"$T/err" >/dev/null
check_json "and its JSON counts none" 'r["children"]["forked"] == 0' \
    'r["children"]["programs"] == 0'

tap_done
