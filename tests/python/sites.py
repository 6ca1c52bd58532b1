# sites.py: allocations at known lines, for memtop's Python stack tests.
#
#     python3 sites.py EXPECT.json
#
# Each site allocates a block of a size no other site uses (1 MB and up, so
# that it reaches malloc whatever pymalloc does) and, on the same line,
# asks Python itself for its stack (file, name, line, innermost first) with
# here().  The expectations go to EXPECT.json; tests/python/check.py
# compares them with memtop's report.  Names are co_qualname from 3.11 and
# co_name before, as memtop reports them.
#
# The sites: nested calls and a method, a nested class, a closure, a
# lambda, 30-deep recursion, a generator, an asyncio coroutine (entered
# from the C Task step), a non-ASCII function name, a callback from C
# (sorted's key=), exec'd code, ctypes calling libc malloc with the GIL
# released, threads allocating at the same time as the main thread, and,
# when numpy is there (Debian's python3-numpy), numpy arrays.

import asyncio
import ctypes
import json
import os
import sys
import threading

sites = []	# (name, size, stack)
keep = []
# The process's global scope, where an LD_PRELOAD malloc comes first (a
# handle on libc.so.6 itself would find libc's own malloc).
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
MB = 1 << 20


def here():
    """The caller's stack as memtop should report it, innermost first."""
    out = []
    f = sys._getframe(1)
    while f is not None:
        co = f.f_code
        out.append([co.co_filename, getattr(co, "co_qualname", co.co_name),
                    f.f_lineno])
        f = f.f_back
    return out


def site(name, size, stack, block=None):
    sites.append({"name": name, "size": size, "stack": stack})
    if block is not None:
        keep.append(block)


def leaf(size):
    site("nested", size, here(), bytearray(size))


def middle(size):
    leaf(size)


class Loader:
    class Batch:
        def fill(self, size):
            site("nested-class", size, here(), bytearray(size))

    def load(self, size):
        middle(size)
        Loader.Batch().fill(size + 4096)


def closure_maker():
    def closure(size):
        site("closure", size, here(), bytearray(size))
    return closure


def recurse(depth, size):
    if depth == 0:
        site("recursion", size, here(), bytearray(size))
        return
    recurse(depth - 1, size)


def generator(size):
    for i in range(2):
        site("generator", size + i, here(), bytearray(size + i))
        yield i


def größe(size):
    site("non-ascii", size, here(), bytearray(size))


def sort_key(x):
    site("callback-from-c", SORT_SIZE + x, here(), bytearray(SORT_SIZE + x))
    return -x


SORT_SIZE = 21 * MB


def sort_site():
    return sorted([1, 2], key=sort_key)


async def coroutine(size):
    await asyncio.sleep(0)
    site("coroutine", size, here(), bytearray(size))


def ctypes_site(size):
    # CDLL functions release the GIL around the call.
    p = libc.malloc(size); site("gil-released", size, here())
    keep.append(p)


def worker(size, ready, go):
    ready.wait()
    go.wait()
    site("thread", size, here(), bytearray(size))


def threads(base):
    ready = threading.Barrier(4)
    go = threading.Barrier(4)
    ts = [threading.Thread(target=worker, args=(base + k * 4096, ready, go))
          for k in range(3)]
    for t in ts:
        t.start()
    ready.wait()
    go.wait()
    site("thread-main", base + 3 * 4096, here(), bytearray(base + 3 * 4096))
    for t in ts:
        t.join()


def numpy_site(np):
    a = np.empty(3 * MB // 8); site("numpy-empty", 3 * MB, here(), a)
    b = np.ones((512, 513)); site("numpy-ones", 512 * 513 * 8, here(), b)


def main():
    Loader().load(1 * MB)
    closure_maker()(3 * MB)
    (lambda size: site("lambda", size, here(), bytearray(size)))(4 * MB)
    recurse(30, 5 * MB)
    for _ in generator(6 * MB):
        pass
    größe(7 * MB)
    sort_site()
    asyncio.run(coroutine(8 * MB))
    exec(compile("site('exec', 9 * MB, here(), bytearray(9 * MB))\n",
                 "<memtop-exec>", "exec"))
    ctypes_site(10 * MB)
    threads(11 * MB)
    if os.environ.get("SITES_NUMPY") == "1":
        import numpy
        numpy_site(numpy)


main()
site("module", 12 * MB, here(), bytearray(12 * MB))
with open(sys.argv[1], "w") as f:
    json.dump({"python": sys.version.split()[0], "sites": sites}, f)
