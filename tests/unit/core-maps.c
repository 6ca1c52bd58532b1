/*
 * core-maps.c: the set of tracked mappings, driven with made-up page
 * ranges.  munmap of part of a range, of several, or of untracked memory
 * subtracts exactly what was tracked; a mapping put over tracked pages
 * replaces them; mremap grows, shrinks and moves; what each stack was
 * charged comes back exactly to zero when everything is unmapped, in exact
 * and in sampled mode.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

#define P	UINT64_C(4096)
#define A	UINT64_C(0x10000000)
#define B	UINT64_C(0x20000000)
#define C	UINT64_C(0x30000000)
#define D	UINT64_C(0x38000000)
#define E	UINT64_C(0x40000000)

/* Attach a fresh segment. */
static void
attach(struct segment_sizes *z)
{
	struct memtop_header	*h;
	uint64_t		 size;

	core_active = 0;
	if ((h = segment_new(z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	stacks_set_own_range(0, 0);
}

static void
map(uint64_t a, uint64_t len, int track)
{
	maps_lock();
	maps_on_map((void *)(uintptr_t)a, len, track);
	maps_unlock();
}

static void
unmap(uint64_t a, uint64_t len)
{
	maps_lock();
	maps_on_unmap((void *)(uintptr_t)a, len);
	maps_unlock();
}

static void
remap(uint64_t old, uint64_t oldlen, uint64_t a, uint64_t len, int keep)
{
	maps_lock();
	maps_on_remap((void *)(uintptr_t)old, oldlen, (void *)(uintptr_t)a,
	    len, keep);
	maps_unlock();
}

/* Tracked bytes by the counters: map - unmap, summed over the slots. */
static int64_t
counted(void)
{
	int64_t		s = 0;
	uint64_t	i;

	for (i = 0; i < core_shm.nthreads; i++)
		s += (int64_t)(core_shm.threads[i].map_bytes -
		    core_shm.threads[i].unmap_bytes);
	return (s);
}

/* Sum of live bytes (or counts) over every stack. */
static int64_t
agg_live(int count)
{
	int64_t		s = 0;
	uint64_t	i;

	for (i = 0; i < core_shm.stacks_cap; i++)
		s += count ? core_shm.aggs[i].live_count :
		    core_shm.aggs[i].live_bytes;
	return (s);
}

/* The size of the live entry at a, or 0. */
static uint64_t
live_size(uint64_t a)
{
	struct live_item	e;

	if (!live_remove(a, &e))
		return (0);
	live_insert(e.addr, e.size, e.stack, e.flags);
	return ((e.flags & MEMTOP_LIVE_MMAP) ? e.size : 0);
}

/* Say which ranges are tracked, as "start-end,..." in pages. */
static const char *
ranges(void)
{
	static char		 buf[512];
	const struct maps_range	*r;
	size_t			 i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < maps_count() && off < sizeof buf - 40; i++) {
		r = maps_get(i);
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%llx-%llx",
		    i ? "," : "", (unsigned long long)(r->start / P),
		    (unsigned long long)(r->end / P));
	}
	return (buf);
}

/* Exact mode, one step at a time. */
static void
test_exact(void)
{
	struct segment_sizes	z = segment_defaults();

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	attach(&z);

	map(A, 10 * P, 1);
	ok(maps_tracked_bytes() == 10 * P && counted() == (int64_t)(10 * P) &&
	    agg_live(0) == (int64_t)(10 * P), "mmap: 10 pages tracked");
	is_uint(live_size(A), 10 * P, "its live entry covers it");

	unmap(A + 3 * P, 2 * P);
	ok(maps_count() == 2 && counted() == (int64_t)(8 * P) &&
	    agg_live(0) == (int64_t)(8 * P),
	    "munmap of the middle splits it: %s", ranges());
	ok(live_size(A) == 3 * P && live_size(A + 5 * P) == 5 * P,
	    "live entries follow the pieces");

	unmap(A + 2 * P, 5 * P);
	ok(maps_count() == 2 && counted() == (int64_t)(5 * P) &&
	    agg_live(0) == (int64_t)(5 * P),
	    "munmap spanning a hole and two pieces: %s", ranges());

	unmap(D, 100 * P);
	is_int(counted(), 5 * P, "munmap of untracked memory changes nothing");

	map(B, 4 * P, 1);
	map(B + P, P, 0);
	ok(counted() == (int64_t)(8 * P) && agg_live(0) == (int64_t)(8 * P),
	    "a mapping over tracked pages replaces them: %s", ranges());

	remap(A + 7 * P, 3 * P, C, 6 * P, 0);
	ok(counted() == (int64_t)(11 * P) && live_size(C) == 6 * P &&
	    live_size(A + 7 * P) == 0, "mremap grows and moves: %s", ranges());
	remap(C, 6 * P, C, 2 * P, 0);
	ok(counted() == (int64_t)(7 * P) && live_size(C) == 2 * P,
	    "mremap shrinks in place");
	remap(D, 2 * P, D + 64 * P, 4 * P, 0);
	is_int(counted(), 7 * P, "mremap of untracked memory changes nothing");
	remap(A, 2 * P, E, 2 * P, 1);
	ok(counted() == (int64_t)(9 * P) && live_size(A) == 2 * P &&
	    live_size(E) == 2 * P, "MREMAP_DONTUNMAP keeps the old range too");

	unmap(0, UINT64_C(1) << 46);
	ok(maps_count() == 0 && counted() == 0, "everything unmapped");
	ok(agg_live(0) == 0 && agg_live(1) == 0,
	    "every stack back to exactly zero");
}

/* Sampled mode, random pieces: aggregates back to exactly zero. */
static void
test_sampled(void)
{
	struct segment_sizes	z = segment_defaults();
	uint64_t		x = 12345, a, len, i, cut;
	uint64_t		samples;

	z.sample_mean = 64 * 1024;
	attach(&z);
	for (i = 0; i < 400; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (1 + x % 64) * P;
		map(A + i * 128 * P, len, 1);
	}
	samples = core_shm.threads[1].samples;
	ok(samples > 10, "sampled mode: some mappings sampled (%llu)",
	    (unsigned long long)samples);
	for (i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a = A + (x % (400 * 128)) * P;
		cut = (1 + (x >> 20) % 40) * P;
		unmap(a, cut);
	}
	ok(counted() == (int64_t)maps_tracked_bytes(),
	    "after 2000 random partial munmaps the counters match the set");
	unmap(0, UINT64_C(1) << 46);
	ok(counted() == 0 && agg_live(0) == 0 && agg_live(1) == 0,
	    "sampled pieces give back exactly what was charged "
	    "(%lld bytes, %lld count)", (long long)agg_live(0),
	    (long long)agg_live(1));
}

int
main(void)
{
	tap_plan(16);
	test_exact();
	test_sampled();
	return (tap_done());
}
