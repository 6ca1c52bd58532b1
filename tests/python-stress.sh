#!/bin/sh
# python-stress.sh: threads, GIL-free allocation, fork and shutdown with
# daemon threads still allocating, on every supported CPython: nothing
# crashes, nothing stops tracking.
#
# tests/python/stress.py runs six threads allocating with and without the
# GIL while forking children; it runs in exact mode (every allocation is a
# walk) and sampled every 4 KiB.  tests/python/shutdown.py leaves daemon
# threads in a GIL-free malloc loop while the interpreter shuts down; it
# runs 10 times, exact.  tests/python/gilfree.c (the loop) is built here.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/python/interpreters.sh"

plan 24

CC=$(sed -n 's/^CC = //p' "$top_builddir/Makefile")
if ! ${CC:-cc} -O2 -shared -fPIC -o "$T/gilfree.so" \
    "$top_srcdir/tests/python/gilfree.c" >"$T/cc.err" 2>&1; then
	echo "Bail out! cannot build tests/python/gilfree.c"
	sed 's/^/# /' "$T/cc.err"
	exit 1
fi

# stress LABEL PYTHON MEMTOP-OPTIONS...: one run of stress.py, checked.
stress() {
	label=$1
	py=$2
	shift 2
	STRESS_ROUNDS=100 "$MEMTOP" "$@" --report=json -o "$T/r.json" -- \
	    "$py" "$top_srcdir/tests/python/stress.py" "$T/gilfree.so" \
	    >"$T/out" 2>&1
	rc=$?
	grep -q '^stress: done' "$T/out" && [ $rc -eq 0 ] &&
	    "$PYTHON3" - "$T/r.json" >"$T/check" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["python"]["state"] == "active", r["python"]
assert r["tracked"] and r["disabled_reason"] is None, r["disabled_reason"]
assert r["counts"]["forks"] == 3, r["counts"]
py = sum(1 for s in r["stacks"] for f in s["frames"] if f["kind"] == "python")
assert py > 0, "no Python frames"
PY
	ok $? "$label: stress.py $* exits 0, tracked, 3 forks, Python frames" || {
		diag "exit status $rc"
		diag_file "$T/out"
		diag_file "$T/check"
	}
}

for spec in $PY_SUPPORTED; do
	label=${spec%%=*}
	py=${spec#*=}
	stress "$label" "$py" --exact
	stress "$label" "$py" --sample-bytes 4K
	fails=0
	for top in 1 1 1 1 1 1 1 1 1 0; do
		"$MEMTOP" --exact --report=json --top $top -o "$T/s.json" \
		    -- "$py" "$top_srcdir/tests/python/shutdown.py" \
		    "$T/gilfree.so" >"$T/s.out" 2>&1 || {
			fails=$((fails + 1))
			cp "$T/s.out" "$T/s.fail"
		}
	done
	ok $fails "$label: 10 shutdowns with daemon threads allocating\
 without the GIL exit 0" || diag_file "$T/s.fail"
	"$PYTHON3" - "$T/s.json" >"$T/check" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = [s for s in r["stacks"] if s["frames"][0]["function"] == "gilfree_churn"
      and any(f["function"].endswith("Thread.run") or f["function"] == "run"
              for f in s["frames"] if f["kind"] == "python")]
assert ok, "no stack of the GIL-free loop with its Python caller"
PY
	ok $? "$label: the GIL-free loop's allocations carry its thread's\
 Python frames" || diag_file "$T/check"
done
tap_done
