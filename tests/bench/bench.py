#!/usr/bin/env python3
"""memtop benchmark: the cost of watching a program, as ratios.

Runs each workload plainly and under each tool in the same invocation,
interleaved (A B A B ...), and prints, per workload and tool, the median over
rounds of (time under the tool) / (plain time of the same round).  Wall time
is what the user waits for; CPU time (user + system of every process the run
started, tools included) is what the machine pays.

    tests/bench/bench.py --build BUILD_DIR [--rounds N] [--only NAME,...]
                         [--tools count,memtop,exact,heaptrack]
                         [--cpu N] [--markdown FILE]

A tool named memtop@SIZE (memtop@64K, say) is the default mode with that
sampling mean, for choosing the default; memtop=DIR is the default mode of
the memtop built in DIR, for comparing two builds in the same rounds.
--cpu N runs every command, plain or not, on CPU N alone (taskset): on a
machine whose CPUs run at different speeds it keeps a round's runs alike,
for comparing builds; memtop's own process then shares the target's CPU,
so it is not for the table of record.  "forward" and "count" are the
yardsticks of tests/bench/floor.c (built by `make bench`): an LD_PRELOAD
whose malloc and free only call the real ones, and one that also counts
each thread's bytes from the chunk header, the least any tracker that
knows the bytes in use does.

`make bench` runs it from the build directory.  Nothing here asserts a time:
the machine may be shared and noisy.  Targets are printed beside the ratios.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SYS_PYTHON = "/usr/bin/python3"


def sqlite_script(path):
    """Write a SQL script that keeps sqlite's allocator busy for a few seconds."""
    with open(path, "w") as f:
        f.write(
            "PRAGMA cache_size = -65536;\n"
            "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB);\n"
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
            "WHERE x < 400000)\n"
            "INSERT INTO t SELECT x, hex(randomblob(12)), random() / 7.0, "
            "randomblob(x % 200) FROM n;\n"
            "CREATE INDEX tb ON t(b);\n"
            "CREATE INDEX tc ON t(c);\n"
            "SELECT substr(b, 1, 2) AS k, count(*), sum(length(d)), avg(c) "
            "FROM t GROUP BY k ORDER BY k LIMIT 5;\n"
            "SELECT count(*) FROM t AS x JOIN t AS y ON x.a = y.a + 1 "
            "WHERE x.c > y.c;\n"
            "UPDATE t SET b = b || 'x' WHERE a % 3 = 0;\n"
            "DELETE FROM t WHERE a % 5 = 0;\n"
            "SELECT group_concat(b, ',') IS NOT NULL FROM "
            "(SELECT b FROM t ORDER BY c LIMIT 50000);\n"
        )


def workloads(build, tmp, python):
    """Return the list of (name, argv, target) workloads available here."""
    out = []
    churn = os.path.join(build, "tests", "bench", "churn")
    if os.access(churn, os.X_OK):
        out.append(("churn-1t", [churn, "-t", "1"], 1.10))
        out.append(("churn-2t", [churn, "-t", "2"], 1.10))
        # Growing: every allocation a new peak.
        out.append(("grow-1t", [churn, "-g", "-t", "1", "-n", "1000000"],
                    1.10))
    else:
        print("bench: %s not built (make bench builds it)" % churn,
              file=sys.stderr)
    if shutil.which("sqlite3"):
        sql = os.path.join(tmp, "bench.sql")
        sqlite_script(sql)
        out.append(("sqlite3", ["sqlite3", ":memory:", ".read " + sql], 1.05))
    if os.access(SYS_PYTHON, os.X_OK):
        src = os.path.join(tmp, "stdlib")
        lib = "/usr/lib/python3.11"
        if not os.path.isdir(src):
            shutil.copytree(lib, src, symlinks=True,
                            ignore=shutil.ignore_patterns(
                                "__pycache__", "site-packages",
                                "dist-packages", "test", "tests"))
        out.append(("compileall", [SYS_PYTHON, "-m", "compileall", "-q",
                                   "-f", "-j", "1", src], 1.05))
    pydir = os.path.join(HERE, "python")
    if os.path.isdir(pydir):
        for f in sorted(os.listdir(pydir)):
            if f.endswith(".py"):
                out.append(("py-" + f[:-3], [python, os.path.join(pydir, f)],
                            1.10))
    return out


