/*
 * stacks.c: the callstack of a sampled allocation, interned once in the
 * shared stack table.
 *
 * A sample is unwound (unwind.c) into a per-thread
 * scratch buffer, the tracker's own frames (the leading run of return
 * addresses inside libmemtop.so) are dropped, python_merge() replaces
 * CPython eval-loop frames by the Python frames they run, and the result is
 * looked up in MEMTOP_SEC_STACK_INDEX, an open-addressing table of stack ids
 * keyed by a hash of the frames.
 *
 * Interning is lock-free: a thread that finds an empty index slot reserves
 * an id (glob->stack_count) and room for its frames (glob->frames_used),
 * writes the record, claims the slot by compare-and-swap, and only then
 * sets MEMTOP_STACK_READY with a release store.  A thread that loses the
 * race for a slot waits for the winner's record to be ready and compares;
 * its own record is never published (a wasted id, skipped by readers).
 * When the table is full or unwinding fails, the sample is charged to
 * stack 0 and counted.
 */

#include "config.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <link.h>
#include <sched.h>
#include <string.h>

#include "core.h"

#define STACKS_SLACK		32	/* own frames and a margin */
#define STACKS_SMALL		64	/* frames on the stack, no scratch */
#define STACKS_READY_SPINS	(1 << 20)

static uint32_t		stacks_max;	/* header.max_frames */
static uint32_t		stacks_gen;	/* +1 at each attach: a new table */
static uintptr_t	stacks_own_lo;	/* libmemtop.so's mapped range */
static uintptr_t	stacks_own_hi;

/*
 * Fallbacks for python.c, so that the library links without it: no Python,
 * native frames copied as they are.
 */
__attribute__((weak)) void
python_init(void)
{
}

/* The native frames as they are (the weak fallback of python.c's merge). */
__attribute__((weak)) size_t
python_merge(const uint64_t *ips, size_t nips, int is_mmap, uint64_t *out,
    size_t max, uint16_t *flags, const uint64_t **frames)
{
	*frames = ips;
	return (nips < max ? nips : max);
}

/* Without python.c a stack is never merged. */
__attribute__((weak)) int
python_passes(void)
{
	return (1);
}

/* Nothing to do in a forked child without python.c. */
__attribute__((weak)) void
python_fork_child(void)
{
}

/* dl_iterate_phdr callback: the range of the object holding this code. */
static int
stacks_find_own(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t	me = (uintptr_t)arg, lo = UINTPTR_MAX, hi = 0, a;
	int		i, found = 0;

	for (i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		if (a < lo)
			lo = a;
		if (a + info->dlpi_phdr[i].p_memsz > hi)
			hi = a + info->dlpi_phdr[i].p_memsz;
		if (me >= a && me < a + info->dlpi_phdr[i].p_memsz)
			found = 1;
	}
	if (!found)
		return (0);
	stacks_own_lo = lo;
	stacks_own_hi = hi;
	return (1);
}

/*
 * Set the range whose leading frames are the tracker's own (unit tests,
 * where the engine is linked into the test program, set it empty).
 */
void
stacks_set_own_range(uintptr_t lo, uintptr_t hi)
{
	stacks_own_lo = lo;
	stacks_own_hi = hi;
}

/*
 * Find libmemtop.so's own code.  libunwind, now only the unwinder's
 * fallback, is not warmed up: its first unwind in a thread fills a large
 * cache, which most threads never need.  Called at attach with the guard
 * held.
 */
void
stacks_init(void)
{
	stacks_max = core_shm.hdr->max_frames;
	/* What threads remember of the last table is no longer valid. */
	__atomic_add_fetch(&stacks_gen, 1, __ATOMIC_RELAXED);
	stacks_own_lo = stacks_own_hi = 0;
	dl_iterate_phdr(stacks_find_own, (void *)(uintptr_t)stacks_init);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	unwind_init();
}

/* How many of ips[0..n) lead in libmemtop.so's own code. */
size_t
stacks_skip_own(const uint64_t *ips, size_t n)
{
	size_t	skip;

	for (skip = 0; skip < n; skip++) {
		if (ips[skip] < stacks_own_lo || ips[skip] >= stacks_own_hi)
			break;
	}
	return (skip);
}

