#!/bin/sh
# swap-cgroup.sh: swapped bytes per stack, under real swapping.
#
# The test adds a 512 MiB swap file and a memory cgroup (v1, at
# /sys/fs/cgroup/memory) with a 96 MiB limit and swappiness 100, and runs
# tests/targets/res-swap in it: a 160 MiB block (swap_big) and 40 MiB of
# 4000-byte blocks (swap_small), all written, then the first half of the
# big block read back, so that the kernel must keep part of the heap in
# swap.  memtop itself stays outside the cgroup (the command is a shell
# that moves itself into the cgroup and execs the target), so that
# memtop's own memory puts no pressure on the target while it is read.
#
# The target counts, from its own /proc/self/pagemap, the bytes of each
# site in RAM and in swap, and its VmSwap, until two counts a quarter of a
# second apart agree (the kernel goes on reclaiming for a moment after the
# last touch).  Tolerances: memtop's per-stack resident and swapped bytes
# must be within 1 MiB of the target's settled count (pages can still move
# between the two readings; measured: 0), resident + swapped must equal
# the usable size exactly (the heap is all written), and the swapped bytes
# memtop attributes to stacks must be within 4 MiB below the kernel's
# VmSwap of the same moment: what is in swap and no allocation explains is
# the program's other anonymous memory (its stack, libc's data, malloc's
# free space; measured: under 0.5 MiB).  The swapped line memtop shows is
# VmSwap itself: at the last poll it is within 1 MiB of the target's
# reading.  The pread fallback (MEMTOP_PAGEMAP=pread) is checked the same
# way.
#
# Everything is removed by a trap (swapoff, the file, the cgroup).  The
# test runs as root in CI and must not skip there; it skips, loudly, only
# where it cannot create the swap file or the cgroup (not root, no cgroup
# v1 memory controller, a file system that cannot hold swap).

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/resident-lib.sh"

SWAPFILE=/var/tmp/memtop-swap-test.$$
CG=/sys/fs/cgroup/memory/memtop-swap-test.$$
LIMIT=$((96 * 1024 * 1024))
swap_on=0

