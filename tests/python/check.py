#!/usr/bin/env python3
"""check.py: checks of memtop's Python stacks, for tests/python-*.sh.

    check.py sites RUNS...
    check.py allocators RUNS...

Each RUN is LABEL:STATUS:REPORT:EXPECT, a run of memtop --exact
--report=json on a test script (its exit status, the report, and the
expectations the script wrote).  Prints TAP, plan included, and exits 0
when every check passed.

sites: tests/python/sites.py.  For every site, the Python frames of the
stacks holding its bytes must be exactly the stack Python itself gave at
that line (file, name, line, innermost first, down to <module>), merged
with native frames: a native frame innermost, native frames between a
callback and the C code that called it, native frames outside <module>.
numpy sites may have numpy's own Python frames inside the expected ones.

allocators: tests/python/objects.py, see tests/python-allocators.sh.
"""

import json
import os
import sys

checks = []     # (ok, what, diagnostics)


def check(ok, what, diag=()):
    checks.append((bool(ok), what, list(diag)))
    return ok


def finish():
    print("1..%d" % len(checks))
    failed = 0
    for n, (ok, what, diag) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
        if not ok:
            failed += 1
            for d in diag[:40]:
                print("#   " + str(d))
    return 1 if failed else 0


def load_run(arg):
    label, status, report, expect = arg.split(":", 3)
    r = e = None
    try:
        with open(report) as f:
            r = json.load(f)
    except (OSError, ValueError) as x:
        r = {"error": str(x)}
    try:
        with open(expect) as f:
            e = json.load(f)
    except (OSError, ValueError) as x:
        e = {"error": str(x)}
    return label, int(status), r, e


def is_special(fr):
    return fr["kind"] == "python" and fr.get("file") is None


def py_frames(stack):
    """The Python frames of a stack as [file, name, line], innermost first."""
    return [[f["file"], f["function"], f["line"]] for f in stack["frames"]
            if f["kind"] == "python" and not is_special(f)]


def show(stack, limit=30):
    out = ["stack %s: total %s" % (stack.get("id"), stack["total_bytes"])]
    for f in stack["frames"][:limit]:
        out.append("  %-6s %s %s:%s" % (f["kind"], f["function"],
                                         f.get("file"), f.get("line")))
    return out


def matches(stack, want, inner_files):
    """Python frames equal want, allowing extra inner frames from files
    whose path contains one of inner_files."""
    got = py_frames(stack)
    if len(got) < len(want) or got[len(got) - len(want):] != want:
        return False
    extra = got[:len(got) - len(want)]
    return all(any(s in (fr[0] or "") for s in inner_files) for fr in extra) \
        if inner_files else not extra


def check_site_group(label, r, name, group, inner_files=()):
    want = group[0]["stack"]
    size = sum(s["size"] for s in group)
    found = [s for s in r["stacks"] if matches(s, want, inner_files)]
    total = sum(s["total_bytes"] for s in found)
    diag = ["want Python frames (innermost first):"]
    diag += ["  %s %s:%s" % (w[1], w[0], w[2]) for w in want]
    if not found:
        # The closest: stacks whose innermost Python frame is the site.
        near = [s for s in r["stacks"] if py_frames(s)[:1] == want[:1]]
        diag.append("no stack has them; %d stacks start there" % len(near))
        for s in near[:2]:
            diag += show(s)
        return check(False, "%s: %s: the stack is %s" %
                     (label, name, " <- ".join(w[1] for w in want[:3])),
                     diag)
    ok = total >= size
    if not ok:
        diag.append("bytes %d < %d" % (total, size))
    # Merged: a native frame innermost; natives outside <module>.
    merged = any(s["frames"][0]["kind"] == "native" or
                 is_special(s["frames"][0]) for s in found)
    if not merged:
        diag.append("no stack has a native frame innermost")
        diag += show(found[0])
    outer = any(s["frames"][-1]["kind"] == "native" for s in found)
    if want[-1][1] == "<module>" and not outer:
        diag.append("no native frames outside <module>")
        diag += show(found[0])
        merged = False
    return check(ok and merged, "%s: %s: %d bytes at %s, merged with native "
                 "frames" % (label, name, size,
                             " <- ".join(w[1] for w in want[:3])), diag)


