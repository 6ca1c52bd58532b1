/*
 * core.h: the private header of libmemtop.so, the tracker that runs inside
 * the target.  Everything here is hidden (-fvisibility=hidden); only the
 * interposed allocator symbols in hooks.c are exported.
 *
 * The pieces:
 *   hooks.c   interposed symbols, the dlsym bootstrap (only in libmemtop.so;
 *             everything else is the engine, libmemtop-engine.la, which
 *             unit tests call directly)
 *   shm.c     attaching to the shared segment, section pointers, strings,
 *             private memory, core_disable
 *   sample.c  per-thread state and the reentrancy guard, counters, the byte
 *             countdown, weights, per-stack aggregates, the peak, the break
 *   maps.c    the set of tracked anonymous mappings (mmap, munmap, mremap)
 *   stacks.c  the stack of a sample and the lock-free stack table
 *   unwind.c  the stack walk, from cached call-frame rules
 *   modules.c the table of loaded ELF objects
 *   live.c    the table of live sampled allocations and its filter
 *   ring.c    the event ring writer
 *   python.c  CPython frames, merged with the native stack
 *   fork.c    fork, exec and thread exit
 *
 * Rules for everything in core/: never abort the target; never call
 * anything that can allocate from a hook without the guard held; on an
 * internal failure call core_disable() and let the program run.
 */

#ifndef MEMTOP_CORE_H
#define MEMTOP_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "memtop/event.h"
#include "memtop/shm.h"

/*
 * Everything declared here is hidden: the compiler then reaches globals
 * without going through the GOT (the hooks read some on every call).
 */
#pragma GCC visibility push(hidden)

/* Sections mapped ahead of their cursors (core_ahead below). */
enum core_ahead_id {
	CORE_AHEAD_STACKS,
	CORE_AHEAD_FRAMES,
	CORE_AHEAD_CODES,
	CORE_AHEAD_STRINGS,
	CORE_AHEAD_ARENA,
	CORE_AHEAD_INDEX,	/* 1 once the whole stack index is mapped */
	CORE_AHEAD_AGGS,	/* one for each lane */
	CORE_AHEAD_RING = CORE_AHEAD_AGGS + MEMTOP_AGG_LANES_MAX,
	CORE_AHEAD_COUNT = CORE_AHEAD_RING + MEMTOP_RINGS_MAX
};

/* Pointers into the mapped segment, set once by shm_attach(). */
struct core_shm {
	struct memtop_header		*hdr;
	struct memtop_thread_slot	*threads;
	uint64_t			 nthreads;
	struct memtop_global		*glob;
	struct memtop_control		*ctl;
	uint32_t			*stack_index;
	uint64_t			 stack_index_cap;
	struct memtop_stack		*stacks;
	struct memtop_stack_agg		*aggs;		/* agg_lanes lanes */
	uint64_t			 stacks_cap;
	uint64_t			 agg_lanes;	/* 1 to MEMTOP_AGG_LANES_MAX */
	uint64_t			*frames;
	uint64_t			 frames_cap;
	struct memtop_code		*codes;
	uint64_t			 codes_cap;
	struct memtop_module		*modules;
	uint64_t			 modules_cap;
	char				*strings;
	uint64_t			 strings_cap;
	struct memtop_live_shard	*shards;
	uint64_t			 nshards;
	struct memtop_live_entry	*arena;
	uint64_t			 arena_cap;
	struct memtop_ring_header	*ring;		/* the first ring */
	uint64_t			 ring_cap;	/* records a ring, and */
	uint64_t			 nrings;	/* rings, checked at */
	uint64_t			 ring_stride;	/* attach; bytes from
							   ring to ring */
	uint64_t			 ahead[CORE_AHEAD_COUNT];	/* see
							   core_ahead */
};
extern struct core_shm core_shm;

/*
 * A first touch of a page of the segment costs the target a page fault,
 * about 12 us on the machines memtop is measured on, where
 * MADV_POPULATE_WRITE maps a run of pages for about 1.2 us a page (see
 * docs/performance.md).  The sections filled from the front (stacks,
 * frames, codes, strings, the live arena, each lane of the aggregates,
 * each ring on its first lap) are mapped CORE_AHEAD_BYTES at a time, ahead
 * of their cursor: core_ahead(k, base, end, cap) before writing below
 * byte end of the section at base (cap bytes long), where
 * core_shm.ahead[k] holds how far it is mapped.
 */
#define CORE_AHEAD_BYTES	(64 * 1024)

void	 core_populate(void *addr, size_t len);
void	 core_ahead_slow(uint64_t *done, void *base, uint64_t end,
	     uint64_t cap);

