/*
 * core-live.c: the live table.  Entries go in and come out with what was
 * put in; tables grow; deletion keeps every entry reachable from its home
 * slot (backward shift, no tombstones); writers on several threads and a
 * reader following the seqlock protocol of shm.h never see a broken
 * shard; a full arena refuses and counts; the filter in front of the table
 * forgets removed addresses; an address's 64 MiB region keeps it in one
 * group of shards, and neighbouring regions go to different groups; an
 * entry packs sizes and stacks up to their limits, refuses (and counts)
 * what does not fit, and a sample's weight follows from its size.
 */

#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

#define BASE	UINT64_C(0x7f0000000000)

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

/*
 * Check a table copy: every entry is reachable from its home slot without
 * crossing an empty one, and the count matches.  Returns 0 when fine.
 */
static int
table_broken(const struct memtop_live_entry *tab, uint64_t cap,
    uint64_t count)
{
	uint64_t	i, j, n = 0;

	for (i = 0; i < cap; i++) {
		if (tab[i].addr == 0)
			continue;
		n++;
		for (j = live_hash(tab[i].addr) & (cap - 1); j != i;
		    j = (j + 1) & (cap - 1)) {
			if (tab[j].addr == 0)
				return (1);
		}
		if (memtop_live_size(tab[i].info) != tab[i].addr % 4096 + 1)
			return (2);
	}
	return (n != count ? 3 : 0);
}

/* Check every shard, with no writer around. */
static int
all_broken(void)
{
	uint64_t	s;

	for (s = 0; s < core_shm.nshards; s++) {
		if (core_shm.shards[s].capacity != 0 && table_broken(
		    &core_shm.arena[core_shm.shards[s].table],
		    core_shm.shards[s].capacity, core_shm.shards[s].count))
			return (1);
	}
	return (0);
}

/* Entries in use. */
static uint64_t
entries(void)
{
	uint64_t	s, n = 0;

	for (s = 0; s < core_shm.nshards; s++)
		n += core_shm.shards[s].count;
	return (n);
}

/* The size we give address a (so that entries check themselves). */
static uint64_t
size_of(uint64_t a)
{
	return (a % 4096 + 1);
}

/* One thread: insert, remove, grow, with checks. */
static void
test_single(void)
{
	struct segment_sizes		z = segment_defaults();
	struct live_item		e;
	uint64_t			n = 100000, i, a, wrong = 0;
	uint64_t			*order;

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.shards = 4;
	attach(&z);
	for (i = 0; i < n; i++) {
		a = BASE + i * 48;
		if (live_insert(a, size_of(a), (uint32_t)(i % 7), 0) != 0)
			wrong++;
	}
	ok(wrong == 0 && entries() == n, "%llu entries in",
	    (unsigned long long)n);
	ok(core_shm.shards[0].capacity >= n / 4 * 10 / 7,
	    "tables grew (%llu in shard 0)",
	    (unsigned long long)core_shm.shards[0].capacity);
	ok(!all_broken(), "every entry reachable from its home");
	ok(!live_remove(BASE + 8, &e), "an address never put in is not found");

	order = calloc(n, sizeof *order);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		uint64_t j = (uint64_t)random() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n / 2; i++) {
		a = BASE + order[i] * 48;
		if (!live_remove(a, &e) || e.addr != a ||
		    e.size != size_of(a) || e.weight != 1 ||
		    e.stack != order[i] % 7 || e.flags != 0)
			wrong++;
	}
	ok(wrong == 0, "half removed in random order, each as put in");
	ok(!all_broken() && entries() == n - n / 2,
	    "after deletions every entry is still reachable");
	for (; i < n; i++) {
		if (!live_remove(BASE + order[i] * 48, &e))
			wrong++;
	}
	ok(wrong == 0 && entries() == 0, "all removed");
	free(order);
}

struct writer {
	int		 id;
	pthread_t	 tid;
	long		 ops;
	long		 wrong;
};

static volatile int	stop;		/* the reader saw enough */
static volatile int	done;		/* the writers finished */

/* Insert and remove in an address range of its own. */
static void *
writer(void *arg)
{
	struct writer			*w = arg;
	struct live_item		 e;
	uint64_t			 base = BASE + ((uint64_t)w->id << 36);
	uint64_t			 x = (uint64_t)w->id * 7919 + 1;
	uint64_t			 a, slots = 20000;
	uint8_t				*in = calloc(slots, 1);
	long				 k;

	/* At least 400000 operations, and until the reader saw enough. */
	for (k = 0; k < 20000000 && (k < 400000 || !stop); k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a = base + (x % slots) * 64;
		if (in[x % slots]) {
			if (!live_remove(a, &e) || e.size != size_of(a))
				w->wrong++;
			in[x % slots] = 0;
		} else {
			if (live_insert(a, size_of(a), 0, 0) != 0)
				w->wrong++;
			in[x % slots] = 1;
		}
		w->ops++;
	}
	free(in);
	return (NULL);
}

