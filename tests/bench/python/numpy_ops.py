# numpy_ops.py: a numpy workload for tests/bench/bench.py (about 2 s, with
# Debian's python3-numpy): arrays of 512 KiB made, combined and dropped,
# so that malloc sees a steady stream of large blocks from Python lines.

import numpy as np


def step(i):
    a = np.ones((256, 256))
    b = np.zeros_like(a)
    b += a * i
    return float((a + b).sum())


def main():
    total = 0.0
    for i in range(1800):
        total += step(i)
    print(total)


main()