static inline void
core_ahead(unsigned int k, void *base, uint64_t end, uint64_t cap)
{
	if (__builtin_expect(end > __atomic_load_n(&core_shm.ahead[k],
	    __ATOMIC_RELAXED), 0))
		core_ahead_slow(&core_shm.ahead[k], base, end, cap);
}

/*
 * The reentrancy guard (initial-exec TLS).  While it is held on a thread,
 * the hooks pass every call straight to the real functions and count
 * nothing.  Nesting is allowed.
 */
void	 core_guard_enter(void);
void	 core_guard_leave(void);
int	 core_guard_held(void);

/* Turn tracking off for good, saying why once on stderr and in the header. */
void	 core_disable(const char *why);
/* Nonzero while the library is attached and tracking. */
int	 core_tracking(void);

/*
 * The engine, called by the hooks (and by python.c for wrapped Python
 * allocator domains).  Sizes are usable bytes, counted the same way on both
 * sides.  engine_on_alloc counts the allocation, runs the byte countdown
 * and, when the allocation is sampled, records its stack and keeps it in
 * the live table.  engine_on_free must be called before the memory is
 * released.  live_flags are MEMTOP_LIVE_*.
 */
void	 engine_on_alloc(void *p, size_t size, uint32_t live_flags);
void	 engine_on_free(void *p, size_t size, uint32_t live_flags);

/* Reserve len bytes in MEMTOP_SEC_STRINGS; returns the offset, or -1. */
int64_t	 shm_strings_alloc(size_t len);

/*
 * Per-thread state, in initial-exec TLS (never __tls_get_addr, which may
 * allocate).  Only the owning thread reads or writes it.
 *
 * countdown is the fast path: bytes left before the next sample.  It is
 * forced to zero or below whenever the slow path must run (a new thread, a
 * thread without a slot of its own, exact mode), so the fast path tests
 * nothing else.
 */
#define CORE_THREAD_NEW		0	/* no call seen yet */
#define CORE_THREAD_OWN		1	/* owns slot `slot` */
#define CORE_THREAD_SHARED	2	/* uses slot 0 with atomics */

/* Where a thread's next allocation or free is guessed to be. */
struct core_guess {
	uint64_t	next;		/* the address guessed */
	uint32_t	score;		/* right guesses lately, 0..GUESS_MAX */
	uint32_t	pad;
};

struct core_thread {
	int64_t				 countdown;
	int64_t				 delta;	/* unflushed net bytes */
	int64_t				 limit;	/* glob->flush_limit, as
						   read at the last flush
						   or sample (sample.c) */
	struct memtop_thread_slot	*slot;	/* own slot, or NULL */
	uint32_t			 fast;	/* CORE_FAST_*, see below */
	uint32_t			 guard;	/* reentrancy depth */
	uint32_t			 state;	/* CORE_THREAD_* */
	int32_t				 tid;
	uint32_t			 engine;	/* in the engine's own work */
	int64_t				 shared_countdown;
	uint32_t			 in_internal;	/* see live.c */
	uint32_t			 solo;	/* solo id, 0 before any */
	uint64_t			 rng;
	uint64_t			*scratch;	/* unwind buffers, private */
	size_t				 scratch_len;	/* uint64_t entries */
	uint32_t			 scratch_ips;	/* of them for the ips */
	uint32_t			 last_n;	/* the last stack interned: */
	uint32_t			 last_id;	/* its frames follow the */
	uint32_t			 last_gen;	/* merged ones in scratch */
	uint16_t			 last_flags;	/* (stacks.c) */
	uint16_t			 lane;		/* of the aggregates */
	uint32_t			 lane_own;	/* nonzero: lane is ours */
	uint32_t			 unwind_failed;	/* no cache: libunwind */
	struct unwind_cache		*unwind;	/* unwind.c, or NULL */
	uint32_t			 unwind_repeat;	/* the last unwind gave
							   the one before's */
	uint32_t			 last_raw;	/* return addresses and */
	uint32_t			 last_mmap;	/* is_mmap of last_id */
	uint32_t			 pad4;
	struct core_guess		 guess_alloc;	/* live_prefetch_next */
	struct core_guess		 guess_free;
};
extern __thread struct core_thread core_tls
    __attribute__((tls_model("initial-exec")));

/*
 * The thread's fast paths (hooks.c), one test each: malloc's is on while
 * the thread holds no guard and the process tracks with glibc's allocator
 * behind; free's also needs the thread's own slot and sampled mode (exact
 * mode looks every free up).  Cleared when the guard is taken, set again
 * when it is left, and by the hooks' other paths; a thread whose bits are
 * stale after core_disable (another thread's) only calls the real functions
 * and counts in its own slot until its next slow path clears them.
 */
#define CORE_FAST_MALLOC	1u
#define CORE_FAST_FREE		2u

