/*
 * res-spike.c: a run with a known spike at a known time, for the timeline
 * and peak view tests (tests/timeline-*.sh).
 *
 *	res-spike [SECONDS]
 *
 * From its start, in seconds of its own clock:
 *   0     res_base   holds 8 MiB (eight 1 MiB blocks), to the end
 *   1     res_spike  allocates 96 MiB (one block, written), the peak
 *   2.5   res_spike  frees it
 *   3     res_after  holds 32 MiB (one block, written), to the end
 *   4     exits (or, with SECONDS, sleeps that long first)
 * Each site is a function of its own that calls malloc itself.  So at the end the table shows
 * res_after first and no res_spike; at any moment between 1 and 2.5 s,
 * and at the peak, res_spike is first; from before 1 s to the spike it is
 * the one that grew; from the spike to the end, the one that shrank.
 */

#pragma GCC optimize("O0")

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB	(1024 * 1024)

static void	*base[8];

/* Sleep until t seconds after start. */
static void
until(const struct timespec *start, double t)
{
	struct timespec	now, ts;
	double		left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = t - ((double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9);
	if (left <= 0)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0)
		/* interrupted: go on */;
}

/* Stop when malloc fails. */
static void
check(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "res-spike: out of memory\n");
		exit(1);
	}
}

/* Eight blocks of 1 MiB, written, kept to the end. */
static void
res_base(void)
{
	int	i;

	for (i = 0; i < 8; i++) {
		base[i] = malloc(MIB);
		check(base[i]);
		memset(base[i], 1, MIB);
	}
}

/* The spike: 96 MiB, written. */
static void *
res_spike(void)
{
	void	*p = malloc(96 * MIB);

	check(p);
	memset(p, 2, 96 * MIB);
	return (p);
}

/* What is left at the end: 32 MiB, written. */
static void *
res_after(void)
{
	void	*p = malloc(32 * MIB);

	check(p);
	memset(p, 3, 32 * MIB);
	return (p);
}

int
main(int argc, char **argv)
{
	struct timespec	 start;
	void		*spike, *after;
	double		 extra = argc > 1 ? atof(argv[1]) : 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	res_base();
	until(&start, 1.0);
	spike = res_spike();
	until(&start, 2.5);
	free(spike);
	until(&start, 3.0);
	after = res_after();
	until(&start, 4.0 + extra);
	(void)after;
	return (0);
}
