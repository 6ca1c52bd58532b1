#!/bin/sh
# resident-touch.sh: resident, swapped and untouched bytes per stack.
#
# tests/targets/res-touch callocs 64 MiB and writes exactly its first half
# (res_half), writes a 16 MiB block whole (res_full), never writes a 24 MiB
# block (res_none) and writes 8192 blocks of 1000 bytes whole (res_small).
# It reads its own /proc/self/pagemap, an independent count of the bytes of
# each site on pages in RAM, in swap and on no page, and then idles, so
# that memtop's scan sees the same pages.
#
# Tolerances: in exact mode memtop must agree with the target's own count
# to the byte, for both ways of reading the page tables (the PAGEMAP_SCAN
# ioctl and the pread fallback, forced with MEMTOP_PAGEMAP=pread) and with
# a budget so small that one pass spans many polls.  The target's count is
# itself checked against the intent: res_half is resident to within one
# page of exactly half (the page holding malloc's header before the block
# is in RAM too, and the page holding the last touched byte is whole);
# res_none has at most one huge page in RAM (the one malloc's header write
# faulted in).  res_read's pages were read, never written: most kernels map
# their zero page there, and memtop must count them untouched; a kernel that
# gives such pages memory of their own makes them resident.  The target says
# which by how much its RssAnon grew while it read them, and memtop's
# resident bytes for res_read must agree with that growth to within the
# huge page holding malloc's header (2 MiB).  In sampled mode the large blocks are sampled with weight 1
# (P = 1 - exp(-16 MiB / 256 KiB) rounds to 1), so they are exact too, and
# the small blocks' resident estimate equals their live estimate to within
# rounding (memtop's live count adds each sample's bytes rounded, the scan
# rounds the sum): one byte per sample, bounded by the estimated count.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/resident-lib.sh"

plan 29

TOUCH=$TARGETS/res-touch
SITES="res_half res_full res_none res_small"

# check_exact NAME: the report of run NAME agrees with the target's count.
check_exact() {
	REPORT=$T/$1/report.json
	EXPECT=$T/$1/expect.json
	_checks=True
	for s in $SITES; do
		_checks="$_checks and site('$s')['live_bytes'] == e['sites']['$s']['usable']"
		_checks="$_checks and site('$s')['resident_bytes'] == e['sites']['$s']['resident']"
		_checks="$_checks and site('$s')['swapped_bytes'] == e['sites']['$s']['swapped']"
		_checks="$_checks and site('$s')['untouched_bytes'] == e['sites']['$s']['untouched']"
	done
	check_json "$1: allocated, resident, swapped and untouched bytes of every site match the target's own count exactly" \
	    "$_checks" \
	    "[(s, site(s)['resident_bytes'], e['sites'][s]['resident']) for s in ('res_half', 'res_full', 'res_none', 'res_small') if site(s)['resident_bytes'] != e['sites'][s]['resident']] == []"
	check_json "$1: res_read's pages, read but never written, are resident only if the kernel gave them memory (the zero page is untouched)" \
	    'site("res_read")["live_bytes"] == e["sites"]["res_read"]["usable"]' \
	    'e["sites"]["res_read"]["rss_growth"] >= 0' \
	    'abs(site("res_read")["resident_bytes"] - e["sites"]["res_read"]["rss_growth"]) <= 2 * 1024 * 1024' \
	    'site("res_read")["untouched_bytes"] == site("res_read")["live_bytes"] - site("res_read")["resident_bytes"]'
	check_json "$1: the scan's totals add up and cover the four sites" \
	    'r["resident_scan"]["resident_bytes"] + r["resident_scan"]["swapped_bytes"] + r["resident_scan"]["untouched_bytes"] == r["resident_scan"]["live_bytes"]' \
	    'r["resident_scan"]["resident_bytes"] >= sum(site(s)["resident_bytes"] for s in ("res_half", "res_full", "res_none", "res_small"))' \
	    'r["resident_scan"]["allocations"] >= 8195'
	check_json "$1: anonymous RSS is reconciled: what allocations do not explain is what is left" \
	    'r["resident_scan"]["rss_anon"] >= r["resident_scan"]["resident_bytes"]' \
	    'r["resident_scan"]["rss_anon_not_heap"] == r["resident_scan"]["rss_anon"] - r["resident_scan"]["resident_bytes"]' \
	    'r["resident_scan"]["vm_swap"] >= r["resident_scan"]["swapped_bytes"]'
	EXPECT=
}

# 1. Exact mode, the ioctl.
res_run "$T/scan" "$MEMTOP" -v --exact --report=json -o report.json \
    --top 0 -- "$TOUCH" "$T/scan/expect.json" "$T/scan/ready" "$T/scan/go"
ok $? "scan: memtop runs the target to its end" || diag_file "$T/scan/err"
REPORT=$T/scan/report.json
check_json "scan: the report follows the schema" 'schema()'
check_json "scan: pages were read with PAGEMAP_SCAN" \
    'r["resident_scan"]["method"] == "PAGEMAP_SCAN"' \
    'r["resident_scan"]["passes"] >= 2' 'r["resident_scan"]["pages"] > 0'