static inline void	core_fast_arm(struct core_thread *);

/* Take and leave the reentrancy guard (the only ways to change it). */
#define CORE_GUARD_ENTER(t)	do { (t)->guard++; (t)->fast = 0; } while (0)
#define CORE_GUARD_LEAVE(t)	do {					\
	if (--(t)->guard == 0)						\
		core_fast_arm(t);					\
} while (0)

/*
 * The engine's own work (sampling, unwinding, attaching, mapping calls)
 * holds the guard and marks itself: what libc, libunwind or the loader
 * allocate for it then is "internal" (see live.c), never counted, and its
 * free is not counted either, wherever it happens.  The guard alone (held
 * around a real allocator call, or by python.c's allocator wrappers) only
 * makes nested calls pass through.
 */
#define CORE_ENGINE_ENTER(t)	do { CORE_GUARD_ENTER(t); (t)->engine++; } while (0)
#define CORE_ENGINE_LEAVE(t)	do { (t)->engine--; CORE_GUARD_LEAVE(t); } while (0)

/*
 * Nonzero while the process tracks: attached, not disabled, not a forked
 * child.  Read by every hook without a barrier; written rarely.
 */
extern volatile int core_active;

/* Sample mean in bytes (0 in exact mode), copied from the header at attach. */
extern uint64_t core_sample_mean;
extern int core_exact;

/*
 * Usable size of a malloc block.  When the real allocator is glibc's, the
 * size is read from the chunk header (see hooks.c); otherwise through the
 * real malloc_usable_size.  core_glibc_malloc is set once attached when the
 * real allocator is glibc's, and turns the hooks' fast paths on; it is
 * cleared when tracking stops (core_disable, a forked child).
 */
extern int core_glibc_malloc;
extern size_t (*core_real_usable)(void *);

static inline size_t
core_glibc_usable(const void *p)
{
	size_t	sz;

	/*
	 * An in-use glibc chunk: its size field is just below the block,
	 * with PREV_INUSE (1), IS_MMAPPED (2) and NON_MAIN_ARENA (4) in the
	 * low bits.  The block may use the next chunk's first word, except
	 * for an mmapped chunk (what malloc_usable_size says too).
	 */
	sz = ((const size_t *)p)[-1];
	return ((sz & ~(size_t)7) - 8 - ((sz & 2) << 2));
}

/* Usable size of a block of the real allocator. */
static inline size_t
core_usable_size(void *p)
{
	if (__builtin_expect(core_glibc_malloc, 1))
		return (core_glibc_usable(p));
	return (core_real_usable(p));
}

/* shm.c */
int	 shm_attach_env(void);
int	 shm_attach(void *base, uint64_t size, int fd);
void	 shm_reset_data(void);
void	*core_private_map(size_t len);
void	*core_private_map_populated(size_t len);
void	 core_private_unmap(void *p, size_t len);
uint64_t core_now(void);
uint64_t core_now_event(void);
int32_t	 core_gettid(void);
void	 core_write_stderr(const char *s);
void	 core_write_u64(uint64_t v);
void	 core_write_hex(uint64_t v);
void	 core_set_exiting(void);

/* Spinlock for private and shared 32-bit lock words (slow paths only). */
void	 core_lock(uint32_t *lock);
int	 core_trylock(uint32_t *lock);
void	 core_unlock(uint32_t *lock);

/*
 * Solo mode (shm.c): while one thread at a time uses the engine, its
 * updates of shared state (aggregates, live shards, the ring) need no lock
 * and no atomic read-modify-write, which cost more than the rest of an
 * exact-mode sample.  core_solo_owner names the thread allowed to (its
 * solo id, 1 to CORE_SOLO_IDS); another thread that needs the engine takes
 * the ownership over: it names itself, makes every running thread of the
 * process pass a full barrier (membarrier), and waits until the old owner
 * is out of its section.  After CORE_SOLO_HANDOVERS hand-overs, or with
 * more than CORE_SOLO_IDS threads, or without membarrier, the owner is
 * CORE_SOLO_MULTI for good and everybody uses atomics and locks.
 *
 * The owner marks a section with its busy flag, a plain store, then checks
 * that it still owns: the one reordering x86 allows there (the store
 * still buffered when the load runs) is what the membarrier closes.
 * A section is a few instructions on the engine's own data: it calls
 * nothing that can block or allocate, takes no lock a thread outside the
 * engine may hold, and does not nest.
 */
#define CORE_SOLO_IDS		64
#define CORE_SOLO_HANDOVERS	64
#define CORE_SOLO_MULTI		UINT32_MAX
struct core_solo_flag {
	uint32_t	busy;
	uint8_t		pad[MEMTOP_CACHELINE - sizeof(uint32_t)];
};
extern uint32_t			core_solo_owner;
extern struct core_solo_flag	core_solo_flags[CORE_SOLO_IDS + 1];
int	 core_solo_claim(void);
void	 core_solo_init(void);