/* Hash a run of frames (and nothing else) to 32 bits. */
uint32_t
stacks_hash(const uint64_t *frames, size_t n)
{
	uint64_t	h = UINT64_C(0xcbf29ce484222325) ^ n;
	size_t		i;

	for (i = 0; i < n; i++) {
		h ^= frames[i];
		h *= UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return ((uint32_t)h);
}

/*
 * Map the stack records and frames ahead of their cursors (core.h), and
 * the whole index once the program has shown it has more than a few
 * stacks: a new stack's slot is anywhere in the index, a page fault each
 * until most of its 4 MiB has been touched (python3 -m compileall: 900 of
 * the target's page faults, for 2,200 stacks).
 */
#define STACKS_INDEX_POPULATE	64

static void
stacks_ahead(uint32_t id, uint64_t frames_end)
{
	uint64_t	zero = 0;

	core_ahead(CORE_AHEAD_STACKS, core_shm.stacks,
	    ((uint64_t)id + 1) * sizeof *core_shm.stacks,
	    core_shm.stacks_cap * sizeof *core_shm.stacks);
	core_ahead(CORE_AHEAD_FRAMES, core_shm.frames,
	    frames_end * sizeof *core_shm.frames,
	    core_shm.frames_cap * sizeof *core_shm.frames);
	if (id >= STACKS_INDEX_POPULATE &&
	    __atomic_load_n(&core_shm.ahead[CORE_AHEAD_INDEX],
	    __ATOMIC_RELAXED) == 0 &&
	    __atomic_compare_exchange_n(&core_shm.ahead[CORE_AHEAD_INDEX],
	    &zero, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		core_populate(core_shm.stack_index, core_shm.stack_index_cap *
		    sizeof *core_shm.stack_index);
}

/* Reserve a stack id below the table's capacity; 0 when full. */
static uint32_t
stacks_reserve_id(void)
{
	struct memtop_global	*glob = core_shm.glob;
	uint32_t		 n;

	n = __atomic_load_n(&glob->stack_count, __ATOMIC_RELAXED);
	do {
		if ((uint64_t)n + 1 >= core_shm.stacks_cap)
			return (0);
	} while (!__atomic_compare_exchange_n(&glob->stack_count, &n, n + 1,
	    1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return (n + 1);
}

/* Reserve n frames; the index of the first, or UINT64_MAX when full. */
static uint64_t
stacks_reserve_frames(size_t n)
{
	struct memtop_global	*glob = core_shm.glob;
	uint64_t		 used;

	used = __atomic_load_n(&glob->frames_used, __ATOMIC_RELAXED);
	do {
		if (n > core_shm.frames_cap || used > core_shm.frames_cap - n)
			return (UINT64_MAX);
	} while (!__atomic_compare_exchange_n(&glob->frames_used, &used,
	    used + n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return (used);
}

/*
 * Wait until stack id's record is published (its writer is between
 * claiming the index slot and its release store).  Nonzero when ready.
 */
static int
stacks_wait_ready(uint32_t id)
{
	uint32_t	spins;

	for (spins = 0; spins < STACKS_READY_SPINS; spins++) {
		if (__atomic_load_n(&core_shm.stacks[id].flags,
		    __ATOMIC_ACQUIRE) & MEMTOP_STACK_READY)
			return (1);
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
	return (0);
}

/* Nonzero when the published stack id holds exactly these frames. */
static int
stacks_same(uint32_t id, uint32_t h, const uint64_t *frames, size_t n,
    uint16_t flags)
{
	const struct memtop_stack	*st = &core_shm.stacks[id];

	if (st->hash != h || st->nframes != n ||
	    (st->flags & ~MEMTOP_STACK_READY) != flags)
		return (0);
	if (st->frame_idx > core_shm.frames_cap ||
	    n > core_shm.frames_cap - st->frame_idx)
		return (0);
	return (memcmp(&core_shm.frames[st->frame_idx], frames,
	    n * sizeof *frames) == 0);
}

/*
 * Intern a stack: its id in the table, added if new.  flags are
 * MEMTOP_STACK_* bits (not READY).  Returns 0, the catch-all stack, when
 * the table or the frame space is full.
 */
uint32_t
stacks_intern(const uint64_t *frames, size_t n, uint16_t flags)
{
	struct memtop_global	*glob = core_shm.glob;
	struct memtop_stack	*st;
	uint64_t		 mask = core_shm.stack_index_cap - 1, probe;
	uint64_t		 fidx;
	uint32_t		 h, id, mine = 0, *slot;

	if (n > UINT16_MAX)
		n = UINT16_MAX;
	flags &= ~MEMTOP_STACK_READY;
	h = stacks_hash(frames, n) ^ flags;
	for (probe = 0; probe <= mask; probe++) {
		slot = &core_shm.stack_index[(h + probe) & mask];
		id = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (id == 0) {
			if (mine == 0) {
				if ((mine = stacks_reserve_id()) == 0)
					goto full;
				if ((fidx = stacks_reserve_frames(n)) ==
				    UINT64_MAX)
					goto full;
				stacks_ahead(mine, fidx + n);
				memcpy(&core_shm.frames[fidx], frames,
				    n * sizeof *frames);
				st = &core_shm.stacks[mine];
				st->frame_idx = (uint32_t)fidx;
				st->nframes = (uint16_t)n;
				st->hash = h;
				st->pad = 0;
				__atomic_store_n(&st->flags, flags,
				    __ATOMIC_RELAXED);
			}
			if (__atomic_compare_exchange_n(slot, &id, mine, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				__atomic_store_n(&core_shm.stacks[mine].flags,
				    flags | MEMTOP_STACK_READY,
				    __ATOMIC_RELEASE);
				modules_check();
				return (mine);
			}
			/* Lost the slot: id is the winner's. */
		}
		if (id >= core_shm.stacks_cap || !stacks_wait_ready(id))
			continue;
		if (stacks_same(id, h, frames, n, flags))
			return (id);
	}

full:
	__atomic_add_fetch(&glob->stack_table_full, 1, __ATOMIC_RELAXED);
	return (0);
}

/* Get the thread's scratch buffer of at least len entries, or NULL. */
static uint64_t *
stacks_scratch(struct core_thread *t, size_t len)
{
	size_t	bytes;

	if (t->scratch != NULL && t->scratch_len >= len)
		return (t->scratch);
	if (t->scratch != NULL)
		core_private_unmap(t->scratch, t->scratch_len * sizeof(uint64_t));
	bytes = (len * sizeof(uint64_t) + 4095) & ~(size_t)4095;
	t->last_id = 0;		/* the last stack went with the old buffer */
	t->scratch = core_private_map(bytes);
	t->scratch_len = t->scratch != NULL ? bytes / sizeof(uint64_t) : 0;
	return (t->scratch);
}

/*
 * Intern the merged frames of a sample.  A thread with a scratch buffer
 * keeps the last stack it interned after the merged frames (the buffer's
 * third part, `last`): a loop allocating from one place gives the same
 * frames sample after sample, and comparing them with the last ones costs
 * less than hashing them and comparing them with the table's.
 */
static uint32_t
stacks_intern_last(const uint64_t *out, size_t m, uint16_t flags,
    uint64_t *last)
{
	struct core_thread	*t = &core_tls;
	uint32_t		 id, gen = __atomic_load_n(&stacks_gen,
				     __ATOMIC_RELAXED);

	if (last == NULL)
		return (stacks_intern(out, m, flags));
	if (t->last_id != 0 && t->last_gen == gen && t->last_n == m &&
	    t->last_flags == flags &&
	    memcmp(out, last, m * sizeof *out) == 0)
		return (t->last_id);
	id = stacks_intern(out, m, flags);
	if (id != 0) {
		memcpy(last, out, m * sizeof *out);
		t->last_n = (uint32_t)m;
		t->last_flags = flags;
		t->last_gen = gen;
	}
	t->last_id = id;
	return (id);
}

/*
 * Merge and intern a stack of n return addresses already unwound into ips
 * (cap entries).  The merged frames go to out (max entries), and last is
 * the thread's memory of its last stack, or NULL.  n <= 0: unwinding
 * failed.
 */
static uint32_t
stacks_finish(uint64_t *ips, int n, size_t cap, uint64_t *out, size_t max,
    int is_mmap, uint64_t *last)
{
	const uint64_t	*frames;
	size_t		 skip, nips, m;
	uint16_t	 flags = 0;

	if (n <= 0)
		goto fail;
	skip = stacks_skip_own(ips, (size_t)n);
	nips = (size_t)n - skip;
	if (nips == 0)
		goto fail;
	m = python_merge(ips + skip, nips, is_mmap, out, max, &flags, &frames);
	if (m == 0)
		goto fail;
	if ((size_t)n == cap || nips > max ||
	    (m == max && (flags & MEMTOP_STACK_PYTHON))) {
		flags |= MEMTOP_STACK_TRUNCATED;
		__atomic_add_fetch(&core_shm.glob->frames_truncated, 1,
		    __ATOMIC_RELAXED);
	}
	return (stacks_intern_last(frames, m, flags, last));

fail:
	__atomic_add_fetch(&core_shm.glob->unwind_failures, 1,
	    __ATOMIC_RELAXED);
	return (0);
}

/*
 * The stack of the allocation being made: unwind, drop the tracker's own
 * frames, merge Python frames, intern.  is_mmap is nonzero for a direct
 * mmap.  Returns the stack id (0 when it could not get one).  A thread
 * with its own slot gets a scratch buffer, which the hooks then unwind
 * into themselves next time (stacks_unwound).
 */
uint32_t
stacks_capture(int is_mmap)
{
	struct core_thread	*t = &core_tls;
	uint64_t		 small_ips[STACKS_SMALL + STACKS_SLACK];
	uint64_t		 small_out[STACKS_SMALL];
	uint64_t		*ips, *out, *scratch, *last = NULL;
	size_t			 max = stacks_max, cap;
	uint32_t		 id;

	cap = max + STACKS_SLACK;
	if (t->slot != NULL &&
	    (scratch = stacks_scratch(t, cap + 2 * max)) != NULL) {
		t->scratch_ips = (uint32_t)cap;
		ips = scratch;
		out = scratch + cap;
		last = out + max;
	} else {
		/* Threads past their exit handlers keep no scratch. */
		if (max > STACKS_SMALL)
			max = STACKS_SMALL;
		cap = max + STACKS_SLACK;
		ips = small_ips;
		out = small_out;
	}
	id = stacks_finish(ips, unwind_backtrace((void **)ips, (int)cap), cap,
	    out, max, is_mmap, last);
	t->last_raw = 0;	/* only stacks_unwound's are repeated */
	return (id);
}

/*
 * The stack the hook unwound into the thread's scratch buffer (n ips).
 * When the unwinder gave the very addresses of the unwind before, and no
 * Python frames are merged, the stack is the last one interned from them
 * (an allocation made again and again from one place, in exact mode).
 */
uint32_t
stacks_unwound(int n, int is_mmap)
{
	struct core_thread	*t = &core_tls;
	uint64_t		*out = t->scratch + t->scratch_ips;
	uint32_t		 id;
	int			 keep;

	keep = t->scratch_len >= t->scratch_ips + 2 * (size_t)stacks_max;
	if (keep && t->unwind_repeat && n > 0 && t->last_id != 0 &&
	    t->last_raw == (uint32_t)n && t->last_mmap == (uint32_t)is_mmap &&
	    !(t->last_flags & MEMTOP_STACK_TRUNCATED) &&
	    t->last_gen == __atomic_load_n(&stacks_gen, __ATOMIC_RELAXED) &&
	    python_passes())
		return (t->last_id);
	id = stacks_finish(t->scratch, n, t->scratch_ips, out, stacks_max,
	    is_mmap, keep ? out + stacks_max : NULL);
	/* What the next repeat may reuse: these addresses gave last_id. */
	if (keep && id != 0 && id == t->last_id) {
		t->last_raw = (uint32_t)n;
		t->last_mmap = (uint32_t)is_mmap;
	} else
		t->last_raw = 0;
	return (id);
}
