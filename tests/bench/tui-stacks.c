/*
 * tui-stacks.c: a target with 131,072 distinct callstacks, allocating as
 * fast as it can, for the live view's benchmark (tests/bench/tui-bench.sh).
 *
 *	tui-stacks [SECONDS]
 *
 * A recursion of depth 17 whose path follows the bits of a counter: at
 * each level the call goes through one of two call sites (stack_zero or
 * stack_one), so every value of the counter is a stack of its own.  Blocks
 * of 16 to 112 KiB are allocated at the bottom; the last 4,096 are kept
 * live and older ones freed, so the per-stack numbers keep changing.  It
 * runs for SECONDS (default 60), then exits.
 */

#pragma GCC optimize("O0")

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEPTH	17
#define LIVE	4096

static void	*stack_level(uint32_t, int, size_t);

/* The allocation at the bottom of every stack. */
static void *
stack_leaf(size_t size)
{
	return (malloc(size));
}

/* A zero bit: one call site. */
static void *
stack_zero(uint32_t v, int d, size_t size)
{
	return (stack_level(v, d, size));
}

/* A one bit: another call site. */
static void *
stack_one(uint32_t v, int d, size_t size)
{
	return (stack_level(v, d, size));
}

/* One level: the next bit picks the call site. */
static void *
stack_level(uint32_t v, int d, size_t size)
{
	if (d == 0)
		return (stack_leaf(size));
	if (v & 1)
		return (stack_one(v >> 1, d - 1, size));
	return (stack_zero(v >> 1, d - 1, size));
}

int
main(int argc, char **argv)
{
	static void	*live[LIVE];
	struct timespec	 t0, t;
	uint64_t	 i, n = 0;
	uint32_t	 v;
	double		 secs = argc > 1 ? atof(argv[1]) : 60;
	size_t		 size;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0;; i++) {
		/* A counter that visits every value, in a scattered order. */
		v = (uint32_t)(i * 40503u) & ((1u << DEPTH) - 1);
		size = (16 + (i % 7) * 16) * 1024;
		free(live[i % LIVE]);
		live[i % LIVE] = stack_level(v, DEPTH, size);
		n++;
		if ((i & 4095) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) +
			    (t.tv_nsec - t0.tv_nsec) / 1e9 > secs)
				break;
		}
	}
	printf("tui-stacks: %llu allocations\n", (unsigned long long)n);
	return (0);
}