/*
 * Mark a section of solo id and check that it owns: nonzero when it does
 * (the section is open), zero when not (the mark is taken back).
 */
static inline int
core_solo_enter(uint32_t id)
{
	__atomic_store_n(&core_solo_flags[id].busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&core_solo_owner,
	    __ATOMIC_RELAXED) == id, 1))
		return (1);
	__atomic_store_n(&core_solo_flags[id].busy, 0, __ATOMIC_RELEASE);
	return (0);
}

/*
 * Start a solo section: nonzero when the caller may update shared state
 * with plain loads and stores until core_solo_end; zero when it must use
 * atomics and locks (and call no core_solo_end), which is only ever the
 * case once solo mode has ended for good.
 */
static inline int
core_solo_begin(void)
{
	uint32_t	id = core_tls.solo;

	if (__builtin_expect(id != 0, 1)) {
		if (__builtin_expect(core_solo_enter(id), 1))
			return (1);
	} else if (__atomic_load_n(&core_solo_owner, __ATOMIC_RELAXED) ==
	    CORE_SOLO_MULTI)
		return (0);	/* over for good: no call */
	return (core_solo_claim());
}

/* End a solo section: what it wrote is visible before the flag clears. */
static inline void
core_solo_end(void)
{
	__atomic_store_n(&core_solo_flags[core_tls.solo].busy, 0,
	    __ATOMIC_RELEASE);
}

/*
 * A live table entry as the engine reads it (live_remove): its packed info
 * word unpacked (shm.h), and the weight its size gives.
 */
struct live_item {
	uint64_t	 addr;
	uint64_t	 size;
	double		 weight;
	uint32_t	 stack;
	uint32_t	 flags;
};

/* sample.c */
struct engine_sample {
	uint32_t	 stack;
	double		 weight;
	int64_t		 est_bytes;
	int64_t		 est_count;	/* x MEMTOP_COUNT_ONE */
	uint64_t	 now;		/* ring_now() when taken */
};
void	 sample_init(void);
void	 sample_thread_release(struct core_thread *t);
void	 sample_flush_thread(struct core_thread *t);
void	 sample_charge(uint32_t stack, int64_t bytes, int64_t count,
	     int64_t total_bytes, int64_t total_count);
void	 sample_estimate(struct engine_sample *s, uint64_t size,
	     double weight);
#define ENGINE_PLAIN	0	/* engine_take: not sampled */
#define ENGINE_SAMPLED	1	/* its live entry was taken out */
#define ENGINE_INTERNAL	2	/* allocated for the engine: not counted */
int	 engine_take(void *p, struct live_item *e);
void	 engine_put_back(const struct live_item *e);
void	 engine_on_free_taken(void *p, size_t size,
	     const struct live_item *e);
int	 engine_map_add(void *p, size_t len, struct engine_sample *out);
void	 engine_map_sub(void *p, size_t len, int count,
	     const struct engine_sample *piece);

/* maps.c */
struct maps_range {
	uint64_t		 start;
	uint64_t		 end;
	uint32_t		 sampled;
	struct engine_sample	 s;	/* when sampled: what is left */
};
void	 maps_init(void);
void	 maps_lock(void);
void	 maps_unlock(void);
void	 maps_on_map(void *p, size_t len, int track);
void	 maps_on_unmap(void *p, size_t len);
void	 maps_on_remap(void *old, size_t oldlen, void *p, size_t len,
	     int keep_old);
size_t	 maps_count(void);
const struct maps_range *maps_get(size_t i);
uint64_t maps_tracked_bytes(void);

/* stacks.c */
void	 stacks_init(void);
void	 stacks_set_own_range(uintptr_t lo, uintptr_t hi);
uint32_t stacks_capture(int is_mmap);
size_t	 stacks_skip_own(const uint64_t *ips, size_t n);
uint32_t stacks_unwound(int n, int is_mmap);
uint32_t stacks_intern(const uint64_t *frames, size_t n, uint16_t flags);
uint32_t stacks_hash(const uint64_t *frames, size_t n);

/* modules.c */
void	 modules_scan(void);
void	 modules_check(void);
void	 modules_reset(void);

/* live.c */
void	 live_init(int use_filter);
int	 live_insert(uint64_t addr, uint64_t size, uint32_t stack,
	     uint32_t flags);
