#!/bin/sh
# python-sites.sh: Python frames merged with native frames, on every
# supported CPython.
#
# tests/python/sites.py allocates at known lines (nested calls, methods,
# closures, recursion, a generator, a coroutine, a callback from C, exec,
# ctypes with the GIL released, threads, numpy on Debian's python3) and
# writes the stack Python itself sees at each; tests/python/check.py
# compares every one with memtop --exact's report.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/python/interpreters.sh"

runs=
for spec in $PY_SUPPORTED; do
	label=${spec%%=*}
	py=${spec#*=}
	numpy=0
	[ "$label" = debian ] && numpy=1
	SITES_NUMPY=$numpy "$MEMTOP" --exact --report=json --top 1000 \
	    -o "$T/$label.json" -- "$py" "$top_srcdir/tests/python/sites.py" \
	    "$T/$label.expect" >"$T/$label.out" 2>&1
	runs="$runs $label:$?:$T/$label.json:$T/$label.expect"
	if [ -s "$T/$label.out" ]; then
		echo "# $label: output:"
		sed 's/^/#   /' "$T/$label.out" | head -20
	fi
done
"$PYTHON3" "$top_srcdir/tests/python/check.py" sites $runs
