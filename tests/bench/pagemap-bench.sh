#!/bin/sh
# pagemap-bench.sh: what memtop's resident scan (tui/pagemap.c) costs, at a
# few heap sizes and shapes, with each way of reading the page tables.
# For each case it runs tests/bench/pagemap-heap under memtop -v with the
# live view's budget (4 ms a poll) and back-to-back passes, waits for the
# heap to be built, lets PASSES scans complete, and reads from memtop's
# log, per pass: live allocations read, pages asked of the kernel,
# memtop's CPU time for the pass (cpu_ms), its wall time from start to end
# (pass_ms), the polls it spanned, the longest poll's CPU time (maxpoll,
# the budget bounds its wall time; on a loaded machine preemption can
# stretch the wall time, never the work) and the longest single kernel
# call (maxcall: the kernel holds the target's mmap lock for reading for
# at most that long).  pages/s and allocs/s are per CPU second of the
# scan.  cpu is memtop's whole utime + stime over the passes, as a share
# of one core (polling /proc and the segment included).
# Numbers, never pass or fail: run it by hand from the build directory:
#
#	make tests/bench/pagemap-heap && sh $srcdir/tests/bench/pagemap-bench.sh
#
# Environment: MEMTOP (default ./memtop), PASSES (default 3: the last
# PASSES passes are averaged), SECONDS_CPU (memtop's CPU is measured over
# at least this long, default 5), CASES (a subset of the case names
# below, default all), BUDGET (microseconds a poll, default 4000), KEEP
# (set: keep the logs, in the directory named on the first line).

MEMTOP=${MEMTOP:-./memtop}
HEAP=${HEAP:-./tests/bench/pagemap-heap}
PASSES=${PASSES:-3}
SECONDS_CPU=${SECONDS_CPU:-5}
BUDGET=${BUDGET:-4000}
CASES=${CASES:-"map-1g map-4g map-8g blocks-4g sparse-100g small-256m"}
T=$(mktemp -d "${TMPDIR:-/tmp}/memtop-pagemap-bench.XXXXXX")
[ -n "${KEEP:-}" ] && echo "logs in $T"
trap 'touch "$T"/*/go 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

for f in "$MEMTOP" "$HEAP"; do
	if [ ! -x "$f" ]; then
		echo "pagemap-bench: $f is missing (make tests/bench/pagemap-heap)" >&2
		exit 1
	fi
done
MEMTOP=$(cd "$(dirname "$MEMTOP")" && pwd)/$(basename "$MEMTOP")
HEAP=$(cd "$(dirname "$HEAP")" && pwd)/$(basename "$HEAP")
HZ=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# passes DIR: complete passes in the log.
passes() {
	cat "$1"/memtop-*.log 2>/dev/null | grep -c 'pagemap: pass [0-9]* complete'
}

# memtop_pid DIR: memtop's pid, from its log file's name.
memtop_pid() {
	ls "$1" | sed -n 's/^memtop-\([0-9]*\)\.log$/\1/p'
}

# run NAME METHOD MODE KIND SIZE_MIB TOUCH_MIB
run() {
	d=$T/$1-$2
	mkdir -p "$d"
	(cd "$d" && MEMTOP_PAGEMAP=$2 MEMTOP_PAGEMAP_BUDGET=$BUDGET \
	    exec "$MEMTOP" -v $3 --report=json -o report.json -- "$HEAP" \
	    "$4" "$5" "$6" "$d/ready" "$d/go") >"$d/out" 2>"$d/err" &
	pid=$!
	while [ ! -f "$d/ready" ]; do
		kill -0 $pid 2>/dev/null || { echo "$1: the target died" >&2
		    cat "$d/err" >&2; return; }
		sleep 0.2
	done
	n0=$(passes "$d")
	# The first pass after ready began before it: wait for it to end.
	while [ "$(passes "$d")" -le "$n0" ]; do sleep 0.1; done
	n1=$(passes "$d")
	mp=$(memtop_pid "$d")
	c0=$(cpu_ticks "$mp")
	s0=$(date +%s%N)
	while [ "$(passes "$d")" -lt $((n1 + PASSES)) ] ||
	    [ $(( ($(date +%s%N) - s0) / 1000000 )) -lt $((SECONDS_CPU * 1000)) ]; do
		sleep 0.1
	done
	c1=$(cpu_ticks "$mp")
	s1=$(date +%s%N)
	touch "$d/go"
	wait $pid
	cat "$d"/memtop-*.log | grep 'pagemap: pass [0-9]* complete' |
	    tail -n "$PASSES" | sed 's/[(),]/ /g' | awk -v name="$1" \
	    -v method="$2" -v cpu="$(( (c1 - c0) * 1000 / HZ ))" \
	    -v wall="$(( (s1 - s0) / 1000000 ))" '
	{
		for (i = 1; i <= NF; i++) {
			if ($(i + 1) == "allocations") allocs = $i
			if ($(i + 1) == "pages" && $(i + 2) == "in") pages = $i
			if ($i == "CPU" && $(i + 2) == "ms" && $(i + 3) == "over")
				work += $(i + 1)
			if ($(i + 1) == "ms" && $(i + 2) == "in") took += $i
			if ($(i + 1) == "polls") polls += $i
			if ($i == "poll" && $(i + 4) + 0 > maxpoll)
				maxpoll = $(i + 4) + 0
			if ($i == "call" && $(i + 1) + 0 > maxcall)
				maxcall = $(i + 1) + 0
		}
		n++
	}
	END {
		w = work / n / 1000
		printf "%-12s %-6s %9d %10d %9.1f %9.1f %6.1f %11.3g %11.3g %8.2f %8.3f %6.1f%%\n",
		    name, method, allocs, pages, work / n, took / n, polls / n,
		    pages / w, allocs / w, maxpoll, maxcall,
		    (wall > 0 ? 100 * cpu / wall : 0)
	}'
}

printf "%-12s %-6s %9s %10s %9s %9s %6s %11s %11s %8s %8s %7s\n" case method \
    allocs pages/pass cpu_ms pass_ms polls pages/s allocs/s maxpoll maxcall cpu
for c in $CASES; do
	for m in scan pread; do
		case $c in
		map-1g)		run $c $m "" map 1024 1024 ;;
		map-4g)		run $c $m "" map 4096 4096 ;;
		map-8g)		run $c $m "" map 8192 8192 ;;
		blocks-4g)	run $c $m "" blocks 4096 4096 ;;
		sparse-100g)	run $c $m "" map 102400 4096 ;;
		small-256m)	run $c $m --exact small 256 0 ;;
		esac
	done
done
