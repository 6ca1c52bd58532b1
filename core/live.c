/*
 * live.c: the table of live sampled allocations (every allocation in exact
 * mode), so that a free finds the stack it is charged to, and so that the
 * front end knows which address ranges to ask the kernel about.
 *
 * The table is split in shards by address hash (MEMTOP_SEC_LIVE_SHARDS).
 * Each shard is an open-addressing table with linear probing and
 * backward-shift deletion (no tombstones), its entries carved out of
 * MEMTOP_SEC_LIVE_ARENA with a bump cursor.  A shard starts small (a big
 * sparse table would spread writes over many pages, each costing resident
 * memory) and doubles at 70% load; the space of an outgrown table is kept
 * per size class and reused by the next shard that grows to that size.
 * Every change happens under the shard's spinlock with its seq odd, so the
 * front end can copy a shard with the seqlock protocol of shm.h.
 *
 * In sampled mode almost no free is of a sampled address, so a counting
 * filter in private memory sits in front of the shards: one 8-bit counter
 * per address hash bucket, raised on insert and lowered on removal, except
 * that a counter that reached 255 stays there.  A free looks at its counter
 * and locks a shard only when it is not zero.
 *
 * The internal set: blocks that libc, libunwind or the loader allocated
 * for the engine's own work (core_tls.engine set).  They are not the
 * program's: never counted, and their free, wherever it happens (often at
 * thread exit, outside the engine), must not be counted either.  They are
 * kept in a small private hash set, and counted in a filter of their own,
 * live_int_counts, small enough to stay in the first-level cache (in exact
 * mode every free asks it), and in sampled mode in the filter too, so that
 * the hooks send their frees to the engine.  A free looks in the set only
 * when its counter there is not zero.  The set is the one thing a nested
 * call (a signal handler allocating while this thread is inside the
 * engine) touches, so its lock is never waited for by a thread that may
 * already hold it: such a call leaves the set alone.
 *
 * When the arena is exhausted and a shard cannot grow past its load limit,
 * it keeps filling up to one free slot; after that a sample is not kept and
 * live_table_full is counted.  The caller then leaves that sample out of
 * the live aggregates (its free could not subtract it).
 */

#include "config.h"

#include <string.h>

#include "core.h"

#define LIVE_FIRST_CAP	16
#define LIVE_CLASSES	48
#define LIVE_RECYCLE	32

uint64_t		*live_filter;
uint8_t			*live_counts;
static uint64_t		 live_bits[LIVE_FILTER_SIZE / 64]
			    __attribute__((aligned(MEMTOP_CACHELINE)));
uint8_t			 live_int_counts[LIVE_INT_BUCKETS];

/* The internal set: open addressing, backward-shift deletion, private. */
static uint64_t		*live_int;
static uint64_t		 live_int_cap;
static uint64_t		 live_int_count;
static uint32_t		 live_int_lock;

/*
 * The target's own copy of each shard's table, capacity, count and lock
 * (struct live_priv, core.h): the copy in the segment is for the front
 * end, and a front end that scribbles on it cannot make the target write
 * out of bounds or hang.
 *
 * At most LIVE_MAX_SHARDS shards are used, whatever the segment offers
 * (the others stay empty, which readers see as such), in groups of
 * LIVE_GROUP.  An address's 64 MiB region picks the group and its hash the
 * shard in it (live_shard_index, core.h): glibc gives each thread arena
 * heaps of their own, 64 MiB aligned, so threads that free what they
 * allocated mostly keep to their own group's locks and lines instead of
 * pulling them from each other's cache at every operation.  One region
 * still spreads over a group's 32 shards, two threads' regions share a
 * group one time in eight, and every operation touches its shard's two
 * lines, which stay in the first-level cache.
 */
#define LIVE_MAX_SHARDS	256
struct live_priv	*live_priv;
uint64_t		 live_nshards;
uint64_t		 live_ngroups;
static size_t		 live_priv_size;

/* Outgrown tables, by log2 of their capacity; under live_recycle_lock. */
static uint64_t		 live_recycled[LIVE_CLASSES][LIVE_RECYCLE];
static uint32_t		 live_nrecycled[LIVE_CLASSES];
static uint32_t		 live_recycle_lock;

