# objects.py: many small Python objects made at one known line, for
# tests/python-allocators.sh.
#
#     python3 objects.py EXPECT.json [ROUNDS [N]]
#
# Each round makes N (default 50000) bytes objects of 100 bytes (133 bytes with their
# header: pymalloc serves them from its arenas) at the line marked
# "objects here", in a list made beforehand (so that the line allocates
# nothing else), then frees them all.  Writes N, the object size and the
# line to EXPECT.json.

import json
import sys

N = int(sys.argv[3]) if len(sys.argv) > 3 else 50000
OBJECT = 100 + bytes.__basicsize__      # 133: header + 100 bytes + NUL


def make(n):
    keep = [None] * n
    for i in range(n):
        keep[i] = bytes(100)    # objects here
    return keep


def line_of(marker):
    with open(__file__, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + marker) and "def " not in text:
                return n
    raise SystemExit("marker not found")


rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
for _ in range(rounds):
    objs = make(N)
    del objs
with open(sys.argv[1], "w") as f:
    json.dump({"n": N, "object_size": OBJECT, "rounds": rounds,
               "line": line_of("objects here")}, f)