def tools(build, names, tmp):
    """Return (name, prefix) for each tool; a prefix is put before argv."""
    memtop = os.path.join(build, "memtop")
    known = {
        "memtop": [memtop, "--report", "-o", os.devnull, "--"],
        "exact": [memtop, "--exact", "--report", "-o", os.devnull, "--"],
        "heaptrack": ["heaptrack", "-o", os.path.join(tmp, "ht")],
    }
    for n in ("forward", "count"):
        so = os.path.join(build, "tests", "bench", "floor-%s.so" % n)
        if os.access(so, os.R_OK):
            known[n] = ["env", "LD_PRELOAD=" + so]
    out = []
    for n in names:
        if n.startswith("memtop="):
            # memtop=DIR: the default mode of another build.
            other = os.path.join(os.path.abspath(n[7:]), "memtop")
            if not os.access(other, os.X_OK):
                sys.exit("bench: %s: no memtop built there" % n[7:])
            known[n] = [other, "--report", "-o", os.devnull, "--"]
        if n.startswith("memtop@"):
            # memtop@SIZE: the default mode with another sampling mean.
            known[n] = [memtop, "--sample-bytes", n[7:], "--report", "-o",
                        os.devnull, "--"]
        if n in ("forward", "count") and n not in known:
            print("bench: tests/bench/floor-%s.so not built (make bench "
                  "builds it), column left out" % n, file=sys.stderr)
            continue
        if n not in known:
            sys.exit("bench: unknown tool %s" % n)
        if n == "heaptrack" and not shutil.which("heaptrack"):
            print("bench: heaptrack not installed, column left out",
                  file=sys.stderr)
            continue
        out.append((n, known[n]))
    return out


def run(argv, pin=None):
    """Run argv quietly (on CPU pin alone, if given); return (wall seconds,
    cpu seconds, exit status)."""
    if pin is not None:
        argv = ["taskset", "-c", str(pin)] + argv
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        sys.stderr.write("bench: %s exited %d\n%s\n" % (
            " ".join(argv), p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return wall, cpu, p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=".")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--tools", default="count,memtop,exact,heaptrack")
    ap.add_argument("--python", default=SYS_PYTHON)
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--markdown")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="memtop-bench-")
    try:
        loads = workloads(os.path.abspath(args.build), tmp, args.python)
        if args.only:
            keep = set(args.only.split(","))
            loads = [w for w in loads if w[0] in keep]
        tls = tools(os.path.abspath(args.build), args.tools.split(","), tmp)
        results = {}
        for name, argv, target in loads:
            walls = {t: [] for t, _ in tls}
            cpus = {t: [] for t, _ in tls}
            plain_walls = []
            for r in range(args.rounds):
                pw, pc, _ = run(argv, args.cpu)
                plain_walls.append(pw)
                for t, prefix in tls:
                    w, c, _ = run(prefix + argv, args.cpu)
                    walls[t].append(w / pw)
                    cpus[t].append(c / pc if pc > 0 else float("nan"))
                # Clean heaptrack's files between rounds.
                for f in os.listdir(tmp):
                    if f.startswith("ht"):
                        os.unlink(os.path.join(tmp, f))
            results[name] = (target, statistics.median(plain_walls),
                             {t: statistics.median(walls[t]) for t, _ in tls},
                             {t: statistics.median(cpus[t]) for t, _ in tls},
                             (min(plain_walls), max(plain_walls)),
                             {t: quartiles(walls[t]) for t, _ in tls})
            row = results[name]
            print("%-14s plain %6.2fs (%.2f-%.2f)  " % (
                name, row[1], row[4][0], row[4][1]) + "  ".join(
                "%s %5.2fx (cpu %5.2fx)" % (t, row[2][t], row[3][t])
                for t, _ in tls), flush=True)
        lines = report(results, [t for t, _ in tls], args.rounds)
        print()
        print("\n".join(lines))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("\n".join(lines) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def quartiles(xs):
    """The first and third quartiles of xs: where the middle half lies."""
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (float("nan"), float("nan"))
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return (q[0], q[2])


def report(results, tnames, rounds):
    """Format the results as a markdown table with the targets beside."""
    head = ["workload", "plain (s), its range"]
    for t in tnames:
        head.append(t + " wall")
        head.append(t + " cpu")
    head.append("target (memtop)")
    head.append("exact <= half heaptrack's overhead")
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for name, (target, plain, walls, cpus, spread, mid) in results.items():
        cells = [name, "%.2f (%.2f-%.2f)" % (plain, spread[0], spread[1])]
        for t in tnames:
            cells.append("%.2fx" % walls[t])
            cells.append("%.2fx" % cpus[t])
        ok = walls.get("memtop")
        if ok is None:
            cells.append("%.2fx: n/a" % target)
        else:
            cells.append("%.2fx: %s (rounds' middle half %.2fx-%.2fx)" % (
                target, "met" if ok <= target else "NOT met",
                mid["memtop"][0], mid["memtop"][1]))
        if "exact" in walls and "heaptrack" in walls:
            half = 1 + (walls["heaptrack"] - 1) / 2
            cells.append("%.2fx vs %.2fx: %s" % (
                walls["exact"], half,
                "met" if walls["exact"] <= half else "NOT met"))
        else:
            cells.append("n/a")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Median of %d rounds; each ratio is against the plain run "
                 "of the same round.  The plain runs' range says how much the "
                 "machine itself varied meanwhile; the middle half of the "
                 "rounds' memtop ratios (first to third quartile), how far "
                 "the median can be trusted against its target." % rounds)
    return lines


if __name__ == "__main__":
    main()
