#!/bin/sh
# cli-untracked.sh: targets LD_PRELOAD cannot reach (statically linked,
# set-user-ID to another user, a script whose interpreter is static) run
# anyway; memtop says why on one line and still reports resident and
# swapped memory, with allocated memory unknown.

. "$top_srcdir/tests/lib/tap.sh"

plan 23

REPORT=$T/r.json
STATIC=$TARGETS/known-static

need "a statically linked test target (libc.a)" test -x "$STATIC"
need "root, to make a set-user-ID file owned by another user" \
    test "$(id -u)" -eq 0

"$MEMTOP" --report=json -o "$REPORT" -- "$STATIC" "$T/expect" >"$T/out" 2>"$T/err"
is $? 1 "a static target runs; memtop exits 1 as it could not track it"
err=$(cat "$T/err")
like "$err" '^memtop: .*statically linked' "memtop says it is statically linked"
is "$(wc -l <"$T/err")" 1 "on one line"
check_json "the report follows the schema" 'schema()'
check_json "allocated is unknown, resident is known" 'not r["tracked"]' \
    'r["peak"]["allocated"] is None' 'r["final"]["allocated"] is None' \
    'r["peak"]["resident"] > 0' '"statically linked" in r["untracked_reason"]'
test -s "$T/expect"
ok $? "the static target ran to its end"

"$MEMTOP" --report -- "$STATIC" - >"$T/out" 2>"$T/err"
grep -q 'peak allocated:     unknown' "$T/out" &&
    grep -q 'peak resident:      [1-9]' "$T/out"
ok $? "the text report says allocated unknown, resident known" ||
    diag_file "$T/out"

# A static target's own failure passes through as it is: here it is
# killed by SIGTERM while it sleeps.
"$MEMTOP" --report -o "$T/out" -- "$STATIC" - sleep "$T/ready" \
    >/dev/null 2>"$T/err" &
mpid=$!
i=0
while [ ! -e "$T/ready" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
pkill -TERM -f "known-static - sleep $T/ready"
wait "$mpid"
is $? 143 "a static target killed by SIGTERM: memtop exits 143"

# A script whose #! interpreter is static.
printf '#!%s\n' "$STATIC" >"$T/script"
chmod 755 "$T/script"
"$MEMTOP" --report=json -o "$REPORT" -- "$T/script" >"$T/out" 2>"$T/err"
is $? 1 "a script run by a static interpreter: exit 1"
like "$(cat "$T/err")" 'statically linked' "the #! line is followed"

# Set-user-ID to someone else: the loader ignores LD_PRELOAD.
cp "$TARGETS/known" "$T/setuid"
chown nobody "$T/setuid" && chmod 4755 "$T/setuid"
ok $? "a set-user-ID copy of a target"
chmod 1777 "$T"
"$MEMTOP" --report=json -o "$REPORT" -- "$T/setuid" - >"$T/out" 2>"$T/err"
is $? 1 "a set-user-ID target runs: exit 1"
like "$(cat "$T/err")" '^memtop: .*set-user-ID' "memtop says it is set-user-ID"
check_json "allocated unknown for the set-user-ID target" 'not r["tracked"]' \
    'r["peak"]["resident"] > 0'

# A library that loads but never attaches (here: libm, in place of
# libmemtop.so): memtop finds out at exit and says so.
LIBM=$(ldd "$TARGETS/known" | sed -n 's/.*=> \(\/[^ ]*libm\.so[^ ]*\).*/\1/p')
[ -n "$LIBM" ] || LIBM=$(ldconfig -p | sed -n 's/.*libm\.so\.6.*=> //p' | head -n 1)
MEMTOP_LIBRARY=$LIBM "$MEMTOP" --report=json -o "$REPORT" -- \
    "$TARGETS/known" - >"$T/out" 2>"$T/err"
is $? 1 "a target the library never attached to: exit 1"
like "$(cat "$T/err")" '^memtop: the tracking library was not loaded in .*known' \
    "memtop says the library was not loaded"
check_json "allocated unknown when the library never attached" \
    'not r["tracked"]' 'r["peak"]["allocated"] is None' \
    '"not loaded" in r["untracked_reason"]'
printf '#!/bin/sh\nexit 5\n' >"$T/fail5"
chmod 755 "$T/fail5"
MEMTOP_LIBRARY=$LIBM "$MEMTOP" --report -o "$T/out" -- "$T/fail5" \
    >/dev/null 2>"$T/err"
is $? 5 "an untracked target's non-zero status passes through"
MEMTOP_LIBRARY=$T/no-such-library.so "$MEMTOP" --report -- true >"$T/out" 2>"$T/err"
is $? 1 "MEMTOP_LIBRARY naming no file: exit 1"
like "$(cat "$T/err")" '^memtop: MEMTOP_LIBRARY=.*no-such-library' \
    "MEMTOP_LIBRARY naming no file: says so"

# An ordinary dynamic target is tracked, for contrast.
"$MEMTOP" --report=json -o "$REPORT" -- "$TARGETS/known" - >"$T/out" 2>"$T/err"
is $? 0 "a dynamic target: exit 0"
is "$(cat "$T/err")" "" "nothing on stderr"
check_json "it is tracked" 'r["tracked"]' 'r["peak"]["allocated"] > 0'

tap_done
