#!/bin/sh
# tui-keys.sh: one key table.  The man page's KEYS section lists exactly
# what memtop --list-keys prints (same sections, keys and words), and the
# help screen inside memtop (F1) shows every one of those lines.

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/tui-lib.sh"

plan 6

MAN=$top_srcdir/docs/memtop.1

"$MEMTOP" --list-keys >"$T/keys"
ok $? "memtop --list-keys runs"

# The KEYS section as "keys<TAB>help" lines and "Section:" headings.
awk '
	/^\.SH / { inkeys = ($2 == "KEYS"); next }
	!inkeys { next }
	/^\.SS / { sub(/^\.SS "?/, ""); sub(/"$/, ""); print $0 ":"; started = 1; next }
	!started { next }
	/^\.TP/ { next }
	/^\.B / { sub(/^\.B /, ""); keys = $0; want = 1; next }
	want { print keys "\t" $0; want = 0 }
' "$MAN" | sed 's/\\-/-/g; s/\\(em/--/g' >"$T/man-keys"
diff -u "$T/keys" "$T/man-keys" >"$T/diff"
ok $? "the man page's KEYS section is the same as --list-keys" ||
    diag_file "$T/diff"
[ "$(grep -c '	' "$T/keys")" -ge 30 ]
ok $? "there are keys to compare ($(grep -c '	' "$T/keys"))"

# The help screen, page by page.
tui_start 100 50
tui_type "$MEMTOP $TARGETS/tui-grow grow; echo rc=\$?"
tui_wait 'tui_grow_step'
echo "$(target_pid)" >>"$T/pids"
tui_keys F1
ok_screen "F1 shows the help" 'The chart has three lines'
: >"$T/help"
n=0
while [ "$n" -lt 20 ]; do
	tui_capture >>"$T/help"
	grep -q 'Press Esc or F1 to go back' "$SCREEN" && break
	tui_keys NPage
	sleep 0.3
	n=$((n + 1))
done
missing=
while IFS='	' read -r keys what; do
	[ -n "$what" ] || continue
	grep -F -- "$keys" "$T/help" | grep -qF -- "$what" ||
	    missing="$missing [$keys]"
done <"$T/keys"
is "$missing" "" "the help screen shows every key with its words"
tui_keys Escape
ok_screen "Esc leaves the help" 'LOCATION'
tui_keys q
tui_wait 'still running'
tui_keys k

tap_done
