# shutdown.py: the interpreter shuts down while daemon threads allocate
# without the GIL, for tests/python-stress.sh.
#
#     python3 shutdown.py GILFREE.so
#
# Four daemon threads sit in GILFREE.so's malloc loop (ctypes releases the
# GIL around the call) while the main thread makes a few deep stacks and
# returns: Py_Finalize frees the daemon threads' thread states while they
# are still allocating.

import ctypes
import sys
import threading
import time

lib = ctypes.CDLL(sys.argv[1])
lib.gilfree_churn.argtypes = [ctypes.c_long]
for k in range(4):
    threading.Thread(target=lib.gilfree_churn, args=(1 << 40,),
                     daemon=True).start()


def deep(n):
    return bytearray(100000) if n == 0 else deep(n - 1)


for i in range(50):
    deep(30)
time.sleep(0.02)
