#!/bin/sh
# report-exact.sh: memtop --exact on targets with known allocations.
#
# tests/targets/known allocates at known lines in known functions and
# writes what the report must say (usable sizes, counts, lines) to a file;
# in exact mode every number must match exactly, and each site's innermost
# frame must be its function at its line.  The same program is checked as
# a PIE (the default) and built without PIE (tests/targets/known-nopie is
# made here, with the compiler that built memtop), so that both ways of
# naming addresses (load bias, fixed addresses) are covered.

. "$top_srcdir/tests/lib/tap.sh"

plan 36

check_known() {
	prog=$1
	kind=$2
	REPORT=$T/$kind.json
	EXPECT=$T/$kind.expect
	"$MEMTOP" --exact --report=json -o "$REPORT" --top 0 -- \
	    "$prog" "$EXPECT" >"$T/$kind.out" 2>"$T/$kind.err"
	ok $? "$kind: memtop exits with the target's status 0" ||
	    diag_file "$T/$kind.err"
	check_json "$kind: the report follows the schema" 'schema()'
	check_json "$kind: exact mode, tracked" 'r["mode"] == "exact"' \
	    'r["tracked"]' 'r["sample_bytes"] is None' \
	    'r["drops"]["stack_table_full"] == 0'
	for s in known_small known_kept known_many known_big known_realloc \
	    known_mapped; do
		check_json "$kind: $s: innermost frame is $s at its line in known.c, then main at the line of the call" \
		    "site('$s')['frames'][0]['line'] == e['sites']['$s']['line']" \
		    "os.path.basename(site('$s')['frames'][0]['file']) == 'known.c'" \
		    "site('$s')['frames'][0]['kind'] == 'native'" \
		    "site('$s')['frames'][1]['function'] == 'main'" \
		    "site('$s')['frames'][1]['line'] == e['sites']['$s']['caller_line']"
		check_json "$kind: $s: bytes at peak, live, total and count are exact" \
		    "site('$s')['peak_bytes'] == e['sites']['$s']['peak']" \
		    "site('$s')['live_bytes'] == e['sites']['$s']['live']" \
		    "site('$s')['total_bytes'] == e['sites']['$s']['total']" \
		    "site('$s')['allocations'] == e['sites']['$s']['count']"
	done
	# What libc holds (stdio's buffer) is the same at the peak and at
	# exit, so the difference is exactly what the program held.
	check_json "$kind: peak minus final is exactly what the program held" \
	    "r['peak']['allocated'] - r['final']['allocated'] == e['held_at_peak'] - e['live_at_exit']" \
	    "r['final']['allocated'] >= e['live_at_exit']"
	check_json "$kind: resident and time of the peak are known" \
	    "r['peak']['resident'] > 0" \
	    "0 <= r['peak']['time_s'] <= r['duration_s']"
}

check_known "$TARGETS/known" pie

# The same program without PIE: fixed addresses, ET_EXEC.
CC=$(sed -n 's/^CC = //p' "$top_builddir/Makefile")
${CC:-cc} -O0 -g -fno-omit-frame-pointer -fno-inline -no-pie \
    -o "$T/known-nopie" "$top_srcdir/tests/targets/known.c" 2>"$T/cc.err"
ok $? "a non-PIE build of known.c" || diag_file "$T/cc.err"
file_type=$(od -An -tx1 -j16 -N1 "$T/known-nopie" | tr -d ' ')
is "$file_type" "02" "it is ET_EXEC"
check_known "$T/known-nopie" nopie

tap_done