struct reader {
	pthread_t	 tid;
	long		 snapshots;
	long		 broken;
};

/* Copy shards with the seqlock protocol and check each copy. */
static void *
reader(void *arg)
{
	struct reader			*r = arg;
	struct memtop_live_shard	*sh;
	struct memtop_live_entry	*copy;
	uint64_t			 s = 0, cap, table, count;
	uint32_t			 seq;

	copy = malloc(sizeof *copy << 20);
	while (!done) {
		if (r->snapshots >= 200)
			stop = 1;
		sh = &core_shm.shards[s++ % core_shm.nshards];
		seq = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		cap = __atomic_load_n(&sh->capacity, __ATOMIC_RELAXED);
		table = __atomic_load_n(&sh->table, __ATOMIC_RELAXED);
		count = __atomic_load_n(&sh->count, __ATOMIC_RELAXED);
		if (cap == 0 || cap > (1 << 20) ||
		    table + cap > core_shm.arena_cap)
			continue;
		memcpy(copy, &core_shm.arena[table], cap * sizeof *copy);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&sh->seq, __ATOMIC_RELAXED) != seq)
			continue;
		r->snapshots++;
		if (table_broken(copy, cap, count))
			r->broken++;
	}
	free(copy);
	return (NULL);
}

/* Writers on three threads, one reader. */
static void
test_threads(void)
{
	struct segment_sizes	z = segment_defaults();
	struct writer		w[3];
	struct reader		r;
	long			wrong = 0, ops = 0;
	int			i;

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.shards = 8;
	attach(&z);
	memset(&r, 0, sizeof r);
	stop = done = 0;
	pthread_create(&r.tid, NULL, reader, &r);
	for (i = 0; i < 3; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].id = i + 1;
		pthread_create(&w[i].tid, NULL, writer, &w[i]);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(w[i].tid, NULL);
		wrong += w[i].wrong;
		ops += w[i].ops;
	}
	done = 1;
	pthread_join(r.tid, NULL);
	ok(wrong == 0, "3 writers, %ld operations, each found what it put",
	    ops);
	ok(!all_broken(), "the tables are whole after the writers");
	ok(r.snapshots > 0 && r.broken == 0,
	    "a seqlock reader: %ld consistent copies, %ld broken",
	    r.snapshots, r.broken);
}

#define BUCKETS_A_LINE	512			/* bits on a 64-byte line */
#define HEAP_BUCKETS	((2 << 20) / 256)	/* in 2 MiB of heap */

/* The i-th sample of a heap: one in each 256 KiB, anywhere in it. */
static uint64_t
spread(uint64_t i)
{
	return (BASE + (1 << 28) + i * 262144 +
	    ((i * UINT64_C(0x9e3779b97f4a7c15)) >> 50) * 16);
}

