# calls.py: a call-heavy Python workload for tests/bench/bench.py (about
# 2 s): recursion, method calls and closures, few allocations.  memtop's
# Python support costs nothing per call (no profile hook); only sampled
# allocations walk the frames.


class Node:
    def __init__(self, v):
        self.v = v

    def fib(self, n):
        return n if n < 2 else self.fib(n - 1) + self.fib(n - 2)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def adder(k):
    def add(x):
        return x + k
    return add


def main():
    total = fib(31) + Node(1).fib(30)
    add = adder(3)
    for i in range(8000000):
        total = add(total) % 1000003
    print(total)


main()