/*
 * Set up the counters, the filter (sampled mode only: in exact mode every
 * free looks in the table) and the internal set; forget recycled space.
 */
void
live_init(int use_filter)
{
	if (live_counts == NULL)
		live_counts = core_private_map_populated(LIVE_FILTER_SIZE);
	else
		memset(live_counts, 0, LIVE_FILTER_SIZE);
	memset(live_bits, 0, sizeof live_bits);
	/* Without counters every free looks: slower, still right. */
	live_filter = use_filter && live_counts != NULL ? live_bits : NULL;
	memset(live_int_counts, 0, sizeof live_int_counts);
	if (live_int != NULL)
		memset(live_int, 0, live_int_cap * sizeof *live_int);
	live_int_count = 0;
	live_int_lock = 0;
	memset(live_nrecycled, 0, sizeof live_nrecycled);
	live_recycle_lock = 0;

	if (live_priv != NULL)
		core_private_unmap(live_priv, live_priv_size);
	live_nshards = core_shm.nshards < LIVE_MAX_SHARDS ? core_shm.nshards :
	    LIVE_MAX_SHARDS;
	live_ngroups = live_nshards / LIVE_GROUP;
	live_priv_size = live_nshards * sizeof *live_priv;
	live_priv = core_private_map(live_priv_size);
	if (live_priv == NULL)
		core_disable("no memory for the live table");
}

/* The shard an address hash belongs to. */
static struct memtop_live_shard *
live_shard(uint64_t addr, uint64_t h)
{
	return (&core_shm.shards[live_shard_index(addr, h)]);
}

/* log2 of a power of two. */
static unsigned int
live_log2(uint64_t v)
{
	return ((unsigned int)__builtin_ctzll(v));
}

/*
 * Get room for a table of cap entries, zeroed: recycled space of that size
 * if there is some, else fresh arena space.  Returns the first entry's
 * index, or UINT64_MAX when the arena is exhausted.
 */
