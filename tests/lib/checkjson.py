#!/usr/bin/env python3
"""checkjson.py: checks on a memtop JSON report, for the shell tests.

    checkjson.py [--expect EXPECT.json] REPORT.json EXPR...

Loads the report (it must parse and follow the schema of
docs/report-json.md), then evaluates each Python expression; exits 0 when
every one is true, 1 with a diagnostic otherwise.  Names available in the
expressions:

    r           the report (a dict)
    e           the expectations file, when --expect is given
    site(fn, line=None, file=None)
                the one stack whose first frame in a file named `file`
                (default: any) is function `fn` (and line `line`); fails
                unless exactly one stack matches
    stacks(fn)  every stack with a frame whose function is `fn`
    within(got, want, bound)
                abs(got - want) <= bound, saying all three when not
    schema()    True when the report follows the documented schema
    sigma_bytes(size, n, mean), sigma_count(size, n, mean)
                the standard deviation of memtop's estimate of the bytes
                (allocations) of n blocks of `size` usable bytes, sampled
                with a mean of `mean` bytes between samples
"""

import json
import math
import os
import sys

failures = []


def note(msg):
    failures.append(msg)


def frame_file_matches(frame, file):
    if file is None:
        return True
    return frame.get("file") is not None and \
        os.path.basename(frame["file"]) == file


def site(fn, line=None, file=None):
    """The one stack allocated at function fn (and line) in file."""
    found = []
    for st in R["stacks"]:
        for fr in st["frames"]:
            if not frame_file_matches(fr, file):
                continue
            if fr["function"] == fn and (line is None or fr["line"] == line):
                found.append(st)
            break
    if len(found) != 1:
        names = [[f["function"] + ":" + str(f["line"]) for f in s["frames"][:4]]
                 for s in R["stacks"][:12]]
        raise AssertionError("%d stacks allocated at %s line %s in %s; top "
                             "stacks: %s" % (len(found), fn, line, file, names))
    return found[0]


def stacks(fn):
    """Every stack with a frame in function fn."""
    return [s for s in R["stacks"]
            if any(f["function"] == fn for f in s["frames"])]


def within(got, want, bound):
    if abs(got - want) <= bound:
        return True
    note("got %r, want %r within %r (off by %r)" % (got, want, bound,
                                                    got - want))
    return False


def sample_p(size, mean):
    """Probability that a block of size bytes is sampled."""
    return 1.0 - math.exp(-float(size) / float(mean))


def sigma_bytes(size, n, mean):
    """Each block is sampled with probability P and then counts size / P:
    the variance of one block's estimate is size^2 (1 - P) / P."""
    p = sample_p(size, mean)
    return math.sqrt(n * size * size * (1.0 - p) / p)


