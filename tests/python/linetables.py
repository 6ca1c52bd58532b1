# linetables.py: line tables and CPython's own reading of them, for
# tests/python-lines.sh.
#
#     python3 linetables.py > TABLES
#
# Compiles a few standard modules and some synthetic code with awkward
# line numbers, and for every code object writes one line:
#     KIND FIRSTLINENO HEXTABLE OFFSET:LINE...
# KIND is memtop's line-table format (0: 3.9 co_lnotab, 1: 3.10
# co_linetable, 2: 3.11+ location table), OFFSET a byte offset of every
# code unit and LINE the line CPython gives it (-1 for none): co_lines()
# from 3.10 (CPython's own C decoder), dis.findlinestarts() on 3.9.

import dis
import os
import sys

v = sys.version_info[:2]
KIND = 0 if v < (3, 10) else 1 if v < (3, 11) else 2

SYNTHETIC = '''
def far():
    a = 1
''' + "\n" * 3000 + '''    b = 2
''' + "\n" * 70000 + '''    return a + b


def back(x):
    return (x +
            1 if
            x else
            2)


@staticmethod
def decorated(
        a,
        b):
    return [i
            for i in
            range(a)]


def long_body(n):
''' + "".join("    n = n + %d\n" % i for i in range(600)) + '''    return n


class K:
    def m(self):
        try:
            pass
        except Exception:
            raise
        finally:
            x = 1
        return x
'''


def lines_of(code):
    n = len(code.co_code)
    out = [-1] * (n // 2)
    if KIND == 0:
        starts = list(dis.findlinestarts(code))
        for i, (off, line) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else n
            for q in range(off, min(end, n), 2):
                out[q // 2] = line
        # Before the first start the line is co_firstlineno.
        first = starts[0][0] if starts else n
        for q in range(0, first, 2):
            out[q // 2] = code.co_firstlineno
    else:
        for start, end, line in code.co_lines():
            for q in range(start, end, 2):
                if q // 2 < len(out):
                    out[q // 2] = -1 if line is None else line
    return out


def table(code):
    return code.co_lnotab if KIND == 0 else code.co_linetable


def walk(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            yield from walk(c)


def main():
    sources = [("<synthetic>", SYNTHETIC)]
    for mod in ("dis", "inspect", "typing", "json.decoder", "argparse",
                "asyncio.base_events", "collections"):
        m = __import__(mod, fromlist=["x"])
        with open(m.__file__, encoding="utf-8") as f:
            sources.append((m.__file__, f.read()))
    n = 0
    for name, src in sources:
        for code in walk(compile(src, name, "exec")):
            lines = lines_of(code)
            print(KIND, code.co_firstlineno, table(code).hex() or "-",
                  " ".join("%d:%d" % (2 * i, l) for i, l in enumerate(lines)))
            n += 1
    print("# %d code objects" % n, file=sys.stderr)


main()