int	 live_remove(uint64_t addr, struct live_item *out);
struct live_priv {
	uint64_t	 table;		/* first entry in the arena */
	uint64_t	 capacity;	/* entries, a power of two, or 0 */
	uint64_t	 count;
	uint32_t	 lock;
	uint32_t	 pad;
};
extern struct live_priv	*live_priv;	/* one per shard used */
extern uint64_t		 live_nshards;	/* shards used */
extern uint64_t		 live_ngroups;	/* of LIVE_GROUP shards */
#define LIVE_GROUP	32
void	 live_internal_add(uint64_t addr);
int	 live_internal_take(uint64_t addr);
/*
 * The filter: one bit a bucket of addresses (8 KiB, so that the free hook's
 * probe mostly stays in the cache), set while the bucket's counter (a byte
 * in live_counts, the slow paths only) is not zero.
 */
extern uint64_t	*live_filter;	/* NULL when every free must look */
extern uint8_t	*live_counts;	/* the filter's counters (mapped in every
				   mode, used in sampled mode) */
#define LIVE_FILTER_SIZE	(64 * 1024)	/* buckets */
#define LIVE_INT_BUCKETS	4096
extern uint8_t	 live_int_counts[LIVE_INT_BUCKETS];	/* the internal set's */

/*
 * Hash of an address, for the shards and their slots (a 64-bit finaliser:
 * two multiplies).  Its low bits pick the slot: with one multiply they
 * followed the address's low bits closely enough that neighbouring blocks
 * landed in runs of neighbouring slots, and linear probing took about five
 * probes per insert at half load instead of one and a half.
 */
static inline uint64_t
live_hash(uint64_t addr)
{
	addr ^= addr >> 33;
	addr *= UINT64_C(0xff51afd7ed558ccd);
	addr ^= addr >> 33;
	addr *= UINT64_C(0xc4ceb9fe1a85ec53);
	addr ^= addr >> 33;
	return (addr);
}

/*
 * The shard of an address whose hash is h: its 64 MiB region picks the
 * group, h the shard in the group (see live.c); with fewer shards than a
 * group, h alone.
 */
static inline uint64_t
live_shard_index(uint64_t addr, uint64_t h)
{
	uint64_t	g;

	if (live_ngroups == 0)
		return (((h >> 32) * live_nshards) >> 32);
	/* Fibonacci hashing: neighbouring regions go to different groups. */
	g = (addr >> 26) * UINT64_C(0x9e3779b97f4a7c15);
	return ((((g >> 32) * live_ngroups) >> 32) * LIVE_GROUP +
	    ((h >> 32) & (LIVE_GROUP - 1)));
}

/*
 * The filter's bucket for an address: its 256 bytes of address space, the
 * filter wrapping every 16 MiB, shifted by a multiple of the address's
 * 64 MiB region.  Coarse on purpose: the blocks a program frees one after
 * another are mostly near each other, and 256-byte buckets put 128 KiB of
 * its heap on each 64-byte line of the bitmap, so that the free hook's
 * probe mostly finds its line in the first-level cache (with 16-byte
 * buckets a line covered 8 KiB and the probe missed about 0.7 times a free
 * on the churn).  The shift keeps threads apart: glibc gives each thread
 * arena heaps of its own, 64 MiB aligned, which would otherwise all start
 * on the same lines, and a sample's update of a line (an atomic write)
 * then costs the other threads' frees a miss each.  What it costs: a free
 * of a block sharing a live sample's 256 bytes also goes to the slow path,
 * about 256 / mean of the frees (0.1% at the default mean).
 */
static inline uint64_t
live_bucket(uint64_t addr)
{
	return (((addr >> 8) + (addr >> 26) * 40503) & (LIVE_FILTER_SIZE - 1));
}

/* Set the thread's fast-path bits from its state and the process's. */
static inline void
core_fast_arm(struct core_thread *t)
{
	uint32_t	f = 0;

	if (t->guard == 0 && core_active && core_glibc_malloc) {
		f = CORE_FAST_MALLOC;
		if (t->slot != NULL && live_filter != NULL)
			f |= CORE_FAST_FREE;
	}
	t->fast = f;
}

/* live_maybe, when the filter is known to be there (sampled mode). */
static inline int
live_filter_hit(uint64_t addr)
{
	uint64_t	b = live_bucket(addr);

	return ((__atomic_load_n(&live_filter[b >> 6], __ATOMIC_RELAXED) >>
	    (b & 63)) & 1);
}

/* Nonzero when addr may be in the live table (always, without a filter). */
static inline int
live_maybe(uint64_t addr)
{
	return (live_filter == NULL || live_filter_hit(addr));
}

/*
 * The engine's fast paths, inlined into the hooks: a handful of
 * instructions on thread-local state and the thread's own slot, no lock,
 * no atomic read-modify-write, no call.  Anything else goes to the slow
 * paths in sample.c, which take the guard themselves.
 */
