#!/bin/sh
# python-allocators.sh: what memtop charges small Python objects to, in
# the three ways of running pymalloc (docs/python.md).
#
# tests/python/objects.py makes 50000 objects of 133 bytes at one line:
#   default               pymalloc untouched: the line holds little, the
#                         arenas it needed are labelled "[pymalloc arena]";
#   --python-allocators   every object charged to its line at its size
#                         class (144 bytes), labelled "[python object]",
#                         and freeing them all leaves nothing live;
#   --pymalloc=off        PYTHONMALLOC=malloc: every object reaches malloc
#                         at its line, no arenas at all.
# Those run in exact mode.  Then, sampled, with --python-allocators: 20
# rounds of 200000 objects made and freed end with the same allocated bytes
# as 1 round (frees are counted with the sizes of the allocations).  On
# every supported CPython.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/python/interpreters.sh"

PYTHONHASHSEED=0
export PYTHONHASHSEED
runs=
# run LABEL PYTHON ROUNDS N MEMTOP-OPTIONS...
run() {
	label=$1
	py=$2
	rounds=$3
	n=$4
	shift 4
	"$MEMTOP" --report=json --top 500 -o "$T/$label.json" "$@" \
	    -- "$py" "$top_srcdir/tests/python/objects.py" "$T/$label.expect" \
	    "$rounds" "$n" >"$T/$label.out" 2>&1
	runs="$runs $label:$?:$T/$label.json:$T/$label.expect"
	if [ -s "$T/$label.out" ]; then
		echo "# $label: output:"
		sed 's/^/#   /' "$T/$label.out" | head -20
	fi
}

for spec in $PY_SUPPORTED; do
	v=${spec%%=*}
	py=${spec#*=}
	run "$v-default" "$py" 1 50000 --exact
	run "$v-pyalloc" "$py" 1 50000 --exact --python-allocators
	run "$v-malloc" "$py" 1 50000 --exact --pymalloc=off
	run "$v-rounds1" "$py" 1 200000 --python-allocators
	run "$v-rounds20" "$py" 20 200000 --python-allocators
done
"$PYTHON3" "$top_srcdir/tests/python/check.py" allocators $runs
