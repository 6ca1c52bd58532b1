#!/bin/sh
# report-break.sh: --break-at in report mode, and a target that execs.
#
# With --break-at SIZE the target stops itself on the allocation that
# brings allocated memory to SIZE; in report mode memtop says so on
# stderr, lets it run on, and the report names the allocation's stack.
# A target that execs (same process, new image) is tracked again from
# zero: the report describes the last image.

. "$top_srcdir/tests/lib/tap.sh"

plan 9

REPORT=$T/r.json
EXPECT=$T/expect

# known holds about 100 KiB before known_many, whose 20,000 blocks of
# about 1 KiB then cross 10 MiB.
"$MEMTOP" --break-at 10M --report=json -o "$REPORT" -- \
    "$TARGETS/known" "$EXPECT" >"$T/out" 2>"$T/err"
is $? 0 "the target runs on after the break: exit 0"
like "$(cat "$T/err")" '^memtop: break: allocated memory reached 10\.0 MiB' \
    "memtop says the break was hit"
check_json "the report has the break" 'r["break"]["threshold"] == 10 << 20' \
    'r["break"]["allocated"] >= 10 << 20' \
    'r["break"]["allocated"] < (10 << 20) + 4096'
check_json "the break's stack is the allocation that crossed" \
    '[s for s in r["stacks"] if s["id"] == r["break"]["stack"]][0]["frames"][0]["function"] == "known_many"'
check_json "the run's numbers are unchanged by the break" \
    "r['peak']['allocated'] - r['final']['allocated'] == e['held_at_peak'] - e['live_at_exit']"

# exec: sh replaces itself with the target.
"$MEMTOP" --exact --report=json -o "$REPORT" -- \
    sh -c 'exec "$0" "$@"' "$TARGETS/known" "$EXPECT" >"$T/out" 2>"$T/err"
is $? 0 "a target that execs: exit 0"
check_json "two images were tracked" 'r["images"] == 2' 'r["tracked"]'
check_json "the report describes the last image, exactly" \
    "site('known_many')['peak_bytes'] == e['sites']['known_many']['peak']" \
    "site('known_kept')['live_bytes'] == e['sites']['known_kept']['live']" \
    "r['peak']['allocated'] - r['final']['allocated'] == e['held_at_peak'] - e['live_at_exit']"
check_json "no stack of the shell is left" \
    "all(any(f['module'] and f['module'].startswith('known') for f in s['frames']) or s['frames'][-1]['module'] != 'dash' for s in r['stacks'])"

tap_done