def sites(runs):
    for arg in runs:
        label, status, r, e = load_run(arg)
        check(status == 0 and "error" not in r and "error" not in e,
              "%s: memtop and the script exit 0, report written" % label,
              ["status %d" % status, r.get("error"), e.get("error")])
        if "error" in r or "error" not in e and "sites" not in e:
            continue
        py = r.get("python") or {}
        check(py.get("state") == "active" and
              py.get("version") == e.get("python"),
              "%s: Python stacks active for %s" % (label, e.get("python")),
              [py])
        if "error" in e:
            continue
        groups = {}
        for s in e["sites"]:
            groups.setdefault(s["name"], []).append(s)
        for name, group in groups.items():
            inner = ("numpy",) if name.startswith("numpy") else ()
            check_site_group(label, r, name, group, inner)
        # A callback from C: C frames between it and its caller.
        cb = groups.get("callback-from-c")
        if cb:
            want = cb[0]["stack"]
            ok = False
            for s in r["stacks"]:
                if not matches(s, want, ()):
                    continue
                fr = s["frames"]
                names = [f["function"] if f["kind"] == "python" else None
                         for f in fr]
                i, j = names.index(want[0][1]), names.index(want[1][1])
                ok = ok or any(f["kind"] == "native" for f in fr[i + 1:j])
            check(ok, "%s: native frames between sort's key function and "
                  "its caller" % label)


def stacks_at(r, file_end, line):
    """Stacks whose innermost Python frame is at file_end:line."""
    out = []
    for s in r["stacks"]:
        p = py_frames(s)
        if p and (p[0][0] or "").endswith(file_end) and p[0][2] == line:
            out.append(s)
    return out


def allocators(runs):
    """tests/python/objects.py under the three pymalloc modes."""
    res = {}
    for arg in runs:
        label, status, r, e = load_run(arg)
        mode = label.rsplit("-", 1)[-1]
        ok = status == 0 and "error" not in r and "error" not in e
        check(ok, "%s: memtop and the script exit 0" % label,
              ["status %d" % status, r.get("error"), e.get("error")])
        if not ok:
            continue
        res.setdefault(label.rsplit("-", 1)[0], {})[mode] = (r, e)
        n, obj, line = e["n"], e["object_size"], e["line"]
        arenas = [s for s in r["stacks"] if s["frames"] and
                  s["frames"][0]["function"] == "[pymalloc arena]"]
        at = [s for s in stacks_at(r, "objects.py", line)
              if s not in arenas]
        total = sum(s["total_bytes"] for s in at)
        live = sum(s["live_bytes"] for s in at)
        pyobj = [s for s in at if s["frames"] and
                 s["frames"][0]["function"] == "[python object]"]
        diag = ["%d stacks at line %d: %d bytes total, %d live; %d arena "
                "stacks; note %s" % (len(at), line, total, live, len(arenas),
                                     (r.get("python") or {}).get("note"))]
        for s in at[:2]:
            diag += show(s, 12)
        if mode == "default":
            # pymalloc untouched: the objects are not seen one by one,
            # their arenas are, labelled.
            check(total < n * obj // 10 and arenas,
                  "%s: the objects' line holds little; pymalloc arenas are "
                  "labelled [pymalloc arena]" % label, diag)
            check(any(py_frames(s)[:1] and py_frames(s)[0][2] == line
                      for s in arenas),
                  "%s: an arena is charged to the line that needed it"
                  % label, diag)
        elif mode == "pyalloc":
            # Each object charged to its line at its size class.
            cls = (obj + 15) // 16 * 16
            # (plus, on the first call, a few bytes CPython caches there)
            check(n * cls <= total <= n * cls + 4096 and
                  len(pyobj) == len(at) and at,
                  "%s: %d objects x %d bytes (their size class) charged "
                  "to their line, labelled [python object]" % (label, n, cls),
                  diag + ["want %d" % (n * cls)])
            check(live == 0,
                  "%s: freed objects leave nothing live at their line"
                  % label, diag)
        elif mode == "malloc":
            # PYTHONMALLOC=malloc: every object reaches malloc.
            check(total >= n * obj and not arenas and not pyobj,
                  "%s: PYTHONMALLOC=malloc: %d objects reach malloc at their "
                  "line, no arenas" % (label, n), diag)
            check(live == 0,
                  "%s: freed objects leave nothing live at their line"
                  % label, diag)
    # --python-allocators counts frees with the sizes of the allocations:
    # 1 and 20 rounds of making and freeing the objects end alike.
    for interp, modes in sorted(res.items()):
        if "rounds1" in modes and "rounds20" in modes:
            a = modes["rounds1"][0]["final"]["allocated"]
            b = modes["rounds20"][0]["final"]["allocated"]
            c = modes["rounds20"][0]["counts"]
            check(a is not None and b is not None and
                  abs(a - b) < 64 * 1024 and
                  c["allocations"] > 20 * modes["rounds20"][1]["n"],
                  "%s: --python-allocators: 20 rounds of objects end where 1 "
                  "round does (%s vs %s bytes)" % (interp, b, a),
                  ["counts: %s" % c])


def main():
    if len(sys.argv) < 3:
        print("usage: check.py sites|allocators RUNS...", file=sys.stderr)
        return 2
    {"sites": sites, "allocators": allocators}[sys.argv[1]](sys.argv[2:])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
