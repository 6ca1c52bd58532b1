#!/bin/sh
# report-text.sh: the text report, on the known target and on the demo.

. "$top_srcdir/tests/lib/tap.sh"

plan 13

"$MEMTOP" --exact --report --top 3 -- "$TARGETS/known" "$T/expect" \
    >"$T/out" 2>"$T/err"
is $? 0 "memtop --report exits 0"
out=$(cat "$T/out")
like "$out" '^memtop report: .*/known ' "the command heads the report"
like "$out" 'exit: +status 0' "the exit status"
like "$out" 'mode: +exact' "the mode"
like "$out" 'peak allocated: +[0-9.]+ MiB \([0-9,]+ bytes\) at [0-9.]+ s' \
    "the peak, humanized and exact, and when"
like "$out" 'allocated at exit: ' "allocated at exit"
like "$out" 'peak resident: +[0-9.]+ MiB' "peak resident"
like "$out" 'Top 3 of [0-9]+ stacks by bytes live at the peak' \
    "the top stacks, as many as --top"
line=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sites"]["known_many"]["line"])' "$T/expect")
like "$out" "known_many  .*known.c:$line  known" \
    "a frame shows function, file:line and module"
n=$(grep -c '^  #[0-9]' "$T/out")
is "$n" 3 "three stacks"

# The demo, as the README runs it.
"$MEMTOP" --report -- "$top_builddir/tests/demo" >"$T/demo" 2>"$T/err"
is $? 0 "the demo runs under memtop"
grep -A3 '^  #1 ' "$T/demo" | grep -q make_spike
ok $? "its spike is the top stack at the peak" || diag_file "$T/demo"
# It holds the spike from 2.5 s to 3.5 s after it starts, growing its
# table meanwhile: the peak is within that second (the time a new peak
# reads from the clock, the report's target writing no events).
at=$(sed -n 's/^  peak allocated: .* at \([0-9.]*\) s$/\1/p' "$T/demo")
"$PYTHON3" -c 'import sys; sys.exit(not 2.4 <= float(sys.argv[1]) <= 3.9)' \
    "${at:-0}"
ok $? "the peak's time is while the spike is held (${at:-none} s)" ||
	diag_file "$T/demo"

tap_done