void	 engine_alloc_slow(void *p, size_t size, uint32_t live_flags);
void	 engine_alloc_unwound(void *p, size_t size, uint32_t live_flags,
	     int n);
int	 unw_backtrace(void **, int)	/* libunwind's */
	     __attribute__((visibility("default")));

/*
 * unwind.c: the current stack's return addresses into buf (at most max),
 * innermost first, starting with the one into the caller; libunwind's
 * unw_backtrace where the cached rules cannot do it.  Needs the engine
 * mark held (a rule's first lookup may allocate).
 */
struct unwind_cache;
int	 unwind_backtrace(void **buf, int max);
void	 unwind_init(void);
void	 unwind_forget(void);
void	 unwind_report(void);
void	 unwind_thread_release(struct core_thread *t);
void	 engine_free_slow(void *p, size_t size);
void	 engine_flush_alloc(void *p, size_t size);
void	 engine_flush_free(void);

/*
 * Add to a counter of the thread's own slot.  The thread is its only
 * writer, so a plain add (one instruction, no lock prefix) is enough: the
 * aligned 64-bit store is atomic for the reader.
 */
#define CORE_OWN_ADD(field, v)	((field) += (v))

static inline __attribute__((always_inline)) void live_prefetch(uint64_t);

/* Count an allocation; see engine_on_alloc. */
static inline void
engine_alloc_fast(void *p, size_t size, uint32_t live_flags)
{
	struct core_thread		*t = &core_tls;
	struct memtop_thread_slot	*slot;
	int64_t				 d;

	if (__builtin_expect((t->countdown -= (int64_t)size) <= 0, 0)) {
		if (t->state == CORE_THREAD_OWN && t->scratch != NULL) {
			/*
			 * Sampled for sure.  Unwind here, in the hook's own
			 * frame: every frame of the tracker's unwound costs
			 * as much as one of the program's.  The live
			 * table's slot comes in meanwhile.
			 */
			live_prefetch((uint64_t)(uintptr_t)p);
			CORE_ENGINE_ENTER(t);
			engine_alloc_unwound(p, size, live_flags,
			    unwind_backtrace((void **)t->scratch,
			    (int)t->scratch_ips));
			CORE_ENGINE_LEAVE(t);
		} else
			engine_alloc_slow(p, size, live_flags);
		return;
	}
	slot = t->slot;		/* countdown > 0: the thread owns a slot */
	CORE_OWN_ADD(slot->alloc_bytes, size);
	CORE_OWN_ADD(slot->alloc_count, 1);
	d = (t->delta += (int64_t)size);
	if (__builtin_expect(d >= MEMTOP_FLUSH_BYTES || d > t->limit, 0))
		engine_flush_alloc(p, size);
}

/* Count a free, before the block is released; see engine_on_free. */
static inline void
engine_free_fast(void *p, size_t size)
{
	struct core_thread		*t = &core_tls;
	struct memtop_thread_slot	*slot = t->slot;

	if (__builtin_expect(slot == NULL ||
	    live_maybe((uint64_t)(uintptr_t)p), 0)) {
		engine_free_slow(p, size);
		return;
	}
	CORE_OWN_ADD(slot->free_bytes, size);
	CORE_OWN_ADD(slot->free_count, 1);
	if (__builtin_expect((t->delta -= (int64_t)size) <=
	    -MEMTOP_FLUSH_BYTES, 0))
		engine_flush_free();
}

/*
 * Start fetching the live table slot where addr's entry is, or would go:
 * the table is large and each operation misses the cache once, so the
 * hooks start that early, to overlap it with other work.
 *
 * Always inlined: a function whose only effect is a prefetch counts as
 * pure to GCC, and a call to a pure function returning nothing is dead
 * code.  GCC 12 did not inline it early and so dropped every call.
 */
static inline __attribute__((always_inline)) void
live_prefetch(uint64_t addr)
{
	const struct live_priv	*lp;
	uint64_t		 h = live_hash(addr), cap;

	if (live_priv == NULL)
		return;
	/*
	 * Without the shard's lock: while the table is replaced the two may
	 * not match, and some other line is fetched (a prefetch never faults).
	 */
	lp = &live_priv[live_shard_index(addr, h)];
	cap = __atomic_load_n(&lp->capacity, __ATOMIC_RELAXED);
	if (cap != 0)
		__builtin_prefetch(&core_shm.arena[__atomic_load_n(&lp->table,
		    __ATOMIC_RELAXED) + (h & (cap - 1))], 1);
}

