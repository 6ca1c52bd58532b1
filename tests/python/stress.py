# stress.py: everything at once for memtop's Python walk, for
# tests/python-stress.sh.
#
#     python3 stress.py GILFREE.so
#
# Six threads allocate with the GIL held (bytearrays from generators and
# recursion) and without it (ctypes calls into GILFREE.so's malloc loop,
# and into malloc itself); meanwhile the main thread forks a child that
# allocates and exits.  At the end three daemon threads are left inside
# GILFREE.so's loop, allocating without the GIL, while the interpreter
# shuts down around them.  Exits 0 when everything ran.

import ctypes
import os
import sys
import threading

lib = ctypes.CDLL(sys.argv[1])
lib.gilfree_churn.restype = ctypes.c_long
lib.gilfree_churn.argtypes = [ctypes.c_long]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
ROUNDS = int(os.environ.get("STRESS_ROUNDS", "300"))


def gen(n):
    for i in range(n):
        yield bytearray(1000 + i * 64)


def deep(n, size):
    if n == 0:
        return bytearray(size)
    return deep(n - 1, size)


def worker(k):
    for r in range(ROUNDS):
        for b in gen(8):
            del b
        deep(20 + k, 70000 + r)
        p = libc.malloc(100000 + r)
        libc.free(p)
        lib.gilfree_churn(200)


threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
for t in threads:
    t.start()
for i in range(3):
    pid = os.fork()
    if pid == 0:
        deep(10, 500000)
        lib.gilfree_churn(1000)
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    if os.WEXITSTATUS(status) != 7:
        sys.exit("child failed: %r" % status)
for t in threads:
    t.join()

for k in range(3):
    threading.Thread(target=lib.gilfree_churn, args=(1 << 40,),
                     daemon=True).start()
deep(5, 123456)
print("stress: done")
