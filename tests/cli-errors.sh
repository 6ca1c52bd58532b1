#!/bin/sh
# cli-errors.sh: every user error is one line on stderr starting with
# "memtop: ", a non-zero exit, and the target not started.

. "$top_srcdir/tests/lib/tap.sh"

plan 54

# run ARGS...: run memtop, keeping stdout, stderr and the status.
run() {
	"$MEMTOP" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	err=$(cat "$T/err")
	lines=$(wc -l <"$T/err")
}

# bad WANT_RC WHAT ARGS...: memtop refuses with one "memtop: " line.
bad() {
	want=$1
	what=$2
	shift 2
	run "$@"
	is "$rc" "$want" "$what: exit status $want"
	like "$err" '^memtop: ' "$what: one line starting with memtop:"
	is "$lines" 1 "$what: exactly one line" 
}

marker=$T/started
touch_cmd="sh -c 'touch $marker'"

bad 2 "no command" --report
bad 2 "no command after --" --report --
bad 2 "an unknown option" --frobnicate -- true
bad 2 "an unknown short option" -Q true
bad 2 "--sample-bytes 0" --sample-bytes 0 true
bad 2 "--sample-bytes garbage" --sample-bytes lots true
bad 2 "--sample-bytes with an unknown unit" --sample-bytes 12Q true
bad 2 "--sample-bytes negative" --sample-bytes -5 true
bad 2 "--report=xml" --report=xml true
bad 2 "--top not a number" --top many true
bad 2 "--exact with --sample-bytes" --exact --sample-bytes 1M true
bad 127 "a command not found" --report -- memtop-no-such-command-here
bad 127 "a path that does not exist" --report -- ./no/such/file

printf 'echo hi\n' >"$T/notexec"
chmod 644 "$T/notexec"
bad 126 "a file that is not executable" --report -- "$T/notexec"

# An unwritable -o is caught before the target starts.
run --report -o /nonexistent/dir/out.json -- sh -c "touch $marker"
is "$rc" 1 "an unwritable -o file: exit status 1"
like "$err" '^memtop: cannot write /nonexistent/dir/out.json' \
    "an unwritable -o file: says which file"
test ! -e "$marker"
ok $? "an unwritable -o file: the target never started"

# A command that cannot start leaves no empty report behind, and an
# existing file as it was.
run --report -o "$T/new.json" -- memtop-no-such-command-here
test ! -e "$T/new.json"
ok $? "a command not found: no -o file is left behind"
echo keep >"$T/old.json"
run --report -o "$T/old.json" -- memtop-no-such-command-here
is "$(cat "$T/old.json")" keep "a command not found: an existing -o file is untouched"

# The target does not inherit the report's descriptor.
run --report -o "$T/report.txt" -- sh -c "ls -l /proc/\$\$/fd/ >$T/fds"
grep -q report.txt "$T/fds"
ok $((! $?)) "the target does not inherit the -o file" || diag_file "$T/fds"

# Sizes that are right: K, M, G, T are powers of 1024, "KiB" and "KB" too.
for pair in 1.5K:1536 64KiB:65536 2m:2097152 4096:4096 1G:1073741824; do
	run --sample-bytes "${pair%%:*}" --report=json -o "$T/size.json" -- true
	got=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sample_bytes"])' "$T/size.json" 2>&1)
	is "$got" "${pair#*:}" "--sample-bytes ${pair%%:*} is ${pair#*:} bytes"
done

run --help
is "$rc" 0 "--help exits 0"

tap_done