/*
 * Guess where the thread's next allocation (or free) will be, and start
 * fetching that address's slot.  A growing program carves block after
 * block from the top of the heap, and a program that frees what it built
 * often frees it in the order it was built: either way the next block
 * starts where this one ends (a glibc chunk follows the block at its
 * usable size + 8).  The slot is fetched only while the guesses keep
 * coming true, so a program whose blocks come and go in no order pays a
 * comparison, not a fetch it will not use.
 */
#define GUESS_MAX	4
#define GUESS_ON	2	/* score from which the guess is fetched */

static inline __attribute__((always_inline)) void
live_prefetch_next(struct core_guess *g, uint64_t addr, uint64_t next)
{
	if (addr == g->next) {
		if (g->score < GUESS_MAX)
			g->score++;
	} else if (g->score > 0)
		g->score--;
	g->next = next;
	if (g->score >= GUESS_ON)
		live_prefetch(next);
}

/* The internal set's counter of an address. */
static inline uint64_t
live_int_bucket(uint64_t addr)
{
	return ((addr >> 4) & (LIVE_INT_BUCKETS - 1));
}

/* Nonzero when addr may be an internal block (see live.c). */
static inline int
live_internal_maybe(uint64_t addr)
{
	return (__atomic_load_n(&live_int_counts[live_int_bucket(addr)],
	    __ATOMIC_RELAXED) != 0);
}

/* ring.c */
void	 ring_reset(void);
void	 ring_put(uint16_t type, uint64_t addr, uint64_t size,
	     int64_t est_bytes, int64_t est_count, uint32_t stack,
	     uint16_t flags, uint64_t now, int32_t tid);

/*
 * The time of an event: the event clock, or 0 without a ring (the front
 * end asked for no events, MEMTOP_CFG_NOEVENTS), which then reads no clock.
 */
static inline uint64_t
ring_now(void)
{
	return (core_shm.ring != NULL ? core_now_event() : 0);
}

/*
 * Write one event (ring_put), when there is a ring: without one the
 * call and its nine arguments are not made.
 */
static inline void
ring_write(uint16_t type, uint64_t addr, uint64_t size, int64_t est_bytes,
    int64_t est_count, uint32_t stack, uint16_t flags, uint64_t now,
    int32_t tid)
{
	if (core_shm.ring != NULL)
		ring_put(type, addr, size, est_bytes, est_count, stack, flags,
		    now, tid);
}

/* fork.c */
void	 fork_init(void);
void	 fork_thread_start(struct core_thread *t);

/*
 * python.c: Python frames (see docs/design.md, "Python stacks").
 *
 * python_init is called once at attach with the guard held; it finds the
 * interpreter with dlsym, fills header.python_*, and never fails loudly.
 *
 * python_merge turns the native stack of a sample (return addresses,
 * innermost first, the tracker's own frames already removed) into the
 * merged stack stored in the table: every CPython eval-loop frame is
 * replaced by the Python frames it runs, read from the calling thread's own
 * frame chain without the GIL.  is_mmap is nonzero for a direct mmap, so
 * that pymalloc arenas can be labelled.  It writes at most max frames to
 * out, ORs MEMTOP_STACK_* bits into *flags, points *frames at out and
 * returns the count; when it merges nothing (no interpreter found, or
 * --no-python) it writes nothing and points *frames at ips, of which at
 * most max count.  It never allocates.  python_passes does what
 * python_merge does first (look for an interpreter now and then) and
 * returns nonzero when python_merge would then merge nothing.
 *
 * python_fork_child is called in a forked child before anything else.
 */
void	 python_init(void);
int	 python_passes(void);
size_t	 python_merge(const uint64_t *ips, size_t nips, int is_mmap,
	     uint64_t *out, size_t max, uint16_t *flags,
	     const uint64_t **frames);
void	 python_fork_child(void);

/*
 * The rest of python.c's pieces: python-walk.c reads the calling thread's
 * frames, line tables and strings and interns code objects into
 * MEMTOP_SEC_CODES; python-alloc.c wraps CPython's arena and object
 * allocators.  Both follow the layout of the interpreter found by python.c
 * (struct python_layout: byte offsets for x86-64 and aarch64 Linux).
 */
#define PYTHON_POS_BYTES	0	/* int f_lasti in bytes (3.9) */
#define PYTHON_POS_UNITS	1	/* int f_lasti in code units (3.10) */
#define PYTHON_POS_PTR		2	/* instruction pointer (3.11+) */

#define PYTHON_ENTRY_ALL	0	/* one eval call per frame (<= 3.10) */
#define PYTHON_ENTRY_FLAG	1	/* is_entry byte (3.11) */
#define PYTHON_ENTRY_SHIM	2	/* C-stack shim frames (3.12+) */

#define PYTHON_LT_LNOTAB	0	/* co_lnotab (3.9) */
#define PYTHON_LT_310		1	/* co_linetable (3.10) */
#define PYTHON_LT_LOCATIONS	2	/* location table (3.11+) */

