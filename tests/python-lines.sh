#!/bin/sh
# python-lines.sh: memtop's line-table decoders give every bytecode offset
# the line CPython gives it, for the table format of every supported
# CPython (tests/python/linetables.py dumps the tables and CPython's own
# reading of them; tests/unit/python-lines compares).

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/python/interpreters.sh"

files=
for spec in $PY_SUPPORTED; do
	label=${spec%%=*}
	py=${spec#*=}
	if ! "$py" "$top_srcdir/tests/python/linetables.py" >"$T/$label.txt" \
	    2>"$T/$label.err"; then
		echo "Bail out! $py could not dump its line tables"
		sed 's/^/# /' "$T/$label.err"
		exit 1
	fi
	files="$files $T/$label.txt"
done
exec "$top_builddir/tests/unit/python-lines" $files
