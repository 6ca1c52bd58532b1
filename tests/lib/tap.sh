# tap.sh: a small TAP library for memtop's shell tests.  Source it, call
# plan N, then one check function per test; each prints "ok N - what" or
# "not ok N - what" with diagnostics as "# " lines.  tap_done at the end
# exits non-zero when any check failed or the plan was not met.
#
# A test needs something it cannot do without (a tool, root): it calls
# need, which fails the whole test loudly instead of skipping it.
#
# Every test gets a private directory, $T, removed on exit.

tap_n=0
tap_failed=0
tap_planned=0

T=$(mktemp -d "${TMPDIR:-/tmp}/memtop-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

# plan N: N checks will follow.
plan() {
	tap_planned=$1
	echo "1..$1"
}

# diag TEXT...: a diagnostic line.
diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# diag_file FILE: a file's contents (its first 40 lines) as diagnostics.
diag_file() {
	[ -s "$1" ] || return 0
	head -n 40 "$1" | sed 's/^/#   /'
}

# ok COND WHAT: record a check; COND is 0 for success (a shell status).
ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
	return "$1"
}

# ok_cmd WHAT CMD...: a check that CMD succeeds; its output on failure.
ok_cmd() {
	_what=$1
	shift
	"$@" >"$T/.ok_cmd.out" 2>&1
	_rc=$?
	ok "$_rc" "$_what" || diag_file "$T/.ok_cmd.out"
	return "$_rc"
}

# is GOT WANT WHAT: a check that two strings are equal.
is() {
	[ "$1" = "$2" ]
	ok $? "$3" || diag "got '$1', want '$2'"
}

# like TEXT PATTERN WHAT: a check that TEXT matches the grep -E PATTERN.
like() {
	printf '%s\n' "$1" | grep -Eq -- "$2"
	ok $? "$3" || diag "'$1' does not match /$2/"
}

# unlike TEXT PATTERN WHAT: a check that TEXT does not match.
unlike() {
	! printf '%s\n' "$1" | grep -Eq -- "$2"
	ok $? "$3" || diag "'$1' matches /$2/"
}

# need WHAT CMD...: fail the whole test loudly when CMD fails.
need() {
	_what=$1
	shift
	if ! "$@" >/dev/null 2>&1; then
		echo "Bail out! this test needs $_what"
		exit 1
	fi
}

# check_json WHAT EXPR...: checks on a JSON report with tests/lib/checkjson.py,
# on the file $REPORT (and expectations in $EXPECT when set).
check_json() {
	_what=$1
	shift
	if [ -n "${EXPECT:-}" ]; then
		"$PYTHON3" "$top_srcdir/tests/lib/checkjson.py" \
		    --expect "$EXPECT" "$REPORT" "$@" >"$T/.check.out" 2>&1
	else
		"$PYTHON3" "$top_srcdir/tests/lib/checkjson.py" \
		    "$REPORT" "$@" >"$T/.check.out" 2>&1
	fi
	ok $? "$_what" || diag_file "$T/.check.out"
}

# tap_done: the exit status of the test.
tap_done() {
	if [ "$tap_n" -ne "$tap_planned" ]; then
		diag "planned $tap_planned checks, ran $tap_n"
		exit 1
	fi
	[ "$tap_failed" -eq 0 ]
	exit $?
}

# Every test needs these from the environment (AM_TESTS_ENVIRONMENT).
for _v in MEMTOP top_srcdir top_builddir PYTHON3; do
	eval "_x=\${$_v:-}"
	if [ -z "$_x" ]; then
		echo "Bail out! \$$_v is not set: run the tests with make check"
		exit 1
	fi
done
TARGETS=$top_builddir/tests/targets