static uint64_t
live_table_alloc(uint64_t cap)
{
	struct memtop_global	*glob = core_shm.glob;
	unsigned int		 c = live_log2(cap);
	uint64_t		 first = UINT64_MAX, used;

	if (c < LIVE_CLASSES) {
		core_lock(&live_recycle_lock);
		if (live_nrecycled[c] > 0)
			first = live_recycled[c][--live_nrecycled[c]];
		core_unlock(&live_recycle_lock);
		if (first != UINT64_MAX) {
			memset(&core_shm.arena[first], 0,
			    cap * sizeof *core_shm.arena);
			return (first);
		}
	}
	used = __atomic_load_n(&glob->live_arena_used, __ATOMIC_RELAXED);
	do {
		if (cap > core_shm.arena_cap || used > core_shm.arena_cap - cap)
			return (UINT64_MAX);
	} while (!__atomic_compare_exchange_n(&glob->live_arena_used, &used,
	    used + cap, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	core_ahead(CORE_AHEAD_ARENA, core_shm.arena,
	    (used + cap) * sizeof *core_shm.arena,
	    core_shm.arena_cap * sizeof *core_shm.arena);
	return (used);	/* fresh memfd pages read as zero */
}

/* Keep an outgrown table's space for the next table of its size. */
static void
live_table_recycle(uint64_t first, uint64_t cap)
{
	unsigned int	c = live_log2(cap);

	if (c >= LIVE_CLASSES)
		return;
	core_lock(&live_recycle_lock);
	if (live_nrecycled[c] < LIVE_RECYCLE)
		live_recycled[c][live_nrecycled[c]++] = first;
	core_unlock(&live_recycle_lock);
}

/* Put an entry in a table known to have a free slot (no duplicates). */
static void
live_put(struct memtop_live_entry *tab, uint64_t cap,
    const struct memtop_live_entry *e)
{
	uint64_t	i = live_hash(e->addr) & (cap - 1);

	while (tab[i].addr != 0)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
}

/* The private state of a shard. */
static struct live_priv *
live_priv_of(struct memtop_live_shard *sh)
{
	return (&live_priv[sh - core_shm.shards]);
}

/* Publish a shard's private state for the front end. */
static void
live_publish(struct memtop_live_shard *sh, const struct live_priv *lp)
{
	sh->table = lp->table;
	sh->capacity = lp->capacity;
	sh->count = (uint32_t)lp->count;
}

/* Double a shard's table; 0 on success.  Called with seq odd. */
static int
live_grow(struct live_priv *sh)
{
	struct memtop_live_entry	*old, *tab;
	uint64_t			 ocap = sh->capacity, ncap, first, i;

	ncap = ocap == 0 ? LIVE_FIRST_CAP : ocap * 2;
	if ((first = live_table_alloc(ncap)) == UINT64_MAX)
		return (-1);
	tab = &core_shm.arena[first];
	if (ocap != 0) {
		old = &core_shm.arena[sh->table];
		for (i = 0; i < ocap; i++) {
			if (old[i].addr != 0)
				live_put(tab, ncap, &old[i]);
		}
		live_table_recycle(sh->table, ocap);
	}
	/* live_prefetch reads the two without the lock. */
	__atomic_store_n(&sh->table, first, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->capacity, ncap, __ATOMIC_RELAXED);
	return (0);
}

/*
 * Take a shard for a change: in solo mode (core.h) the caller is the only
 * thread that changes shards; otherwise lock it.  Returns what to pass to
 * live_release.
 */
static int
live_take(struct live_priv *lp)
{
	if (core_solo_begin())
		return (1);
	core_lock(&lp->lock);
	return (0);
}

/* Give back a shard taken by live_take. */
static void
live_release(struct live_priv *lp, int solo)
{
	if (solo)
		core_solo_end();
	else
		core_unlock(&lp->lock);
}

/* Start changing a taken shard: its seq odd. */
static void
live_begin(struct memtop_live_shard *sh)
{
	__atomic_store_n(&sh->seq, sh->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Done changing a shard: seq even again. */
static void
live_end(struct memtop_live_shard *sh)
{
	__atomic_store_n(&sh->seq, sh->seq + 1, __ATOMIC_RELEASE);
}

/*
 * Remove the entry at slot i of a table by shifting back the entries of
 * its probe run that may move up, so no tombstone is needed.
 */
static void
live_delete_at(struct memtop_live_entry *tab, uint64_t cap, uint64_t i)
{
	uint64_t	j = i, k, mask = cap - 1;

	for (;;) {
		j = (j + 1) & mask;
		if (tab[j].addr == 0)
			break;
		k = live_hash(tab[j].addr) & mask;
		/* Move j to i unless its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		tab[i] = tab[j];
		i = j;
	}
	memset(&tab[i], 0, sizeof tab[i]);
}

/* Raise a filter counter (saturates at 255). */
static void
live_count_up(uint8_t *c)
{
	uint8_t	v = __atomic_load_n(c, __ATOMIC_SEQ_CST);

	while (v != 255 && !__atomic_compare_exchange_n(c, &v, v + 1, 1,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

/* Lower a filter counter, unless it saturated; returns the new value. */
static uint8_t
live_count_down(uint8_t *c)
{
	uint8_t	v = __atomic_load_n(c, __ATOMIC_SEQ_CST);

	while (v != 255 && v != 0 && !__atomic_compare_exchange_n(c, &v,
	    v - 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	return (v == 255 || v == 0 ? v : v - 1);
}

/*
 * Raise the filter counter of an address, then set its bit (sampled mode
 * only).  The bit is set before the allocation reaches the program.
 */
static void
live_filter_up(uint64_t addr)
{
	uint64_t	b = live_bucket(addr);

	if (live_filter == NULL)
		return;
	live_count_up(&live_counts[b]);
	__atomic_fetch_or(&live_filter[b >> 6], UINT64_C(1) << (b & 63),
	    __ATOMIC_SEQ_CST);
}

/*
 * Lower the filter counter of an address; at zero clear its bit, then look
 * again: a thread that raised the counter meanwhile may have set the bit
 * before this one cleared it, and the bit must not stay clear under a
 * counter that is not zero.
 */
static void
live_filter_down(uint64_t addr)
{
	uint64_t	b = live_bucket(addr), bit = UINT64_C(1) << (b & 63);

	if (live_filter == NULL || live_count_down(&live_counts[b]) != 0)
		return;
	__atomic_fetch_and(&live_filter[b >> 6], ~bit, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&live_counts[b], __ATOMIC_SEQ_CST) != 0)
		__atomic_fetch_or(&live_filter[b >> 6], bit,
		    __ATOMIC_SEQ_CST);
}

/*
 * Unpack a live entry for the engine; the caller sets the weight once the
 * shard is released (live_weigh).
 */
static void
live_unpack(const struct memtop_live_entry *e, struct live_item *out)
{
	out->addr = e->addr;
	out->size = memtop_live_size(e->info);
	out->flags = memtop_live_flags(e->info);
	out->stack = memtop_live_stack(e->info);
}

/* The weight of an unpacked entry: a function of its size (shm.h). */
static void
live_weigh(struct live_item *it)
{
	it->weight = memtop_sample_weight(it->size, core_sample_mean);
}

/*
 * Keep a live sample.  Returns 0 when kept, -1 when the table is full or
 * the entry cannot be packed (shm.h); either is counted in live_table_full.
 * An entry already at the same address is stale (its free was not seen):
 * it is replaced, and its stack gives back what it was charged.
 */
int
live_insert(uint64_t addr, uint64_t size, uint32_t stack, uint32_t flags)
{
	struct memtop_live_entry	 e, *tab;
	struct memtop_live_shard	*sh;
	struct live_priv		*lp;
	struct live_item		 stale;
	struct engine_sample		 s;
	uint64_t			 h = live_hash(addr), i, cap;
	int				 replaced = 0, solo;

	if (addr == 0 || live_priv == NULL)
		return (-1);
	if (memtop_live_pack(size, flags, stack, &e.info) != 0) {
		__atomic_add_fetch(&core_shm.glob->live_table_full, 1,
		    __ATOMIC_RELAXED);
		return (-1);
	}
	e.addr = addr;
	sh = live_shard(addr, h);
	lp = live_priv_of(sh);

	solo = live_take(lp);
	live_begin(sh);
	if (lp->capacity == 0 || (lp->count + 1) * 10 > lp->capacity * 7) {
		if (live_grow(lp) != 0 && lp->count + 1 >= lp->capacity) {
			live_end(sh);
			live_release(lp, solo);
			__atomic_add_fetch(&core_shm.glob->live_table_full, 1,
			    __ATOMIC_RELAXED);
			return (-1);
		}
	}
	tab = &core_shm.arena[lp->table];
	cap = lp->capacity;
	for (i = h & (cap - 1); tab[i].addr != 0; i = (i + 1) & (cap - 1)) {
		if (tab[i].addr == addr) {
			live_unpack(&tab[i], &stale);
			replaced = 1;
			break;
		}
	}
	tab[i] = e;
	if (!replaced)
		lp->count++;
	live_publish(sh, lp);
	live_end(sh);
	live_release(lp, solo);

	if (!replaced)
		live_filter_up(addr);
	else {
		/* Give back what the stale entry was charged. */
		live_weigh(&stale);
		sample_estimate(&s, stale.size, stale.weight);
		sample_charge(stale.stack, -s.est_bytes, -s.est_count, 0, 0);
	}
	return (0);
}

/*
 * Take the entry for addr out of the table.  Returns 1 and fills *out when
 * it was there, 0 otherwise.
 */
int
live_remove(uint64_t addr, struct live_item *out)
{
	struct memtop_live_entry	*tab;
	struct memtop_live_shard	*sh;
	struct live_priv		*lp;
	uint64_t			 h = live_hash(addr), i, cap;
	int				 solo;

	if (live_priv == NULL)
		return (0);
	sh = live_shard(addr, h);
	lp = live_priv_of(sh);
	solo = live_take(lp);
	cap = lp->capacity;
	if (cap == 0 || lp->count == 0) {
		live_release(lp, solo);
		return (0);
	}
	tab = &core_shm.arena[lp->table];
	for (i = h & (cap - 1); tab[i].addr != addr; i = (i + 1) & (cap - 1)) {
		if (tab[i].addr == 0) {
			live_release(lp, solo);
			return (0);
		}
	}
	live_unpack(&tab[i], out);
	live_begin(sh);
	live_delete_at(tab, cap, i);
	lp->count--;
	live_publish(sh, lp);
	live_end(sh);
	live_release(lp, solo);
	live_weigh(out);
	live_filter_down(addr);
	return (1);
}

/*
 * Lock the internal set, unless this thread already holds (or is taking)
 * the lock: a signal handler interrupted it.  The flag is set before the
 * lock is taken, so a handler arriving in between sees it too.
 */
static int
live_int_enter(void)
{
	struct core_thread	*t = &core_tls;

	if (__atomic_load_n(&t->in_internal, __ATOMIC_RELAXED))
		return (0);
	__atomic_store_n(&t->in_internal, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	core_lock(&live_int_lock);
	return (1);
}

/* Unlock the internal set. */
static void
live_int_leave(void)
{
	core_unlock(&live_int_lock);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&core_tls.in_internal, 0, __ATOMIC_RELAXED);
}

/* Put addr in an internal table known to have room; 1 if it is new. */
static int
live_int_put(uint64_t *tab, uint64_t cap, uint64_t addr)
{
	uint64_t	i = live_hash(addr) & (cap - 1);

	while (tab[i] != 0) {
		if (tab[i] == addr)
			return (0);
		i = (i + 1) & (cap - 1);
	}
	tab[i] = addr;
	return (1);
}

/* Double the internal set (or create it); 0 on success.  Lock held. */
static int
live_int_grow(void)
{
	uint64_t	*tab, ncap = live_int_cap == 0 ? 1024 : live_int_cap * 2;
	uint64_t	 i;

	if ((tab = core_private_map(ncap * sizeof *tab)) == NULL)
		return (-1);
	for (i = 0; i < live_int_cap; i++) {
		if (live_int[i] != 0)
			live_int_put(tab, ncap, live_int[i]);
	}
	if (live_int != NULL)
		core_private_unmap(live_int, live_int_cap * sizeof *live_int);
	live_int = tab;
	live_int_cap = ncap;
	return (0);
}

/*
 * Remember a block allocated for the engine's own work.  Out of memory,
 * it is forgotten: its free will then be counted, a small error.
 */
void
live_internal_add(uint64_t addr)
{
	if (addr == 0 || !live_int_enter())
		return;
	if ((live_int_count + 1) * 2 > live_int_cap && live_int_grow() != 0) {
		live_int_leave();
		return;
	}
	if (!live_int_put(live_int, live_int_cap, addr)) {
		live_int_leave();
		return;
	}
	live_int_count++;
	live_int_leave();
	live_filter_up(addr);
	live_count_up(&live_int_counts[live_int_bucket(addr)]);
}

/*
 * Forget addr if it is an internal block: returns 1 when it was (its free
 * is then not counted), 0 otherwise.
 */
int
live_internal_take(uint64_t addr)
{
	uint64_t	i, j, k, mask;

	if (!live_int_enter())
		return (0);
	if (live_int_count == 0) {
		live_int_leave();
		return (0);
	}
	mask = live_int_cap - 1;
	for (i = live_hash(addr) & mask; live_int[i] != addr;
	    i = (i + 1) & mask) {
		if (live_int[i] == 0) {
			live_int_leave();
			return (0);
		}
	}
	/* Backward-shift deletion, as in the shards. */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (live_int[j] == 0)
			break;
		k = live_hash(live_int[j]) & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		live_int[i] = live_int[j];
		i = j;
	}
	live_int[i] = 0;
	live_int_count--;
	live_int_leave();
	live_filter_down(addr);
	live_count_down(&live_int_counts[live_int_bucket(addr)]);
	return (1);
}