#define PYTHON_OWNER_GENERATOR	1	/* frame owners (3.11+) */
#define PYTHON_OWNER_CSTACK	3	/* shim (3.12+) */

struct python_layout {
	uint32_t	 minor;		/* 3.minor */
	uint32_t	 ts_head;	/* frame, cframe or current_frame */
	int32_t		 cf_current;	/* _PyCFrame.current_frame or -1 */
	uint32_t	 f_size;	/* bytes read per frame */
	uint32_t	 f_back;	/* f_back or previous */
	uint32_t	 f_code;	/* f_code or f_executable */
	uint32_t	 f_pos;		/* f_lasti, prev_instr or instr_ptr */
	uint32_t	 pos_kind;	/* PYTHON_POS_* */
	uint32_t	 entry_kind;	/* PYTHON_ENTRY_* */
	int32_t		 f_owner;	/* -1 before 3.11 */
	int32_t		 f_is_entry;	/* 3.11 only, else -1 */
	uint32_t	 co_size;	/* PyCode_Type.tp_basicsize */
	uint32_t	 co_firstlineno;
	uint32_t	 co_filename;
	uint32_t	 co_name;	/* co_qualname from 3.11 */
	uint32_t	 co_linetable;	/* co_lnotab on 3.9 */
	int32_t		 co_firsttraceable;	/* -1 before 3.11 */
	int32_t		 co_adaptive;	/* co_code_adaptive, -1 before */
	uint32_t	 lt_kind;	/* PYTHON_LT_* */
	uint32_t	 str_size;	/* PyUnicode_Type.tp_basicsize */
	uint32_t	 str_ascii;	/* data of a compact ASCII string */
	uint32_t	 str_compact;	/* data of a compact non-ASCII one */
	uint32_t	 pool_size;	/* pymalloc pool, bytes */
	uint32_t	 arena_size;	/* pymalloc arena, bytes */
};

/* What python.c found, set once before Python stacks are turned on. */
struct python_rt {
	const struct python_layout *lay;
	uintptr_t	 code_type;	/* &PyCode_Type */
	uintptr_t	 unicode_type;
	uintptr_t	 bytes_type;
	uintptr_t	 frame_type;	/* &PyFrame_Type (<= 3.10) */
	void		*(*this_tstate)(void);	/* PyGILState_GetThisThreadState */
	int		 (*gil_check)(void);	/* PyGILState_Check */
	int		 (*finalizing)(void);	/* (_)Py_IsFinalizing */
	uintptr_t	 eval_lo;	/* _PyEval_EvalFrameDefault */
	uintptr_t	 eval_hi;
	int32_t		 pid;		/* for process_vm_readv */
	int		 finalized;	/* sticky: finalizing was seen */
};
extern struct python_rt python_rt;

/* One step of a walk: a frame, or the end of one eval call's frames. */
struct python_walk {
	const struct python_layout *lay;
	uintptr_t	 frame;		/* next frame to read, 0 at the end */
	uint32_t	 steps;
	int		 safe;		/* read through the kernel (no GIL) */
};
#define PYTHON_WALK_END		0
#define PYTHON_WALK_FRAME	1	/* *frame is set */
#define PYTHON_WALK_EMPTY	2	/* an entry frame was skipped */

/* python-walk.c */
int	 python_walk_init(void);
int	 python_walk_begin(struct python_walk *w);
int	 python_walk_next(struct python_walk *w, uint64_t *frame, int *entry);
int	 python_line(uint32_t lt_kind, const uint8_t *tab, size_t len,
	     int firstlineno, int64_t addrq);
size_t	 python_utf8(uint32_t kind, const void *data, size_t nchars,
	     char *out, size_t cap);
void	 python_walk_fork_child(void);

/* python-alloc.c */
#define PYTHON_TLS_ARENA	0x1	/* in a pymalloc arena allocation */
#define PYTHON_TLS_PYOBJ	0x2	/* in a wrapped Python domain */
extern __thread uint32_t python_tls __attribute__((tls_model("initial-exec")));
struct python_alloc_syms {
	void	 (*get_arena)(void *);	/* PyObject_GetArenaAllocator */
	void	 (*set_arena)(void *);	/* PyObject_SetArenaAllocator */
	void	 (*get_domain)(int, void *);	/* PyMem_GetAllocator */
	void	 (*set_domain)(int, void *);	/* PyMem_SetAllocator */
};
const char *python_alloc_init(const struct python_alloc_syms *syms,
	     int wrap_domains);
int	 python_alloc_used(void);
void	 python_alloc_fork_child(void);

#pragma GCC visibility pop

#endif /* MEMTOP_CORE_H */
