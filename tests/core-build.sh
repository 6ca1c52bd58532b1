#!/bin/sh
# core-build.sh: what the compiler made of the library's hot paths.
#
# The hooks start fetching the live table's slot before they need it (the
# table is large, and each operation would otherwise wait for memory).
# A helper whose only effect is a prefetch counts as pure to GCC, and a
# call to it can be dropped as dead code without a word: this checks that
# the prefetches are in the machine code of the paths exact mode takes at
# every allocation and every free: one for the block's own slot, one for
# the slot of the block guessed to come next (core.h, live_prefetch_next).

. "$top_srcdir/tests/lib/tap.sh"

plan 3

LIB=$top_builddir/.libs/libmemtop.so
need "libmemtop.so (make builds it)" test -f "$LIB"
need "objdump (binutils)" objdump --version

# code FUNCTION: the disassembly of one function of the library.
code() {
	objdump -d --no-show-raw-insn "$LIB" |
	    awk -v f="<$1>:" '$2 == f { on = 1; next } on && /^$/ { exit } on'
}

code hooks_alloc_slow >"$T/alloc"
code hooks_free_other >"$T/free"
ok_cmd "the library's functions are disassembled" test -s "$T/alloc" -a \
    -s "$T/free"
# prefetches FILE: how many prefetch instructions the disassembly holds.
prefetches() {
	grep -c prefetch "$1"
}

n=$(prefetches "$T/alloc")
test "$n" -ge 2
ok $? "an allocation's path prefetches twice (hooks_alloc_slow)" ||
    diag "$n prefetch instructions in hooks_alloc_slow"
n=$(prefetches "$T/free")
test "$n" -ge 2
ok $? "a free's path in exact mode prefetches twice (hooks_free_other)" ||
    diag "$n prefetch instructions in hooks_free_other"

tap_done
