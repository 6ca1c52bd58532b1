/*
 * churn.c: a malloc/free churn for measuring what tracking costs.
 *
 * Each thread keeps a table of live blocks (16384 by default, about 2.5 MB)
 * and, at every step, frees a random one and allocates a new one of a
 * random size in its place, writing every byte of it as a program would.
 * That is the allocator's fast path with a working set bigger than the
 * first-level caches, the churn the targets in issue 2 are stated for:
 * 40 to 46 million calls a second per core on the machine of
 * docs/performance.md (23 to 28 million on the machines of its first
 * measurements), where heaptrack makes it 8 to 9 times slower.  Sizes are
 * mostly small (16 to 271 bytes), one in 64 up to 4 KiB.  At the end every
 * block is freed.
 *
 *     churn [-g [-s BLOCK_SIZE]] [-t THREADS] [-n STEPS_PER_THREAD]
 *           [-l LIVE_BLOCKS]
 *
 * With -g it grows instead: each step allocates a block and keeps it, so
 * that every allocation makes a new peak of allocated memory (a program
 * building its data), and the blocks are freed at the end; -s SIZE makes
 * every block of that size.
 *
 * It prints the number of calls and the calls per second; the benchmark
 * harness times it from outside.
 */

#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long	churn_steps = 20 * 1000 * 1000;
static long	churn_live = 16384;
static int	churn_grow;
static long	churn_size;	/* -g -s: every block this size */

/* The next random number of a thread's sequence (xorshift). */
static inline uint64_t
churn_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (*x);
}

/* The size a random number picks: mostly 16 to 271, one in 64 up to 4 KiB. */
static inline size_t
churn_size_of(uint64_t x)
{
	if (((x >> 40) & 63) == 0)
		return (16 + ((x >> 28) & 4095));
	return (16 + ((x >> 20) & 255));
}

/* One thread's churn; arg is its seed. */
static void *
churn_thread(void *arg)
{
	uint64_t	 x = (uintptr_t)arg * UINT64_C(0x9e3779b97f4a7c15) + 1;
	void		**slot;
	size_t		 size;
	long		 i, k;

	if ((slot = calloc((size_t)churn_live, sizeof *slot)) == NULL)
		return (NULL);
	for (i = 0; i < churn_steps; i++) {
		churn_next(&x);
		k = (long)(x % (uint64_t)churn_live);
		size = churn_size_of(x);
		free(slot[k]);
		slot[k] = malloc(size);
		if (slot[k] == NULL)
			abort();
		memset(slot[k], (int)k, size);
	}
	for (k = 0; k < churn_live; k++)
		free(slot[k]);
	free(slot);
	return (NULL);
}

/*
 * One thread's growth (-g): the churn's sizes, or -s's, every block kept.
 * A loop of its own, so that the churn's stays as it was measured.
 */
static void *
grow_thread(void *arg)
{
	uint64_t	 x = (uintptr_t)arg * UINT64_C(0x9e3779b97f4a7c15) + 1;
	void		**slot;
	size_t		 size;
	long		 i;

	if ((slot = calloc((size_t)churn_steps, sizeof *slot)) == NULL)
		return (NULL);
	for (i = 0; i < churn_steps; i++) {
		size = churn_size > 0 ? (size_t)churn_size :
		    churn_size_of(churn_next(&x));
		if ((slot[i] = malloc(size)) == NULL)
			abort();
		memset(slot[i], (int)i, size);
	}
	for (i = 0; i < churn_steps; i++)
		free(slot[i]);
	free(slot);
	return (NULL);
}

int
main(int argc, char **argv)
{
	pthread_t	*tids;
	struct timespec	 a, b;
	double		 secs;
	long		 i, threads = 1;
	int		 c;

	while ((c = getopt(argc, argv, "gt:n:l:s:")) != -1) {
		switch (c) {
		case 'g':
			churn_grow = 1;
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			break;
		case 'n':
			churn_steps = strtol(optarg, NULL, 10);
			break;
		case 'l':
			churn_live = strtol(optarg, NULL, 10);
			break;
		case 's':
			churn_size = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: churn [-g [-s size]] "
			    "[-t threads] [-n steps] [-l live]\n");
			return (2);
		}
	}
	if (threads < 1 || churn_steps < 1 || churn_live < 1 ||
	    churn_size < 0 || (churn_size > 0 && !churn_grow)) {
		fprintf(stderr, "churn: bad argument\n");
		return (2);
	}
	if ((tids = calloc((size_t)threads, sizeof *tids)) == NULL)
		return (1);

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&tids[i], NULL, churn_grow ?
		    grow_thread : churn_thread,
		    (void *)(uintptr_t)(i + 1)) != 0)
			return (1);
	}
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	free(tids);

	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("churn: %ld threads, %ld calls, %.3f s, %.1f M calls/s\n",
	    threads, 2 * threads * churn_steps, secs,
	    2.0 * (double)threads * (double)churn_steps / secs / 1e6);
	return (0);
}