def sigma_count(size, n, mean):
    """The same for the allocation count: (1 - P) / P per block."""
    p = sample_p(size, mean)
    return math.sqrt(n * (1.0 - p) / p)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def schema():
    """Check the report against docs/report-json.md."""
    ok = True

    def want(cond, what):
        nonlocal ok
        if not cond:
            note("schema: " + what)
            ok = False

    def nullable(v, pred):
        return v is None or pred(v)

    r = R
    for k in ("memtop_version", "command", "pid", "exit_status",
              "exit_signal", "mode", "sample_bytes", "duration_s", "tracked",
              "untracked_reason", "disabled_reason", "images", "python",
              "peak", "final", "counts", "children", "drops", "break",
              "stacks_total", "stacks"):
        want(k in r, "missing top-level field %s" % k)
    if not ok:
        return False
    want(isinstance(r["command"], list) and
         all(isinstance(a, str) for a in r["command"]), "command")
    want(is_int(r["pid"]) and r["pid"] > 0, "pid")
    want(is_int(r["exit_status"]) and 0 <= r["exit_status"] <= 255,
         "exit_status")
    want(nullable(r["exit_signal"], is_int), "exit_signal")
    want(r["mode"] in ("sampled", "exact"), "mode")
    if r["mode"] == "exact":
        want(r["sample_bytes"] is None, "sample_bytes is null in exact mode")
    else:
        want(is_int(r["sample_bytes"]) and r["sample_bytes"] > 0,
             "sample_bytes")
    want(is_num(r["duration_s"]) and r["duration_s"] >= 0, "duration_s")
    want(isinstance(r["tracked"], bool), "tracked")
    want(nullable(r["untracked_reason"], lambda v: isinstance(v, str)),
         "untracked_reason")
    want((r["untracked_reason"] is None) == r["tracked"],
         "untracked_reason set exactly when not tracked")
    want(nullable(r["disabled_reason"], lambda v: isinstance(v, str)),
         "disabled_reason")
    want(is_int(r["images"]) and r["images"] >= 0, "images")
    py = r["python"]
    want(py["state"] in ("none", "active", "unsupported", "off"),
         "python.state")
    want(nullable(py["version"], lambda v: isinstance(v, str)),
         "python.version")
    want(nullable(py["note"], lambda v: isinstance(v, str)), "python.note")
    for k in ("allocated", "resident", "swapped"):
        want(nullable(r["peak"][k], is_int), "peak." + k)
        want(nullable(r["final"][k], is_int), "final." + k)
    for k in ("time_s", "resident_time_s", "swapped_time_s"):
        want(nullable(r["peak"][k], is_num), "peak." + k)
    if r["tracked"]:
        want(is_int(r["peak"]["allocated"]), "peak.allocated when tracked")
        for k in ("allocations", "frees", "mmaps", "munmaps",
                  "allocated_bytes", "freed_bytes", "mapped_bytes",
                  "unmapped_bytes", "samples", "sampled_frees", "forks"):
            want(is_int(r["counts"].get(k)), "counts." + k)
    else:
        want(r["peak"]["allocated"] is None, "peak.allocated is null "
             "when not tracked")
        want(r["stacks"] == [], "no stacks when not tracked")
    ch = r["children"]
    want(is_int(ch.get("forked")) and is_int(ch.get("programs")),
         "children.forked and children.programs")
    want(nullable(ch.get("first_pid"), is_int), "children.first_pid")
    want(nullable(ch.get("first_program"), lambda v: isinstance(v, str)),
         "children.first_program")
    want(ch.get("first_pid") is None or ch.get("programs", 0) > 0,
         "children.first_pid set only when programs were started")
    for k in ("events", "stack_table_full", "frames_truncated",
              "live_table_full", "code_table_full", "unwind_failures"):
        want(is_int(r["drops"].get(k)), "drops." + k)
    if r["break"] is not None:
        for k in ("threshold", "allocated", "size", "stack", "tid"):
            want(is_int(r["break"].get(k)), "break." + k)
    want(is_int(r["stacks_total"]) and
         r["stacks_total"] >= len(r["stacks"]), "stacks_total")
    ok = schema_resident(r, want, nullable) and ok
    prev = None
    for st in r["stacks"]:
        for k in ("id", "peak_bytes", "peak_allocations", "live_bytes",
                  "live_allocations", "total_bytes", "allocations"):
            want(is_int(st.get(k)), "stack." + k)
        want(isinstance(st.get("truncated"), bool), "stack.truncated")
        if prev is not None:
            want(prev >= st["peak_bytes"], "stacks sorted by peak_bytes")
        prev = st["peak_bytes"]
        for fr in st["frames"]:
            want(isinstance(fr.get("function"), str) and fr["function"],
                 "frame.function")
            want(nullable(fr.get("file"), lambda v: isinstance(v, str)),
                 "frame.file")
            want(nullable(fr.get("line"), lambda v: is_int(v) and v > 0),
                 "frame.line")
            want(nullable(fr.get("module"), lambda v: isinstance(v, str)),
                 "frame.module")
            want(fr.get("kind") in ("native", "python"), "frame.kind")
            want(isinstance(fr.get("inlined"), bool), "frame.inlined")
            if "address" in fr:
                want(fr["kind"] == "native" and
                     isinstance(fr["address"], str) and
                     fr["address"].startswith("0x"), "frame.address")
    return ok


def schema_resident(r, want, nullable):
    """The resident scan (docs/report-json.md, resident_scan and the
    per-stack resident fields)."""
    rs = r.get("resident_scan")
    want(isinstance(rs, dict), "resident_scan")
    if not isinstance(rs, dict):
        return False
    want(rs.get("method") in ("PAGEMAP_SCAN", "pread", "none"),
         "resident_scan.method")
    want(is_int(rs.get("passes")) and rs["passes"] >= 0,
         "resident_scan.passes")
    done = rs.get("passes", 0) > 0 and rs.get("time_s") is not None
    for k in ("time_s", "pass_s", "work_s"):
        want(nullable(rs.get(k), is_num), "resident_scan." + k)
    for k in ("polls", "pages", "allocations", "skipped_shards",
              "live_bytes", "resident_bytes", "swapped_bytes",
              "untouched_bytes", "rss_anon", "rss_file", "vm_swap",
              "rss_anon_not_heap", "resident_max_bytes",
              "swapped_max_bytes"):
        want(k in rs and nullable(rs[k], lambda v: is_int(v) and v >= 0),
             "resident_scan." + k)
    if done:
        want(rs["resident_bytes"] + rs["swapped_bytes"] +
             rs["untouched_bytes"] == rs["live_bytes"],
             "resident_scan: resident + swapped + untouched == live")
    for st in r["stacks"]:
        for k in ("resident_bytes", "swapped_bytes", "untouched_bytes",
                  "resident_max_bytes", "swapped_max_bytes"):
            want(k in st and nullable(st[k], lambda v: is_int(v) and v >= 0),
                 "stack." + k)
            want((st.get(k) is None) == (not done),
                 "stack.%s is null exactly when no scan completed" % k)
    return True


def main(argv):
    global R
    expect = None
    if len(argv) >= 2 and argv[0] == "--expect":
        with open(argv[1]) as f:
            expect = json.load(f)
        argv = argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        raw = f.read()
    try:
        R = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        print("the report is not valid JSON: %s" % err)
        return 1
    names = {"r": R, "e": expect, "site": site, "stacks": stacks,
             "within": within, "schema": schema, "math": math, "os": os,
             "sigma_bytes": sigma_bytes, "sigma_count": sigma_count,
             "sample_p": sample_p}
    status = 0
    for expr in argv[1:]:
        del failures[:]
        try:
            result = eval(expr, names)
        except Exception as err:  # the diagnostic is the point
            print("%s: %s: %s" % (expr, type(err).__name__, err))
            status = 1
            continue
        if not result:
            print("false: %s" % expr)
            for f in failures:
                print("  " + f)
            status = 1
    return status


R = None
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
