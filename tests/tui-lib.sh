# tui-lib.sh: helpers for the live view's tests (tests/tui-*.sh), sourced
# after tests/lib/tap.sh.
#
# Each test runs its own tmux server on a private socket (memtop-test-PID),
# with a shell in one pane of a fixed size and a plain prompt ("$ "), types
# commands into it with send-keys and reads the screen with capture-pane.
# The trap kills the server, and any target left running, on every exit.

if [ -z "${TMUX_BIN:-}" ] || [ "$TMUX_BIN" = no ] || [ ! -x "$TMUX_BIN" ]; then
	echo "Bail out! the live view's tests need tmux (configure found none)"
	exit 1
fi

TSOCK=memtop-test-$$-0
SCREEN=$T/screen
tui_n=0

# tm ARGS...: tmux on the private server.
tm() {
	"$TMUX_BIN" -L "$TSOCK" -f /dev/null "$@"
}

# Pids to kill at the end (targets left running on purpose).
: >"$T/pids"
tui_cleanup() {
	tm kill-server >/dev/null 2>&1
	while read -r _p; do
		kill -KILL "$_p" 2>/dev/null
	done <"$T/pids"
	# tmux may leave its socket files behind.
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/memtop-test-$$-"*
	rm -rf "$T"
}
trap tui_cleanup EXIT

# tui_start COLS ROWS: a session with a shell, in a UTF-8 locale, on a
# fresh server (a new socket name: the last server may still be exiting).
tui_start() {
	tm kill-server >/dev/null 2>&1
	tui_n=$((tui_n + 1))
	TSOCK=memtop-test-$$-$tui_n
	LC_ALL=C.UTF-8 tm new-session -d -s t -x "$1" -y "$2" \
	    "env -i PATH='$PATH' HOME='$T' TMPDIR='$T' TERM=screen \
	    LANG=C.UTF-8 LC_ALL=C.UTF-8 PS1='$ ' sh" || return 1
	tm set-option -g window-size manual >/dev/null 2>&1
	tui_wait '^\$' 10
}

# tui_type TEXT: type a line into the pane and press Enter.
tui_type() {
	tm send-keys -t t -l "$1"
	tm send-keys -t t Enter
}

# tui_keys KEY...: press keys (tmux key names: q, F1, Space, C-c...).
tui_keys() {
	tm send-keys -t t "$@"
}

# tui_capture: the screen, into $SCREEN (and stdout).
tui_capture() {
	tm capture-pane -p -t t >"$SCREEN"
	cat "$SCREEN"
}

# tui_wait PATTERN [SECONDS]: wait until the screen matches (grep -E);
# the last screen is left in $SCREEN.  Fails after SECONDS (default 20).
tui_wait() {
	_n=$(( ${2:-20} * 10 ))
	while [ "$_n" -gt 0 ]; do
		tm capture-pane -p -t t >"$SCREEN" 2>/dev/null
		grep -Eq -- "$1" "$SCREEN" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# tui_wait_gone PATTERN [SECONDS]: wait until the screen stops matching.
tui_wait_gone() {
	_n=$(( ${2:-20} * 10 ))
	while [ "$_n" -gt 0 ]; do
		tm capture-pane -p -t t >"$SCREEN" 2>/dev/null
		grep -Eq -- "$1" "$SCREEN" || return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# ok_screen WHAT PATTERN [SECONDS]: a check that the screen comes to match.
ok_screen() {
	tui_wait "$2" "${3:-20}"
	ok $? "$1" || diag_file "$SCREEN"
}

# ok_line WHAT LINE_PATTERN PATTERN: a check that a line of the current
# screen matching LINE_PATTERN also matches PATTERN.
ok_line() {
	grep -E -- "$2" "$SCREEN" | grep -Eq -- "$3"
	ok $? "$1" || diag_file "$SCREEN"
}

# memtop_pid: the pid of memtop, the pane's shell's child.
memtop_pid() {
	_sh=$(tm display -p -t t '#{pane_pid}')
	pgrep -P "$_sh" -x memtop | head -n 1
}

# target_pid: the target's pid, read from the header ("pid N").
target_pid() {
	tm capture-pane -p -t t | sed -n '1s/.* pid \([0-9][0-9]*\) .*/\1/p'
}

# proc_state PID: the state letter in /proc/PID/stat (R, S, T...).
proc_state() {
	sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null
}

# wait_state PID REGEX [SECONDS]: wait until the process state matches.
wait_state() {
	_n=$(( ${3:-20} * 10 ))
	while [ "$_n" -gt 0 ]; do
		proc_state "$1" | grep -Eq -- "$2" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# terminal_sane WHAT: after memtop left, the pane is back to normal: the
# shell's prompt, no alternate screen, no mouse reporting, the cursor on,
# and the tty in canonical mode with echo (stty run in the pane).
terminal_sane() {
	tui_wait '^\$ *$' 10
	ok $? "$1: the shell prompt is back" || diag_file "$SCREEN"
	_st=$(tm display -p -t t \
	    '#{alternate_on} #{mouse_any_flag} #{cursor_flag}')
	is "$_st" "0 0 1" "$1: no alternate screen, no mouse, cursor on"
	rm -f "$T/stty"
	tui_type "stty -a >'$T/stty'; echo stty-done"
	tui_wait '^stty-done' 10
	_modes=$(tr ' ;' '\n\n' <"$T/stty" |
	    grep -Ex -- '-?(icanon|echo|isig|icrnl|opost)' | sort | tr '\n' ' ')
	is "$_modes" "echo icanon icrnl isig opost " \
	    "$1: the tty is in canonical mode with echo"
}

# tui_rc: the exit status the shell printed ("rc=N"), waiting for it.
tui_rc() {
	tui_wait '^rc=[0-9]+' 30 >/dev/null
	sed -n 's/^rc=\([0-9][0-9]*\).*/\1/p' "$SCREEN" | tail -n 1
}
