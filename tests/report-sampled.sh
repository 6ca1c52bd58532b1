#!/bin/sh
# report-sampled.sh: sampled mode on the known target.
#
# Totals are exact in every mode.  Per-stack numbers are estimates: a
# block of u usable bytes is sampled with probability P = 1 - exp(-u/M)
# (M the mean bytes between samples) and then stands for u/P bytes and 1/P
# allocations, so over n such blocks the estimate of their bytes has mean
# n*u and variance n*u^2*(1-P)/P (allocations: n*(1-P)/P).  Each bound
# below is 5 standard deviations plus the rounding memtop does (at most
# half a byte, or half a 1/1024th of an allocation, per sample): for a
# normal estimate that fails by chance with probability 5.7e-7.  The
# number of samples is really binomial (close to Poisson, mean 303 with
# 64K, 76 with the default 256K); its exact tails beyond these bounds are
# 9.9e-7 and 2.1e-6, so this whole test (four such checks) fails by
# chance less than once in 10^5 runs.  Blocks much
# larger than M are sampled with probability 1 - exp(-u/M) ~ 1 (the 4 MiB
# block: 1 - e^-64; the 1 MiB mapping: 1 - e^-16, i.e. one run in nine
# million misses it) and are then counted exactly.  Sites with too few
# samples for a normal approximation (100 blocks) are only checked to
# return to zero when freed, which holds exactly in every run.

. "$top_srcdir/tests/lib/tap.sh"

plan 14

M=65536
REPORT=$T/sampled.json
EXPECT=$T/sampled.expect
"$MEMTOP" --sample-bytes 64K --report=json -o "$REPORT" --top 0 -- \
    "$TARGETS/known" "$EXPECT" >"$T/out" 2>"$T/err"
ok $? "memtop exits 0" || diag_file "$T/err"
check_json "the report follows the schema" 'schema()'
check_json "sampled mode, mean 64 KiB" 'r["mode"] == "sampled"' \
    "r['sample_bytes'] == $M" "r['counts']['samples'] > 0"
check_json "totals are exact: peak minus final is what the program held" \
    "r['peak']['allocated'] - r['final']['allocated'] == e['held_at_peak'] - e['live_at_exit']"

s="e['sites']['known_many']"
check_json "known_many: bytes at peak within 5 sigma" \
    "within(site('known_many')['peak_bytes'], $s['peak'], 5 * sigma_bytes($s['size'], $s['count'], $M) + 0.5 * $s['count'])"
check_json "known_many: total bytes within 5 sigma" \
    "within(site('known_many')['total_bytes'], $s['total'], 5 * sigma_bytes($s['size'], $s['count'], $M) + 0.5 * $s['count'])"
check_json "known_many: allocations within 5 sigma" \
    "within(site('known_many')['allocations'], $s['count'], 5 * sigma_count($s['size'], $s['count'], $M) + 1)"
check_json "known_many: freed, so exactly zero live at exit" \
    "site('known_many')['live_bytes'] == 0" \
    "site('known_many')['live_allocations'] == 0"
check_json "known_big (64 means): counted exactly" \
    "site('known_big')['peak_bytes'] == e['sites']['known_big']['peak']" \
    "site('known_big')['allocations'] == 1"
check_json "known_mapped (16 means): counted exactly" \
    "site('known_mapped')['peak_bytes'] == e['sites']['known_mapped']['peak']"
check_json "every site that freed its blocks is back to zero" \
    "all(s['live_bytes'] == 0 for s in stacks('known_small'))" \
    "all(s['live_bytes'] == 0 for s in stacks('known_realloc'))" \
    "site('known_big')['live_bytes'] == 0"

# The default mean, and the same statistics with it.
REPORT=$T/default.json
EXPECT=$T/default.expect
"$MEMTOP" --report=json -o "$REPORT" -- "$TARGETS/known" "$EXPECT" \
    >"$T/out" 2>"$T/err"
ok $? "memtop with the default mean exits 0" || diag_file "$T/err"
M=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sample_bytes"])' "$REPORT")
is "$M" 262144 "the default mean is 256 KiB"
check_json "known_many with the default mean: bytes at peak within 5 sigma" \
    "within(site('known_many')['peak_bytes'], $s['peak'], 5 * sigma_bytes($s['size'], $s['count'], $M) + 0.5 * $s['count'])"

tap_done
