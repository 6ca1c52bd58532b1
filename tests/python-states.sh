#!/bin/sh
# python-states.sh: what memtop says about the Python in a process
# (header.python_state, the report's "python" object), and that the run
# works whatever it is.
#   CPython 3.6, 3.7, 3.8     unsupported, with a note naming the version;
#                             native stacks; the target's status comes back
#   a program without Python  none
#   --no-python               off, no Python frames
#   --python-allocators with -X dev (CPython installs its own allocators
#   over memtop's)            active, with a note that they had no effect
#   Python loaded with dlopen(RTLD_LOCAL) by a C program once it runs
#   (tests/python/embed)      found later: active, Python frames; with
#                             --python-allocators, a note that its
#                             allocators could not be wrapped

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/python/interpreters.sh"

plan 15

# check NAME EXPR...: Python assertions on the report $T/r.json.
check() {
	_what=$1
	shift
	"$PYTHON3" - "$T/r.json" "$@" >"$T/check" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
py = r["python"]
def natives_only(s):
    return all(f["kind"] == "native" for f in s["frames"])
def pyframes(s):
    return [(f["function"], f["file"], f["line"]) for f in s["frames"]
            if f["kind"] == "python"]
for expr in sys.argv[2:]:
    assert eval(expr), "%s\npython: %s" % (expr, py)
PY
	ok $? "$_what" || diag_file "$T/check"
}

SCRIPT='import sys
x = bytearray(5000000)
sys.exit(3)'

for spec in $PY_OLD; do
	v=${spec%%=*}
	py=${spec#*=}
	"$MEMTOP" --exact --report=json -o "$T/r.json" -- "$py" -c "$SCRIPT" \
	    >"$T/out" 2>&1
	is $? 3 "$v: memtop exits with the script's status"
	check "$v: unsupported, the note says which version and why" \
	    'py["state"] == "unsupported"' \
	    'py["version"].startswith("'"$v"'.")' \
	    '"'"$v"'." in py["note"] and "3.9 to 3.13" in py["note"]'
	check "$v: the 5 MB allocation is there, with native frames only" \
	    'any(s["total_bytes"] >= 5000000 for s in r["stacks"])' \
	    'all(natives_only(s) for s in r["stacks"])'
done

"$MEMTOP" --exact --report=json -o "$T/r.json" -- /bin/sh -c 'exit 0' \
    >"$T/out" 2>&1
check "a program without Python: none" 'py["state"] == "none"' \
    'py["version"] is None'

py312=
for spec in $PY_SUPPORTED; do
	case ${spec%%=*} in 3.12) py312=${spec#*=} ;; esac
done
"$MEMTOP" --exact --no-python --report=json -o "$T/r.json" -- "$py312" \
    -c 'x = bytearray(5000000)' >"$T/out" 2>&1
check "--no-python: off, native frames only" 'py["state"] == "off"' \
    'any(s["total_bytes"] >= 5000000 for s in r["stacks"])' \
    'all(natives_only(s) for s in r["stacks"])'

"$MEMTOP" --exact --python-allocators --report=json -o "$T/r.json" -- \
    "$py312" -X dev -c 'x = [bytes(100) for i in range(1000)]' \
    >"$T/out" 2>&1
check "--python-allocators under -X dev: active, a note says no effect" \
    'py["state"] == "active"' '"no effect" in py["note"]'

lib=$(dirname "$py312")/../lib/libpython3.12.so.1.0
"$MEMTOP" --exact --report=json -o "$T/r.json" -- \
    "$top_builddir/tests/python/embed" "$lib" \
    "$top_srcdir/tests/python/embedded.py" >"$T/out" 2>&1
ok $? "embedded: a C program runs a script in a dlopen'ed libpython3.12" ||
    diag_file "$T/out"
check "embedded: found once loaded; the allocation has its Python frames" \
    'py["state"] == "active" and py["version"] == "3.12.1"' \
    'any(pyframes(s) == [("embedded_site", "<string>", 2), ("<module>", "<string>", 3)] for s in r["stacks"] if s["total_bytes"] >= 7340033)'
"$MEMTOP" --exact --python-allocators --report=json -o "$T/r.json" -- \
    "$top_builddir/tests/python/embed" "$lib" \
    "$top_srcdir/tests/python/embedded.py" >"$T/out" 2>&1
check "embedded, --python-allocators: the note says they were not wrapped" \
    'py["state"] == "active"' '"loaded late" in py["note"]'
tap_done
