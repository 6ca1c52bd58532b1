#!/bin/sh
# report-debugfile.sh: a program whose debug information is in a separate
# file, as distributions ship it.  memtop finds the file by the program's
# debug link (in .debug/ beside it) and by its build id (under
# /usr/lib/debug/.build-id), and names every frame with its line, inlined
# ones included.  With no debug file anywhere, functions are still named
# from the symbol table, and memtop does not load the debuginfod client
# (an HTTP and TLS stack, tens of milliseconds) unless DEBUGINFOD_URLS names
# a server to ask.  The C library's frames are named from its debug file's
# symbol table (its local functions too) but its debug information is not
# read: no file, no line (libc6-dbg installed; see symbols.c for why); the
# same for the dynamic loader's frames (a thread's TLS, a dlopen).
# Whatever this test puts under /usr/lib/debug it removes.

. "$top_srcdir/tests/lib/tap.sh"

plan 15

need "objcopy (binutils)" objcopy --version
need "root, to write under /usr/lib/debug" test "$(id -u)" = 0
need "the debuginfod client (libdebuginfod1)" \
    sh -c 'ldconfig -p | grep -q "libdebuginfod\.so\.1 "'

# build_id FILE: the file's build id, in hex.
build_id() {
	LC_ALL=C readelf -n "$1" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p'
}
BUILDID=$(build_id "$TARGETS/known-inline")
need "a build id in the test program" test -n "$BUILDID"
LIBC=$(ldd /bin/ls | sed -n 's/.*libc\.so\.6 => \([^ ]*\) .*/\1/p')
LIBCID=$(build_id "$LIBC")
need "the C library's debug file (libc6-dbg)" test -r \
    "/usr/lib/debug/.build-id/$(echo "$LIBCID" | cut -c1-2)/$(echo "$LIBCID" | cut -c3-).debug"
LDSO=$(ldd /bin/ls | sed -n 's/^[[:space:]]*\(\/[^ ]*\/ld-[^ ]*\) (.*/\1/p')
LDSOID=$(build_id "$LDSO")
need "the dynamic loader's debug file (libc6-dbg)" test -r \
    "/usr/lib/debug/.build-id/$(echo "$LDSOID" | cut -c1-2)/$(echo "$LDSOID" | cut -c3-).debug"
need "tests/targets/core-unwind (make check builds it)" \
    test -x "$TARGETS/core-unwind"
IDDIR=/usr/lib/debug/.build-id/$(echo "$BUILDID" | cut -c1-2)
IDFILE=$IDDIR/$(echo "$BUILDID" | cut -c3-).debug
made_iddir=0
cleanup() {
	rm -f "$IDFILE"
	[ "$made_iddir" -eq 1 ] && rmdir "$IDDIR" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
[ -e "$IDFILE" ] && need "no debug file at $IDFILE already" false

# The program without its debug sections, and those sections alone.
mkdir -p "$T/bin/.debug"
cp "$TARGETS/known-inline" "$T/bin/prog"
objcopy --only-keep-debug "$T/bin/prog" "$T/bin/.debug/prog.debug"
objcopy --strip-debug "$T/bin/prog"
cp "$T/bin/prog" "$T/bin/bare"
(cd "$T/bin/.debug" && objcopy --add-gnu-debuglink=prog.debug ../prog)

REPORT=$T/r.json
EXPECT=$T/expect
LINES="[(f['function'], f['line']) for f in site('inner_alloc', file='known-inline.c')['frames'][:4]] == [('inner_alloc', e['inner']), ('middle_alloc', e['middle']), ('outer_site', e['outer']), ('main', e['main'])]"

# 1-2: by the debug link.
"$MEMTOP" --exact --report=json -o "$REPORT" -- "$T/bin/prog" "$EXPECT" \
    >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0 (debug link)" || diag_file "$T/err"
check_json "by the debug link: inlined frames and lines" "$LINES"

# 3-4: by the build id, the program without a debug link.
[ -d "$IDDIR" ] || { mkdir -p "$IDDIR" && made_iddir=1; }
cp "$T/bin/.debug/prog.debug" "$IDFILE"
"$MEMTOP" --exact --report=json -o "$REPORT" -- "$T/bin/bare" "$EXPECT" \
    >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0 (build id)" || diag_file "$T/err"
check_json "by the build id: inlined frames and lines" "$LINES"
rm -f "$IDFILE"

# 5-7: no debug file anywhere: names from the symbol table, no lines, and
# the debuginfod client is not loaded (LD_DEBUG=files lists every object
# memtop and the program load, dlopen included).
LD_DEBUG=files "$MEMTOP" --exact --report=json -o "$REPORT" -- \
    "$T/bin/bare" "$EXPECT" >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0 (no debug file)" || diag_file "$T/err"
check_json "no debug file: functions named, without lines" \
    "[(f['function'], f['line']) for f in site('outer_site')['frames'][:2]] == [('outer_site', None), ('main', None)]"
! grep -q 'file=libdebuginfod' "$T/err"
ok $? "without DEBUGINFOD_URLS the debuginfod client is not loaded" ||
    grep 'file=libdebuginfod' "$T/err" | diag_file /dev/stdin

# 8-9: with a server named (one that refuses at once), it is asked.
DEBUGINFOD_URLS=http://127.0.0.1:9 DEBUGINFOD_CACHE_PATH=$T/cache \
    DEBUGINFOD_TIMEOUT=2 LD_DEBUG=files "$MEMTOP" --exact --report=json \
    -o "$REPORT" -- "$T/bin/bare" "$EXPECT" >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0 (DEBUGINFOD_URLS set)" || diag_file "$T/err"
grep -q 'file=libdebuginfod' "$T/err"
ok $? "with DEBUGINFOD_URLS the debuginfod client is asked"

# 10-12: ls reads a directory: glibc's opendir allocates its buffer in
# __alloc_dir, a function local to the library, named only in its debug
# file's symbol table.
EXPECT=
"$MEMTOP" --exact --top 0 --report=json -o "$REPORT" -- /bin/ls / \
    >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0 (ls)" || diag_file "$T/err"
check_json "the C library's local function is named from its debug file" \
    "site('__alloc_dir')['frames'][0]['module'].startswith('libc.so')"
check_json "no frame of the C library has a file or a line" \
    "[(f['function'], f['file'], f['line']) for st in r['stacks'] for f in st['frames'] if (f['module'] or '').startswith('libc.so') and (f['file'] is not None or f['line'] is not None)] == []"

# 13-15: a second thread (its TLS) and a dlopen: the loader allocates, and
# its frames are named from its debug file's symbol table, without a file
# or a line (their lookup read the loader's whole compressed debug
# information at every report).
"$MEMTOP" --exact --top 0 --report=json -o "$REPORT" -- \
    "$TARGETS/core-unwind" >"$T/out" 2>"$T/err"
is $? 0 "memtop exits 0 (core-unwind)" || diag_file "$T/err"
check_json "the loader's frames are named: its TLS and dlopen functions" \
    "{'_dl_allocate_tls', '_dl_open'} <= {f['function'] for st in r['stacks'] for f in st['frames'] if (f['module'] or '').startswith('ld-')}"
check_json "no frame of the loader has a file or a line" \
    "[(f['function'], f['file'], f['line']) for st in r['stacks'] for f in st['frames'] if (f['module'] or '').startswith('ld-') and (f['file'] is not None or f['line'] is not None)] == []"

tap_done