check_exact scan
REPORT=$T/scan/report.json
EXPECT=$T/scan/expect.json
check_json "the target's own count: res_half is resident to one page of exactly half, the rest untouched" \
    'within(e["sites"]["res_half"]["resident"], e["touched"], e["page"])' \
    'e["sites"]["res_half"]["resident"] + e["sites"]["res_half"]["untouched"] == e["sites"]["res_half"]["usable"]'
check_json "the target's own count: res_full and res_small are all resident, res_none at most one huge page" \
    'e["sites"]["res_full"]["resident"] == e["sites"]["res_full"]["usable"]' \
    'e["sites"]["res_small"]["resident"] == e["sites"]["res_small"]["usable"] == 8192 * 1000' \
    'e["sites"]["res_none"]["resident"] <= 2 * 1024 * 1024' \
    'e["sites"]["res_none"]["untouched"] >= e["sites"]["res_none"]["usable"] - 2 * 1024 * 1024'
EXPECT=

# 2. Exact mode, the pread fallback.
MEMTOP_PAGEMAP=pread res_run "$T/pread" "$MEMTOP" -v --exact --report=json \
    -o report.json --top 0 -- "$TOUCH" "$T/pread/expect.json" \
    "$T/pread/ready" "$T/pread/go"
ok $? "pread: memtop runs the target to its end" || diag_file "$T/pread/err"
REPORT=$T/pread/report.json
check_json "pread: pages were read with pread" \
    'r["resident_scan"]["method"] == "pread"'
check_exact pread

# 3. Exact mode, a budget of 20 microseconds a poll: a pass spans polls.
MEMTOP_PAGEMAP_BUDGET=20 res_run "$T/slow" "$MEMTOP" -v --exact \
    --report=json -o report.json --top 0 -- "$TOUCH" "$T/slow/expect.json" \
    "$T/slow/ready" "$T/slow/go"
ok $? "small budget: memtop runs the target to its end" ||
    diag_file "$T/slow/err"
REPORT=$T/slow/report.json
check_json "small budget: the last pass spanned several polls" \
    'r["resident_scan"]["polls"] > 1'
check_exact slow

# 4. Sampled mode (the default mean, 256 KiB).
res_run "$T/sampled" "$MEMTOP" -v --report=json -o report.json --top 0 -- \
    "$TOUCH" "$T/sampled/expect.json" "$T/sampled/ready" "$T/sampled/go"
ok $? "sampled: memtop runs the target to its end" ||
    diag_file "$T/sampled/err"
REPORT=$T/sampled/report.json
EXPECT=$T/sampled/expect.json
check_json "sampled: the large blocks (weight 1) are exact" \
    'site("res_half")["resident_bytes"] == e["sites"]["res_half"]["resident"]' \
    'site("res_half")["untouched_bytes"] == e["sites"]["res_half"]["untouched"]' \
    'site("res_full")["resident_bytes"] == e["sites"]["res_full"]["resident"]' \
    'site("res_none")["untouched_bytes"] == e["sites"]["res_none"]["untouched"]'
check_json "sampled: the small blocks' resident estimate is their live estimate, none untouched" \
    'within(site("res_small")["resident_bytes"], site("res_small")["live_bytes"], site("res_small")["live_allocations"])' \
    'site("res_small")["untouched_bytes"] <= 1' \
    'site("res_small")["swapped_bytes"] == 0'
EXPECT=

# 5. The text report says the same.
res_run "$T/text" "$MEMTOP" -v --exact --report -o report.txt --top 4 -- \
    "$TOUCH" "$T/text/expect.json" "$T/text/ready" "$T/text/go"
ok $? "text: memtop runs the target to its end" || diag_file "$T/text/err"
out=$(cat "$T/text/report.txt")
like "$out" 'resident by stack: +from the last scan at [0-9.]+ s \([0-9]+ passes, PAGEMAP_SCAN\): of [0-9.]+ MiB live in allocations, [0-9.]+ MiB resident, 0 B swapped, [0-9.]+ MiB never touched' \
    "text: the scan line"
like "$out" 'anonymous RSS: +[0-9.]+ MiB, of which allocations explain [0-9.]+ MiB; [0-9.]+ [KM]iB is not heap' \
    "text: the reconciliation with anonymous RSS"
like "$out" 'swap \(VmSwap\): +0 B, of which allocations explain 0 B' \
    "text: the reconciliation with swap"
half=$(grep -A1 'res_half' "$T/text/report.txt" | head -n 1)
grep -B2 '      res_half' "$T/text/report.txt" >"$T/text/half"
like "$(cat "$T/text/half")" 'at the last scan: resident 32\.0 MiB, swapped 0 B, never touched 32\.0 MiB' \
    "text: res_half's line: half resident, half never touched"

tap_done
