/*
 * core-sample.c: counting and sampling, driven through the engine API with
 * made-up addresses (the engine never touches the memory it is told of).
 *
 * Counting must be exact in every mode.  Sampling must be honest: each
 * allocation of S bytes is sampled with probability P = 1 - exp(-S/R) and
 * weighted by 1/P, so the estimate of the bytes allocated is unbiased with
 * variance sum S^2 (1 - P) / P over the allocations (and sum (1 - P) / P
 * for the count).  The checks allow 5 standard deviations plus the
 * rounding of each sample to whole bytes: for a normal estimate a correct
 * engine fails one of them with probability about 6e-7.  The engine seeds
 * its generator from the clock, so every run draws new samples.
 *
 * The live aggregates must return exactly to zero once everything is
 * freed, whatever was sampled; threads must count exactly in their own
 * slots and, past the number of slots, in the shared slot 0.
 */

#include "config.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

#define N_ALLOCS	300000
#define MEAN		(64 * 1024)
#define BASE		UINT64_C(0x100000000000)

static uint64_t	sizes[N_ALLOCS];

/* A deterministic mix of sizes: mostly small, some medium, a few big. */
static void
make_sizes(void)
{
	uint64_t	x = 88172645463325252ULL, r;
	int		i;

	for (i = 0; i < N_ALLOCS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = x >> 16;
		if (r % 100 < 70)
			sizes[i] = 24 + (r >> 8) % 500;
		else if (r % 100 < 95)
			sizes[i] = 512 + (r >> 8) % 16000;
		else
			sizes[i] = 16384 + (r >> 8) % 250000;
	}
}

