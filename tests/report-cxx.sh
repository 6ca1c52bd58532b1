#!/bin/sh
# report-cxx.sh: C++ new and new[] reach the tracker through malloc, and
# the report names the C++ function that called new, demangled.

. "$top_srcdir/tests/lib/tap.sh"

plan 6

REPORT=$T/cxx.json
EXPECT=$T/cxx.expect
"$MEMTOP" --exact --report=json -o "$REPORT" --top 0 -- \
    "$TARGETS/known-cxx" "$EXPECT" >"$T/out" 2>"$T/err"
ok $? "memtop exits 0" || diag_file "$T/err"
check_json "the report follows the schema" 'schema()'
check_json "new[] in known::Holder::fill is charged to its line, demangled" \
    "site('known::Holder::fill(unsigned long)', file='known-cxx.cc')['peak_bytes'] == e['fill']['bytes']" \
    "site('known::Holder::fill(unsigned long)', file='known-cxx.cc')['allocations'] == e['fill']['count']" \
    "site('known::Holder::fill(unsigned long)', e['fill']['line'], file='known-cxx.cc')['live_bytes'] == 0"
check_json "plain new in a static function of a namespace" \
    "site('known::make_list(int, unsigned long*, int*)', e['list']['line'], file='known-cxx.cc')['total_bytes'] == e['list']['bytes']" \
    "site('known::make_list(int, unsigned long*, int*)', file='known-cxx.cc')['allocations'] == e['list']['count']"
check_json "operator new is the innermost frame, from libstdc++" \
    "'operator new' in site('known::make_list(int, unsigned long*, int*)', file='known-cxx.cc')['frames'][0]['function']" \
    "site('known::make_list(int, unsigned long*, int*)', file='known-cxx.cc')['frames'][0]['module'].startswith('libstdc++')"
check_json "the object made in main is charged to main" \
    "site('main', e['holder_line'], file='known-cxx.cc')['total_bytes'] == e['holder']"

tap_done
