#!/bin/sh
# tui-bench.sh: what the live view costs with 100,000 distinct stacks and a
# target allocating flat out: memtop's CPU (from /proc/PID/stat over an
# interval), its resident memory, and how long a key takes to show on the
# screen under tmux (as the test sees it, polling capture-pane, and as
# memtop sees it: from reading the key to the screen written, from its -v
# log).  Numbers, never pass or fail: run it by hand, from the build
# directory:
#
#	make tests/bench/tui-stacks && sh $srcdir/tests/bench/tui-bench.sh
#
# Environment: MEMTOP (default ./memtop), SECONDS_CPU (default 20),
# KEYS (key presses timed, default 20), DELAY (memtop -d, default 1).

MEMTOP=${MEMTOP:-./memtop}
TARGET=${TARGET:-./tests/bench/tui-stacks}
SECONDS_CPU=${SECONDS_CPU:-20}
KEYS=${KEYS:-20}
DELAY=${DELAY:-1}
SOCK=memtop-bench-$$
T=$(mktemp -d "${TMPDIR:-/tmp}/memtop-bench.XXXXXX")

tm() {
	tmux -L "$SOCK" -f /dev/null "$@"
}
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$T"' EXIT

for f in "$MEMTOP" "$TARGET"; do
	if [ ! -x "$f" ]; then
		echo "tui-bench: $f is missing (make tests/bench/tui-stacks)" >&2
		exit 1
	fi
done
MEMTOP=$(cd "$(dirname "$MEMTOP")" && pwd)/$(basename "$MEMTOP")
TARGET=$(cd "$(dirname "$TARGET")" && pwd)/$(basename "$TARGET")

now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# cpu_ticks PID: utime + stime.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# wait_screen PATTERN SECONDS
wait_screen() {
	_end=$(( $(now_ms) + $2 * 1000 ))
	while [ "$(now_ms)" -lt "$_end" ]; do
		tm capture-pane -p -t b >"$T/screen"
		grep -Eq -- "$1" "$T/screen" && return 0
		sleep 0.005
	done
	return 1
}

# stacks: the "stacks N" count in the header.
stacks() {
	tm capture-pane -p -t b | sed -n 's/.* stacks \([0-9]*\) .*/\1/p'
}

# measure NAME: CPU and memory of memtop over SECONDS_CPU.
measure() {
	mp=$(pgrep -P "$(tm display -p -t b '#{pane_pid}')" -x memtop)
	tp=$(pgrep -P "$mp" | head -n 1)
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$mp")
	t0=$(now_ms)
	tc0=$(cpu_ticks "$tp")
	sleep "$SECONDS_CPU"
	c1=$(cpu_ticks "$mp")
	t1=$(now_ms)
	tc1=$(cpu_ticks "$tp")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$mp/status")
	echo "$1: memtop used $(echo "$c0 $c1 $t0 $t1 $hz" | awk '{
	    printf "%.1f", 100 * ($2 - $1) / $5 / (($4 - $3) / 1000) }')% of one core over $(( (t1 - t0) / 1000 )) s" \
	    "(the watched program used $(echo "$tc0 $tc1 $t0 $t1 $hz" | awk '{
	    printf "%.0f", 100 * ($2 - $1) / $5 / (($4 - $3) / 1000) }')%);" \
	    "memtop resident ${rss} kB; $(stacks) stacks"
}

# keys: time from send-keys to the screen showing the answer.
keys() {
	: >"$T/lat"
	i=0
	while [ "$i" -lt "$KEYS" ]; do
		t0=$(now_ms)
		tm send-keys -t b F1
		wait_screen 'The chart has three lines' 10 || echo "help never came" >&2
		t1=$(now_ms)
		tm send-keys -t b Escape
		wait_screen 'LOCATION' 10 || echo "table never came back" >&2
		t2=$(now_ms)
		echo $((t1 - t0)) >>"$T/lat"
		echo $((t2 - t1)) >>"$T/lat"
		i=$((i + 1))
	done
	sort -n "$T/lat" | awk -v name="$1" '{ v[NR] = $1 } END {
	    printf "%s: key to screen, seen by tmux, over %d presses: median %d ms, 90th %d ms, max %d ms\n",
	    name, NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
	sed -n 's/.*key answered in \([0-9.]*\) ms.*/\1/p' "$T"/memtop-*.log |
	    sort -n | awk -v name="$1" '{ v[NR] = $1 } END {
	    printf "%s: key to screen, seen by memtop, over %d keys: median %.1f ms, 90th %.1f ms, max %.1f ms\n",
	    name, NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
	rm -f "$T"/memtop-*.log
}

echo "tui-bench: $(uname -r), $(nproc) cores, refresh every $DELAY tenths"

# Baseline: the same screen, a target that sleeps.
tm new-session -d -s b -x 120 -y 40 -c "$T" \
    "LANG=C.UTF-8 $MEMTOP -v -d $DELAY -- sleep 3600; sleep 3600"
wait_screen 'LOCATION' 20
sleep 2
measure "idle target"
keys "idle target"
tm kill-server
sleep 1

# 131,072 stacks, allocating flat out.
tm new-session -d -s b -x 120 -y 40 -c "$T" \
    "LANG=C.UTF-8 $MEMTOP -v -d $DELAY $TARGET 600; sleep 3600"
n=0
while [ "${s:-0}" -lt 100000 ] && [ "$n" -lt 600 ]; do
	sleep 0.5
	s=$(stacks)
	n=$((n + 1))
done
echo "stacks seen: $s after $((n / 2)) s"
measure "131,072 stacks, flat out (table)"
keys "131,072 stacks, flat out (table)"
tm send-keys -t b t
sleep 3
measure "131,072 stacks, flat out (call tree)"
tm send-keys -t b '*'
sleep 1
measure "131,072 stacks, flat out (call tree, all expanded)"
tm capture-pane -p -t b | head -n 3