/* Attach a fresh segment with these sizes. */
static struct memtop_header *
attach(struct segment_sizes *z)
{
	struct memtop_header	*h;
	uint64_t		 size;

	core_active = 0;
	if ((h = segment_new(z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	stacks_set_own_range(0, 0);
	return (h);
}

/* Sums over every stack aggregate, in every lane. */
struct sums {
	int64_t		live_bytes, live_count;
	uint64_t	total_bytes, total_count;
};

static struct sums
agg_sums(void)
{
	struct sums	s = { 0, 0, 0, 0 };
	uint64_t	i;

	for (i = 0; i < core_shm.stacks_cap * core_shm.agg_lanes; i++) {
		s.live_bytes += core_shm.aggs[i].live_bytes;
		s.live_count += core_shm.aggs[i].live_count;
		s.total_bytes += core_shm.aggs[i].total_bytes;
		s.total_count += core_shm.aggs[i].total_count;
	}
	return (s);
}

/* Sum of one slot field over every slot. */
#define SLOT_SUM(h, field) ({						\
	uint64_t _s = 0, _i;						\
	for (_i = 0; _i < core_shm.nthreads; _i++)			\
		_s += core_shm.threads[_i].field;			\
	_s; })

/* Entries in the live table, from the shards' counts. */
static uint64_t
live_entries(void)
{
	uint64_t	i, n = 0;

	for (i = 0; i < core_shm.nshards; i++)
		n += core_shm.shards[i].count;
	return (n);
}

/* Check an estimate against the truth within k sigma plus slack. */
static void
within(double est, double truth, double var, double slack, const char *what)
{
	double	sd = sqrt(var), z = sd > 0 ? (est - truth) / sd : 0;

	if (!ok(fabs(est - truth) <= 5 * sd + slack,
	    "%s: estimate %.0f, truth %.0f, %.2f sigma", what, est, truth, z))
		diag("allowed %.0f", 5 * sd + slack);
}

/* The sampled run: estimates within bounds, counters exact. */
static void
test_sampled(void)
{
	struct segment_sizes	 z = segment_defaults();
	struct sums		 s;
	double			 var_b = 0, var_c = 0, p_sum = 0, p_var = 0;
	double			 var_live = 0, p;
	uint64_t		 total = 0, live = 0, samples;
	int			 i;

	z.sample_mean = MEAN;
	z.arena = 1 << 20;
	attach(&z);

	for (i = 0; i < N_ALLOCS; i++) {
		p = -expm1(-(double)sizes[i] / MEAN);
		total += sizes[i];
		var_b += (double)sizes[i] * sizes[i] * (1 - p) / p;
		var_c += (1 - p) / p;
		p_sum += p;
		p_var += p * (1 - p);
		if (i % 2 == 0) {
			live += sizes[i];
			var_live += (double)sizes[i] * sizes[i] * (1 - p) / p;
		}
		engine_on_alloc((void *)(uintptr_t)(BASE + (uint64_t)i * 4096),
		    sizes[i], 0);
	}
	is_uint(SLOT_SUM(h, alloc_bytes), total, "sampled: bytes counted exactly");
	is_uint(SLOT_SUM(h, alloc_count), N_ALLOCS,
	    "sampled: allocations counted exactly");
	samples = SLOT_SUM(h, samples);
	within((double)samples, p_sum, p_var, 0, "number of samples");

	s = agg_sums();
	within((double)s.total_bytes, (double)total, var_b, 0.5 * samples,
	    "total bytes");
	within((double)s.total_count / MEMTOP_COUNT_ONE, N_ALLOCS, var_c,
	    0.5 * samples / MEMTOP_COUNT_ONE, "total allocations");
	is_uint(live_entries(), samples, "every sample is in the live table");

	for (i = 1; i < N_ALLOCS; i += 2)
		engine_on_free((void *)(uintptr_t)(BASE + (uint64_t)i * 4096),
		    sizes[i], 0);
	is_uint(SLOT_SUM(h, alloc_bytes) - SLOT_SUM(h, free_bytes), live,
	    "sampled: live bytes exact after freeing half");
	s = agg_sums();
	within((double)s.live_bytes, (double)live, var_live, 0.5 * samples,
	    "live bytes after freeing half");

	for (i = 0; i < N_ALLOCS; i += 2)
		engine_on_free((void *)(uintptr_t)(BASE + (uint64_t)i * 4096),
		    sizes[i], 0);
	s = agg_sums();
	ok(s.live_bytes == 0 && s.live_count == 0,
	    "live aggregates return exactly to zero (%lld bytes, %lld count)",
	    (long long)s.live_bytes, (long long)s.live_count);
	is_uint(live_entries(), 0, "the live table is empty");
	is_uint(SLOT_SUM(h, sampled_frees), samples,
	    "every sample was seen freed");
	is_uint(SLOT_SUM(h, free_count), N_ALLOCS, "frees counted exactly");
}

/* Exact mode: every allocation sampled with weight 1, all exact. */
static void
test_exact(void)
{
	struct segment_sizes	 z = segment_defaults();
	struct sums		 s;
	uint64_t		 total = 0, live = 0;
	int			 i, n = 20000;

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.arena = 1 << 16;
	attach(&z);
	for (i = 0; i < n; i++) {
		total += sizes[i];
		engine_on_alloc((void *)(uintptr_t)(BASE + (uint64_t)i * 64),
		    sizes[i], 0);
	}
	s = agg_sums();
	ok(s.total_bytes == total && (int64_t)s.live_bytes == (int64_t)total &&
	    s.total_count == (uint64_t)n * MEMTOP_COUNT_ONE,
	    "exact: aggregates equal the truth");
	is_uint(SLOT_SUM(h, samples), n, "exact: every allocation sampled");
	for (i = 0; i < n; i += 3) {
		engine_on_free((void *)(uintptr_t)(BASE + (uint64_t)i * 64),
		    sizes[i], 0);
	}
	for (i = 0; i < n; i++)
		live += (i % 3 == 0) ? 0 : sizes[i];
	s = agg_sums();
	is_int(s.live_bytes, live, "exact: live bytes after frees");
	for (i = 0; i < n; i++) {
		if (i % 3 != 0)
			engine_on_free((void *)(uintptr_t)(BASE +
			    (uint64_t)i * 64), sizes[i], 0);
	}
	s = agg_sums();
	ok(s.live_bytes == 0 && s.live_count == 0 && live_entries() == 0,
	    "exact: everything back to zero");
}

struct worker {
	int			 id;
	int			 n;
	pthread_t		 tid;
	pthread_barrier_t	*all_in;
};

/* A thread allocating and freeing its own made-up addresses. */
static void *
worker(void *arg)
{
	struct worker	*w = arg;
	uint64_t	 base = BASE + ((uint64_t)w->id << 32);
	int		 i;

	/* Everyone holds a slot (or not) at the same time. */
	engine_on_alloc((void *)(uintptr_t)base, sizes[0], 0);
	pthread_barrier_wait(w->all_in);
	for (i = 1; i < w->n; i++)
		engine_on_alloc((void *)(uintptr_t)(base + (uint64_t)i * 32),
		    sizes[i], 0);
	for (i = 0; i < w->n; i += 2)
		engine_on_free((void *)(uintptr_t)(base + (uint64_t)i * 32),
		    sizes[i], 0);
	return (NULL);
}

/* Run nthreads workers at once; returns the bytes they leave live. */
static uint64_t
run_workers(int nthreads, int n)
{
	struct worker		w[16];
	pthread_barrier_t	all_in;
	uint64_t		live = 0;
	int			i, k;

	pthread_barrier_init(&all_in, NULL, (unsigned)nthreads);
	for (k = 0; k < nthreads; k++) {
		w[k].id = k + 1;
		w[k].n = n;
		w[k].all_in = &all_in;
		pthread_create(&w[k].tid, NULL, worker, &w[k]);
		for (i = 1; i < n; i += 2)
			live += sizes[i];
	}
	for (k = 0; k < nthreads; k++)
		pthread_join(w[k].tid, NULL);
	pthread_barrier_destroy(&all_in);
	return (live);
}

/* Threads: own slots, released at exit, and the shared slot. */
static void
test_threads(void)
{
	struct segment_sizes	 z = segment_defaults();
	uint64_t		 live, i;
	int			 owned = 0, held = 0;

	z.sample_mean = MEAN;
	attach(&z);
	live = run_workers(4, 50000);
	is_uint(SLOT_SUM(h, alloc_bytes) - SLOT_SUM(h, free_bytes), live,
	    "4 threads: live bytes exact");
	is_uint(SLOT_SUM(h, alloc_count), 4 * 50000,
	    "4 threads: allocations exact");
	for (i = 1; i < core_shm.nthreads; i++) {
		if (core_shm.threads[i].alloc_count != 0)
			owned++;
		if (core_shm.threads[i].tid != 0)
			held++;
	}
	ok(owned >= 4 && core_shm.threads[0].alloc_count == 0,
	    "each thread counted in a slot of its own (%d)", owned);
	is_int(held, 0, "exited threads gave their slots back");
	ok(core_shm.glob->flushed_live == (int64_t)live,
	    "exited threads flushed their deltas (%lld)",
	    (long long)core_shm.glob->flushed_live);

	/* Two slots: slot 0 is shared, one more for a single thread. */
	z.threads = 2;
	attach(&z);
	live = run_workers(6, 30000);
	is_uint(SLOT_SUM(h, alloc_bytes) - SLOT_SUM(h, free_bytes), live,
	    "6 threads, 1 slot: live bytes exact");
	is_uint(SLOT_SUM(h, alloc_count) + SLOT_SUM(h, free_count),
	    6 * 30000 + 6 * 15000, "6 threads, 1 slot: calls exact");
	ok(core_shm.threads[0].alloc_count != 0,
	    "threads without a slot used the shared slot");
}

/* Allocations counted in one lane of the aggregates. */
static uint64_t
lane_total(uint64_t lane)
{
	uint64_t	i, n = 0;

	for (i = 0; i < core_shm.stacks_cap; i++)
		n += core_shm.aggs[lane * core_shm.stacks_cap + i].total_count;
	return (n);
}

/* Threads charge their own lanes of the aggregates (shm.h). */
static void
test_lanes(void)
{
	struct segment_sizes	 z = segment_defaults();
	struct sums		 s;
	uint64_t		 live, lane, i;
	int			 used = 0, unmarked = 0, n = 20000;
	uint64_t		 before[4];

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.agg_lanes = 4;
	attach(&z);
	live = run_workers(4, n);
	s = agg_sums();
	ok(core_shm.agg_lanes == 4 && s.live_bytes == (int64_t)live &&
	    s.total_count == (uint64_t)4 * n * MEMTOP_COUNT_ONE &&
	    s.live_count == (int64_t)(4 * (n / 2)) * MEMTOP_COUNT_ONE,
	    "4 threads, exact, 4 lanes: the lanes add up to what is live");
	for (lane = 0; lane < core_shm.agg_lanes; lane++) {
		for (i = 0; i < core_shm.stacks_cap; i++) {
			if (core_shm.aggs[lane * core_shm.stacks_cap +
			    i].total_count == 0)
				continue;
			used++;
			if (!(core_shm.glob->agg_lanes_used &
			    (UINT64_C(1) << lane)))
				unmarked++;
			break;
		}
	}
	ok(used >= 2 && unmarked == 0,
	    "the threads charged %d lanes, each marked used", used);

	/*
	 * The workers owned lanes and gave them back when they exited: a
	 * second team gets them again, and the sums stay exact (its blocks
	 * are at the first team's addresses: what the first left live is
	 * taken off as stale when the second allocates there).
	 */
	for (lane = 0; lane < 4; lane++)
		before[lane] = lane_total(lane);
	live = run_workers(4, n);
	used = 0;
	for (lane = 0; lane < 4; lane++) {
		if (lane_total(lane) != before[lane])
			used++;
	}
	s = agg_sums();
	ok(used >= 2 && s.live_bytes == (int64_t)live,
	    "a second team of threads charged %d lanes, the sums exact", used);
}

int
main(void)
{
	tap_plan(27);
	make_sizes();
	test_sampled();
	test_exact();
	test_threads();
	test_lanes();
	return (tap_done());
}
