# interpreters.sh: the CPython interpreters memtop's Python tests run.
#
# Sourced after tests/lib/tap.sh.  Sets PY_SUPPORTED to "LABEL=PATH" words
# for every supported version (3.9 to 3.13, from pyenv) and Debian's
# python3 (with python3-numpy), and PY_OLD for 3.6 to 3.8.  The machine
# image (and CI, which runs on it) has all of them: a missing one fails the
# test loudly, it is not skipped.

PY_PYENV=${PYENV_ROOT:-${HOME:-/root}/.pyenv}
[ -d "$PY_PYENV/versions" ] || PY_PYENV=/root/.pyenv

# py_find MINOR: the newest pyenv CPython 3.MINOR, or nothing.
py_find() {
	for _d in $(ls -d "$PY_PYENV"/versions/3."$1".* 2>/dev/null |
	    sort -t. -k3 -n -r); do
		case $_d in *t|*-dev|*a[0-9]*|*b[0-9]*|*rc[0-9]*) continue ;; esac
		if [ -x "$_d/bin/python3" ]; then
			echo "$_d/bin/python3"
			return 0
		fi
	done
	return 1
}

PY_SUPPORTED=
PY_OLD=
for _m in 9 10 11 12 13; do
	_p=$(py_find "$_m") || {
		echo "Bail out! CPython 3.$_m is missing from $PY_PYENV/versions"
		exit 1
	}
	PY_SUPPORTED="$PY_SUPPORTED 3.$_m=$_p"
done
for _m in 6 7 8; do
	_p=$(py_find "$_m") || {
		echo "Bail out! CPython 3.$_m is missing from $PY_PYENV/versions"
		exit 1
	}
	PY_OLD="$PY_OLD 3.$_m=$_p"
done
if ! /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1; then
	echo "Bail out! Debian's /usr/bin/python3 with python3-numpy is missing"
	exit 1
fi
PY_DEBIAN=/usr/bin/python3
PY_SUPPORTED="$PY_SUPPORTED debian=$PY_DEBIAN"
