#!/bin/sh
# core-unwind.sh: memtop's own unwinder (core/unwind.c) against libunwind.
#
# MEMTOP_UNWIND=check makes the tracker unwind every sample twice, with its
# cached call-frame rules and with libunwind, compare the two (the
# tracker's own frames left out) and say at exit how many agreed, how many
# it left to libunwind and how many differed.  The targets: core-unwind
# (a frame addressed through the frame pointer, a recursion deeper than the
# frame limit, signal handlers on the thread's stack and on a sigaltstack,
# a second thread, one function called in turn from two callers with the
# same stack pointer, which the repeat of the last walk must tell apart,
# dlopen and dlclose), torture (threads, fork), and the
# Python interpreter.  Then the report of core-unwind with the unwinder is
# compared with its report with libunwind alone (MEMTOP_UNWIND=libunwind),
# site by site, frame by frame.

. "$top_srcdir/tests/lib/tap.sh"

plan 14

UNW=$TARGETS/core-unwind
need "tests/targets/core-unwind (make check builds it)" test -x "$UNW"

# counts FILE: "AGREED LEFT DIFFERED" from the check line in FILE.
counts() {
	sed -n 's/^memtop: unwind check: \([0-9]*\) walked and agreed, \([0-9]*\) left to libunwind, \([0-9]*\) differed$/\1 \2 \3/p' "$1"
}

REPORT=$T/check.json
MEMTOP_UNWIND=check "$MEMTOP" --exact --top 100 --report=json -o "$REPORT" \
    -- "$UNW" >"$T/out" 2>"$T/err"
ok $? "core-unwind, checked: memtop exits 0" || diag_file "$T/err"
set -- $(counts "$T/err")
ok "$([ "${3:-1}" -eq 0 ] && echo 0 || echo 1)" \
    "core-unwind: no unwind differs from libunwind's (${1:-?} agreed)" ||
    diag_file "$T/err"
ok "$([ "${1:-0}" -ge 150 ] && [ "${2:-0}" -ge 100 ] && echo 0 || echo 1)" \
    "core-unwind: 150 or more walked, the 100 signal handlers' left to libunwind (${1:-?}, ${2:-?})" ||
    diag_file "$T/err"

FN="[f['function'] for f in site('%s', file='core-unwind.c')['frames']]"
fns() { printf "$FN" "$1"; }
check_json "the frame-pointer frame: frame_site, then main" \
    "$(fns frame_site)[:2] == ['frame_site', 'main']" \
    "site('frame_site', file='core-unwind.c')['allocations'] == 50"
check_json "the deep recursion: cut at the frame limit (128), deep_site all along" \
    "site('deep_site', file='core-unwind.c')['truncated']" \
    "set($(fns deep_site)) == {'deep_site'}" \
    "len($(fns deep_site)) == 128" \
    "site('deep_site', file='core-unwind.c')['allocations'] == 50"
check_json "the handlers: through the signal frame to main, on both stacks" \
    "$(fns handler_site)[:2] == ['handler_site', 'on_signal']" \
    "'main' in $(fns handler_site)" \
    "$(fns altstack_site)[:2] == ['altstack_site', 'on_signal']" \
    "'main' in $(fns altstack_site)" \
    "site('altstack_site', file='core-unwind.c')['allocations'] == 50"
check_json "the thread: thread_site, then start_thread" \
    "$(fns thread_site)[0] == 'thread_site'" \
    "'start_thread' in $(fns thread_site)"
check_json "shared_site, from two callers in turn: two stacks of 50, each with its caller" \
    "sorted(([f['function'] for f in s['frames']][1], s['allocations']) for s in stacks('shared_site')) == [('caller_a', 50), ('caller_b', 50)]"

# The same program, once with the unwinder and once with libunwind alone.
SITES="frame_site deep_site handler_site altstack_site thread_site shared_site"
for how in walk libunwind; do
	MEMTOP_UNWIND=$how "$MEMTOP" --exact --top 100 --report=json \
	    -o "$T/$how.json" -- "$UNW" >"$T/out.$how" 2>"$T/err.$how" ||
	    diag_file "$T/err.$how"
done
"$PYTHON3" - "$T/walk.json" "$T/libunwind.json" $SITES >"$T/cmp" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def frames(r, fn):
    out = []
    for s in r["stacks"]:
        fr = [f for f in s["frames"] if f["file"] and f["file"].endswith("core-unwind.c")]
        if fr and fr[0]["function"] == fn:
            out.append([(f["function"], f["file"], f["line"], f["module"]) for f in s["frames"]])
    return sorted(out)
bad = 0
for fn in sys.argv[3:]:
    x, y = frames(a, fn), frames(b, fn)
    if not x or x != y:
        print("%s: unwinder %r\nlibunwind %r" % (fn, x, y)); bad = 1
sys.exit(bad)
PY
ok $? "every site's stacks are the same as with libunwind alone, frame by frame" ||
    diag_file "$T/cmp"
like "$(cat "$T/err.walk")" '^$' "without MEMTOP_UNWIND=check nothing is said"

TORTURE=$TARGETS/torture
MEMTOP_UNWIND=check "$MEMTOP" --exact --report -o /dev/null -- \
    "$TORTURE" -t 8 -w 2 -n 5000 >"$T/out" 2>"$T/err"
ok $? "torture, checked: memtop exits 0" || diag_file "$T/err"
set -- $(grep -v '^memtop: unwind check:.* 0 differed$' "$T/err" | wc -l) \
    $(counts "$T/err" | sed -n '$p')
ok "$([ "$1" -eq 0 ] && [ "${4:-1}" -eq 0 ] && [ "${2:-0}" -gt 1000 ] && echo 0 || echo 1)" \
    "torture, with its fork: no unwind differs, in parent or child (${2:-?} agreed)" ||
    diag_file "$T/err"

PY=/usr/bin/python3
MEMTOP_UNWIND=check "$MEMTOP" --exact --report -o /dev/null -- "$PY" -c '
import json, threading
def work(n):
    keep = []
    for i in range(n):
        keep.append(json.dumps({"k": [i] * (i % 50)}))
        if len(keep) > 100:
            keep.clear()
ts = [threading.Thread(target=work, args=(20000,)) for _ in range(2)]
[t.start() for t in ts]; work(20000); [t.join() for t in ts]
' >"$T/out" 2>"$T/err"
ok $? "python3, checked: memtop exits 0" || diag_file "$T/err"
set -- $(counts "$T/err")
ok "$([ "${3:-1}" -eq 0 ] && [ "${1:-0}" -gt 10000 ] && echo 0 || echo 1)" \
    "python3: no unwind differs from libunwind's (${1:-?} agreed, ${2:-?} left)" ||
    diag_file "$T/err"

tap_done
