#!/bin/sh
# report-inline.sh: one return address, three functions (two inlined):
# the report shows each, innermost first, at its own line.

. "$top_srcdir/tests/lib/tap.sh"

plan 5

REPORT=$T/r.json
EXPECT=$T/expect
"$MEMTOP" --exact --report=json -o "$REPORT" -- \
    "$TARGETS/known-inline" "$EXPECT" >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0" || diag_file "$T/err"
check_json "the report follows the schema" 'schema()'
check_json "inner, middle, outer, main: names, lines, inlined marks" \
    "[(f['function'], f['line'], f['inlined']) for f in site('inner_alloc', file='known-inline.c')['frames'][:4]] == [('inner_alloc', e['inner'], True), ('middle_alloc', e['middle'], True), ('outer_site', e['outer'], False), ('main', e['main'], False)]"
check_json "the three share one address, and the bytes are exact" \
    "len(set(f['address'] for f in site('inner_alloc', file='known-inline.c')['frames'][:3])) == 1" \
    "site('inner_alloc', file='known-inline.c')['total_bytes'] == e['bytes']"
check_json "a function of the program's own called start_thread keeps its file and line" \
    "site('start_thread', file='known-inline.c')['frames'][0]['line'] == e['start']"

tap_done
