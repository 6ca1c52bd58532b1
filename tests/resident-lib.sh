# resident-lib.sh: run a target under memtop -v until a scan of its pages
# that began after the target was ready has completed, for the resident,
# swap and timeline tests.  Source it after tests/lib/tap.sh.
#
# The targets take "EXPECT READY GO" as their last three arguments: they
# do their work, write what memtop must find to EXPECT, create READY, and
# exit once GO exists.  memtop logs "pagemap: pass N complete" at the end
# of every scan; after READY appears, the second pass to complete began
# after READY, so it saw the target's final state.  No time limit is part
# of a check: the waits only give up (and fail the test loudly) after
# RES_TIMEOUT seconds, so that a broken build cannot hang make check.

RES_TIMEOUT=${RES_TIMEOUT:-300}

# res_passes DIR: complete scans logged so far by the memtop running in DIR.
res_passes() {
	cat "$1"/memtop-*.log 2>/dev/null | grep -c 'pagemap: pass [0-9]* complete'
}

# res_wait DIR COND...: wait until the shell condition holds, or time out.
res_wait() {
	_dir=$1
	shift
	_i=0
	until eval "$@"; do
		_i=$((_i + 1))
		if [ "$_i" -gt $((RES_TIMEOUT * 10)) ]; then
			diag "gave up after ${RES_TIMEOUT} s waiting for: $*"
			diag_file "$_dir/err"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# res_run DIR COMMAND...: run COMMAND (memtop -v ... -- target ...
# DIR/expect.json DIR/ready DIR/go) in DIR; returns its exit status once
# the target has been let go.
res_run() {
	_rdir=$1
	shift
	mkdir -p "$_rdir"
	(cd "$_rdir" && exec "$@") >"$_rdir/out" 2>"$_rdir/err" &
	_rpid=$!
	_rok=0
	if res_wait "$_rdir" '[ -f "$_rdir/ready" ] || ! kill -0 $_rpid 2>/dev/null'; then
		_n0=$(res_passes "$_rdir")
		res_wait "$_rdir" '[ "$(res_passes "$_rdir")" -ge $((_n0 + 2)) ] || ! kill -0 $_rpid 2>/dev/null' ||
		    _rok=1
	else
		_rok=1
	fi
	touch "$_rdir/go"
	wait $_rpid
	_rrc=$?
	[ "$_rok" -eq 0 ] || return 1
	return $_rrc
}
