#!/bin/sh
# cli-man.sh: the man page covers every option memtop --help lists and
# every key memtop --list-keys prints, and formats without warnings.

. "$top_srcdir/tests/lib/tap.sh"

plan 4

MAN=$top_srcdir/docs/memtop.1

"$MEMTOP" --help >"$T/help" 2>&1
missing=
for opt in $(grep -oE -- '--[a-z][a-z-]+' "$T/help" | sort -u); do
	esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
	grep -q -- "$esc" "$MAN" || missing="$missing $opt"
done
is "$missing" "" "every option of --help is in the man page"

"$MEMTOP" --list-keys >"$T/keys" 2>&1
ok $? "memtop --list-keys runs"
missing=
while IFS='	' read -r keys what; do
	[ -n "$what" ] || continue
	grep -qF -- "$what" "$MAN" || missing="$missing [$keys]"
done <"$T/keys"
is "$missing" "" "every key of --list-keys is in the man page"

if command -v man >/dev/null 2>&1; then
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" >/dev/null 2>"$T/warn"
	test ! -s "$T/warn"
	ok $? "the man page formats without warnings" || diag_file "$T/warn"
else
	groff -man -Tutf8 -ww -z "$MAN" 2>"$T/warn"
	test ! -s "$T/warn"
	ok $? "the man page formats without warnings" || diag_file "$T/warn"
fi

tap_done