/* A full arena, and the filter. */
static void
test_full_and_filter(void)
{
	struct segment_sizes		z = segment_defaults();
	struct live_item		e;
	uint64_t			i, kept = 0, maybe = 0, a, b, shared;
	uint8_t				line_of[LIVE_FILTER_SIZE /
					    BUCKETS_A_LINE];

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.shards = 1;
	z.arena = 64;
	attach(&z);
	for (i = 0; i < 100; i++) {
		if (live_insert(BASE + i * 16, size_of(BASE + i * 16), 0,
		    0) == 0)
			kept++;
	}
	ok(kept > 16 && kept < 64, "a full arena refuses entries (%llu kept)",
	    (unsigned long long)kept);
	is_uint(core_shm.glob->live_table_full, 100 - kept,
	    "and counts live_table_full");
	ok(core_shm.glob->live_arena_used <= 64, "the arena never overflows");
	for (i = 0, a = 0; i < 100; i++)
		a += live_remove(BASE + i * 16, &e);
	ok(a == kept && entries() == 0, "what was kept comes out");

	z = segment_defaults();
	attach(&z);	/* sampled: a filter */
	ok(live_filter != NULL, "sampled mode has a filter");
	for (i = 0; i < 1000; i++)
		live_insert(BASE + i * 4096, 1, 0, 0);
	for (i = 0; i < 1000; i++)
		maybe += live_maybe(BASE + i * 4096);
	is_uint(maybe, 1000, "the filter passes every address in the table");
	for (i = 0; i < 1000; i++)
		live_remove(BASE + i * 4096, &e);
	for (i = 0, maybe = 0; i < 1000; i++)
		maybe += live_maybe(BASE + i * 4096);
	is_uint(maybe, 0, "and forgets removed ones");
	for (i = 0, maybe = 0; i < 100000; i++) {
		a = BASE + (1 << 30) + i * 48;
		maybe += live_maybe(a);
	}
	is_uint(maybe, 0, "an empty table's filter lets no free through");
	/*
	 * What the filter lets through besides the samples: a heap of 8 MiB
	 * with a live sample in every 256 KiB of it (the default mean), every
	 * 16 bytes of it freed.  Each sample sends the frees of its 256-byte
	 * bucket to the slow path: 0.1% of them (1 KiB buckets would be 0.4%).
	 */
	for (i = 0; i < 32; i++)
		live_insert(spread(i), 1, 0, 0);
	for (i = 0, maybe = 0; i < (8 << 20) / 16; i++) {
		a = BASE + (1 << 28) + i * 16;
		if (a != spread((a - BASE - (1 << 28)) / 262144))
			maybe += live_maybe(a);
	}
	ok(maybe * 500 <= (8 << 20) / 16, "a heap with a sample every 256 KiB: "
	    "%llu of %u other frees pass the filter (at most 0.2%%)",
	    (unsigned long long)maybe, (8 << 20) / 16);
	for (i = 0; i < 32; i++)
		live_remove(spread(i), &e);
	/*
	 * Threads' arenas (glibc: heaps of 64 MiB, aligned) must not share the
	 * bitmap's lines, or each sample's update of a line costs the other
	 * threads' frees a miss: the first 2 MiB of four neighbouring regions.
	 */
	memset(line_of, 0xff, sizeof line_of);
	for (i = 0, shared = 0; i < 4 * HEAP_BUCKETS; i++) {
		a = BASE + (i / HEAP_BUCKETS) * (UINT64_C(64) << 20) +
		    (i % HEAP_BUCKETS) * 256;
		b = live_bucket(a) / BUCKETS_A_LINE;
		if (line_of[b] != 0xff && line_of[b] != i / HEAP_BUCKETS)
			shared++;
		line_of[b] = (uint8_t)(i / HEAP_BUCKETS);
	}
	is_uint(shared, 0, "four arenas' heaps fall on lines of their own");
	/* An internal block: the hooks' filter must send its free on. */
	a = BASE + (1 << 29);
	live_internal_add(a);
	ok(live_maybe(a) && live_internal_maybe(a),
	    "an internal block passes the filter and its own counters");
	ok(live_internal_take(a) && !live_maybe(a) && !live_internal_maybe(a) &&
	    !live_internal_take(a), "and is taken once, then forgotten");

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	attach(&z);
	ok(live_filter == NULL && live_maybe(BASE),
	    "exact mode has no filter: every free looks");
	live_internal_add(BASE + 128);
	ok(live_internal_maybe(BASE + 128) && live_internal_take(BASE + 128) &&
	    !live_internal_maybe(BASE + 128),
	    "internal blocks keep their own counters in exact mode too");
	live_insert(BASE + 64, 24, 3, 0);
	ok(live_remove(BASE + 64, &e) && e.size == 24 && e.weight == 1 &&
	    e.stack == 3 && !live_remove(BASE + 64, &e),
	    "and finds what was put in, once");
}

/* The group of shards holding addr's entry, or -1 when none does. */
static int
group_of(uint64_t addr)
{
	const struct memtop_live_entry	*tab;
	uint64_t			 s, i;

	for (s = 0; s < core_shm.nshards; s++) {
		tab = &core_shm.arena[core_shm.shards[s].table];
		for (i = 0; i < core_shm.shards[s].capacity; i++) {
			if (tab[i].addr == addr)
				return ((int)(s / LIVE_GROUP));
		}
	}
	return (-1);
}

/* Shards by region (live_shard_index). */
static void
test_regions(void)
{
	struct segment_sizes		z = segment_defaults();
	struct live_item		e;
	uint64_t			region = UINT64_C(1) << 26, a, i, r;
	int				g, other = 0, seen[8] = { 0 }, groups = 0;
	int				used = 0, wrong = 0;

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.shards = 256;
	attach(&z);
	/* 4,096 blocks in each of 8 neighbouring regions. */
	for (r = 0; r < 8; r++) {
		for (i = 0; i < 4096; i++) {
			a = BASE + r * region + i * 48;
			if (live_insert(a, size_of(a), 1, 0) != 0)
				wrong++;
		}
	}
	for (r = 0; r < 8; r++) {
		g = group_of(BASE + r * region);
		for (i = 1; i < 4096; i += 97) {
			if (group_of(BASE + r * region + i * 48) != g)
				other++;
		}
		if (g >= 0 && g < 8 && !seen[g]++)
			groups++;
	}
	for (i = 0; i < LIVE_GROUP; i++) {
		g = group_of(BASE);
		if (core_shm.shards[(uint64_t)g * LIVE_GROUP + i].count != 0)
			used++;
	}
	ok(wrong == 0 && other == 0 && !all_broken(),
	    "every region's entries stay in one group of shards");
	ok(groups >= 6 && used > LIVE_GROUP / 2,
	    "8 neighbouring regions use %d of 8 groups, one region %d of "
	    "its group's %d shards", groups, used, LIVE_GROUP);
	for (r = 0; r < 8; r++) {
		for (i = 0; i < 4096; i++) {
			a = BASE + r * region + i * 48;
			if (!live_remove(a, &e) || e.size != size_of(a))
				wrong++;
		}
	}
	ok(wrong == 0 && entries() == 0, "and every entry comes out");
}