cleanup() {
	[ -d "$T/run" ] && touch "$T/run/go"
	if [ -d "$CG" ]; then
		# Anything left in the group goes back to the root group.
		for _p in $(cat "$CG/tasks" 2>/dev/null); do
			echo "$_p" >/sys/fs/cgroup/memory/tasks 2>/dev/null
		done
		rmdir "$CG" 2>/dev/null || sleep 1
		[ -d "$CG" ] && rmdir "$CG" 2>/dev/null
	fi
	[ "$swap_on" -eq 1 ] && swapoff "$SWAPFILE" 2>/dev/null
	rm -f "$SWAPFILE"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

skip_all() {
	echo "1..0 # SKIP $*"
	echo "swap-cgroup.sh: SKIPPED: $*: per-stack swapped bytes are NOT tested" >&2
	exit 0
}

[ "$(id -u)" = 0 ] || skip_all "needs root to add swap and a memory cgroup"
[ -w /sys/fs/cgroup/memory ] ||
    skip_all "no writable cgroup v1 memory controller at /sys/fs/cgroup/memory"
if ! dd if=/dev/zero of="$SWAPFILE" bs=1M count=512 status=none 2>"$T/swap.err" ||
    ! chmod 600 "$SWAPFILE" || ! mkswap "$SWAPFILE" >"$T/swap.err" 2>&1 ||
    ! swapon "$SWAPFILE" 2>"$T/swap.err"; then
	cat "$T/swap.err" >&2
	skip_all "cannot add a swap file at $SWAPFILE"
fi
swap_on=1
if ! mkdir "$CG" 2>"$T/cg.err" ||
    ! echo "$LIMIT" >"$CG/memory.limit_in_bytes" ||
    ! echo 100 >"$CG/memory.swappiness"; then
	cat "$T/cg.err" >&2
	skip_all "cannot create a memory cgroup at $CG"
fi

plan 12

EXPECT=$T/run/expect.json
REPORT=$T/run/report.json
res_run "$T/run" "$MEMTOP" -v --exact --report=json -o report.json \
    --top 0 -- sh -c 'echo $$ >"$1/tasks" && exec "$2" "$3" "$4" "$5"' sh \
    "$CG" "$TARGETS/res-swap" "$T/run/expect.json" "$T/run/ready" \
    "$T/run/go"
ok $? "memtop runs the target to its end in a cgroup of 96 MiB" ||
    diag_file "$T/run/err"
check_json "the report follows the schema; memtop followed the exec into the target" \
    'schema()' 'r["images"] == 2'
check_json "the kernel put a good part of the heap in swap, and it settled" \
    'e["vm_swap"] > 64 * 1024 * 1024' 'e["settled"]' \
    'e["sites"]["swap_big"]["swapped"] > 32 * 1024 * 1024'
check_json "both stacks are whole: resident + swapped == usable, nothing untouched" \
    'site("swap_big")["live_bytes"] == e["sites"]["swap_big"]["usable"]' \
    'site("swap_small")["live_bytes"] == e["sites"]["swap_small"]["usable"]' \
    'site("swap_big")["resident_bytes"] + site("swap_big")["swapped_bytes"] == site("swap_big")["live_bytes"]' \
    'site("swap_small")["resident_bytes"] + site("swap_small")["swapped_bytes"] == site("swap_small")["live_bytes"]' \
    'site("swap_big")["untouched_bytes"] == 0' \
    'site("swap_small")["untouched_bytes"] == 0'
check_json "swap_big: swapped and resident bytes within 1 MiB of the target's own count" \
    'within(site("swap_big")["swapped_bytes"], e["sites"]["swap_big"]["swapped"], 1 << 20)' \
    'within(site("swap_big")["resident_bytes"], e["sites"]["swap_big"]["resident"], 1 << 20)'
check_json "swap_small: swapped and resident bytes within 1 MiB of the target's own count" \
    'within(site("swap_small")["swapped_bytes"], e["sites"]["swap_small"]["swapped"], 1 << 20)' \
    'within(site("swap_small")["resident_bytes"], e["sites"]["swap_small"]["resident"], 1 << 20)'
check_json "allocations explain the kernel's VmSwap of the same moment to within 4 MiB" \
    'r["resident_scan"]["swapped_bytes"] <= r["resident_scan"]["vm_swap"]' \
    'within(r["resident_scan"]["swapped_bytes"], r["resident_scan"]["vm_swap"], 4 << 20)' \
    'r["resident_scan"]["swapped_bytes"] == sum(s["swapped_bytes"] for s in r["stacks"])'
check_json "the swapped line is the kernel's VmSwap (within 1 MiB of the target's reading)" \
    'within(r["final"]["swapped"], e["vm_swap"], 1 << 20)' \
    'r["peak"]["swapped"] >= r["final"]["swapped"]'

# The same with the pread fallback.
EXPECT=$T/pread/expect.json
REPORT=$T/pread/report.json
MEMTOP_PAGEMAP=pread res_run "$T/pread" "$MEMTOP" -v --exact --report=json \
    -o report.json --top 0 -- \
    sh -c 'echo $$ >"$1/tasks" && exec "$2" "$3" "$4" "$5"' sh \
    "$CG" "$TARGETS/res-swap" "$T/pread/expect.json" "$T/pread/ready" \
    "$T/pread/go"
ok $? "pread: memtop runs the target to its end" || diag_file "$T/pread/err"
check_json "pread: both stacks within 1 MiB of the target's count, whole, and VmSwap explained to 4 MiB" \
    'r["resident_scan"]["method"] == "pread"' 'e["settled"]' \
    'e["sites"]["swap_big"]["swapped"] > 32 * 1024 * 1024' \
    'within(site("swap_big")["swapped_bytes"], e["sites"]["swap_big"]["swapped"], 1 << 20)' \
    'within(site("swap_small")["swapped_bytes"], e["sites"]["swap_small"]["swapped"], 1 << 20)' \
    'site("swap_big")["resident_bytes"] + site("swap_big")["swapped_bytes"] == site("swap_big")["live_bytes"]' \
    'within(r["resident_scan"]["swapped_bytes"], r["resident_scan"]["vm_swap"], 4 << 20)'

# The same run, as text.
EXPECT=
res_run "$T/text" "$MEMTOP" -v --exact --report -o report.txt --top 4 -- \
    sh -c 'echo $$ >"$1/tasks" && exec "$2" "$3" "$4" "$5"' sh \
    "$CG" "$TARGETS/res-swap" "$T/text/expect.json" "$T/text/ready" \
    "$T/text/go"
ok $? "text: memtop runs the target to its end" || diag_file "$T/text/err"
out=$(cat "$T/text/report.txt")
like "$out" 'swap \(VmSwap\): +[0-9.]+ MiB, of which allocations explain [0-9.]+ MiB' \
    "text: the swap line reconciles VmSwap with the stacks"

tap_done