/*
 * Linear probing needs slots that do not follow the address: blocks of a
 * heap are neighbours, and a hash whose low bits keep their pattern fills
 * runs of neighbouring slots.  Blocks at random 16-byte places in 3 MiB of
 * one heap, as many as the table grows to hold at half load and more: the
 * mean probes to find one (its distance from its home slot, plus one) stay
 * near what random slots give, about 1.5 at half load, 2.2 at 70%.
 */
static void
test_probes(void)
{
	struct segment_sizes		 z = segment_defaults();
	const struct memtop_live_shard	*sh;
	const struct memtop_live_entry	*tab;
	uint64_t			 x = 12345, a, s, i, cap, home, probes = 0;
	uint64_t			 n = 0, worst = 0;
	int				 wrong = 0, k;

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	z.shards = 256;
	attach(&z);
	for (k = 0; k < 16384; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a = BASE + (x % (3 << 16)) * 16;
		if (live_insert(a, 64, 1, 0) != 0)
			wrong++;
	}
	for (s = 0; s < core_shm.nshards; s++) {
		sh = &core_shm.shards[s];
		if ((cap = sh->capacity) == 0)
			continue;
		tab = &core_shm.arena[sh->table];
		for (i = 0; i < cap; i++) {
			if (tab[i].addr == 0)
				continue;
			home = live_hash(tab[i].addr) & (cap - 1);
			a = ((i - home) & (cap - 1)) + 1;
			probes += a;
			if (a > worst)
				worst = a;
			n++;
		}
	}
	ok(wrong == 0 && n > 15000 && probes <= 2 * n,
	    "heap neighbours spread over the slots: %.2f probes per entry "
	    "(%" PRIu64 " entries, longest %" PRIu64 ")",
	    n ? (double)probes / (double)n : 0.0, n, worst);
}

/*
 * What an entry keeps (shm.h): the size, flags and stack as they went in,
 * up to the limits of their fields; what does not fit is refused and
 * counted in live_table_full; the weight follows from the size and the
 * segment's mean.
 */
static void
test_packing(void)
{
	struct segment_sizes	z = segment_defaults();
	struct live_item	e;
	uint64_t		full, big = UINT64_C(1) << 45;
	uint32_t		last = MEMTOP_LIVE_STACK_LIMIT - 1;
	double			w = 1 / (1 - exp(-1000.0 / 262144));

	z.sample_mean = 262144;
	z.shards = 4;
	attach(&z);
	ok(live_insert(BASE, 1000, 5, MEMTOP_LIVE_PYOBJ) == 0 &&
	    live_remove(BASE, &e) && e.size == 1000 && e.stack == 5 &&
	    e.flags == MEMTOP_LIVE_PYOBJ && fabs(e.weight / w - 1) < 1e-9,
	    "a sample of 1000 bytes at a mean of 256 KiB: weight %.4f, "
	    "expected %.4f", e.weight, w);
	ok(live_insert(BASE, big, last, MEMTOP_LIVE_MMAP) == 0 &&
	    live_remove(BASE, &e) && e.size == big && e.stack == last &&
	    e.flags == MEMTOP_LIVE_MMAP && e.weight == 1 &&
	    live_insert(BASE, (UINT64_C(1) << 42) - 1, 0, 0) == 0 &&
	    live_remove(BASE, &e) && e.size == (UINT64_C(1) << 42) - 1,
	    "a 32 TiB mapping, the largest block and the last stack id are "
	    "kept as they went in");
	full = core_shm.glob->live_table_full;
	ok(live_insert(BASE, UINT64_C(1) << 42, 1, 0) == -1 &&
	    live_insert(BASE, 4096 + 8, 1, MEMTOP_LIVE_MMAP) == -1 &&
	    live_insert(BASE, 64, last + 1, 0) == -1 &&
	    live_insert(BASE, 64, 1, 4) == -1 &&
	    core_shm.glob->live_table_full == full + 4 &&
	    !live_remove(BASE, &e),
	    "a block of 4 TiB, a mapping of part of a page, a stack id past "
	    "the limit and an unknown flag are not kept, and are counted");
}

int
main(void)
{
	tap_plan(32);
	test_single();
	test_threads();
	test_full_and_filter();
	test_regions();
	test_probes();
	test_packing();
	return (tap_done());
}
