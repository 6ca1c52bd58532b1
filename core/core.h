/*
 * core.h: the private header of libmemtop.so, the tracker that runs inside
 * the target.  Everything here is hidden (-fvisibility=hidden); only the
 * interposed allocator symbols in hooks.c are exported.
 *
 * The pieces:
 *   hooks.c   interposed symbols, the dlsym bootstrap, the reentrancy guard
 *   shm.c     attaching to the shared segment, section pointers, strings
 *   sample.c  per-thread counters, the byte countdown, weights, the peak
 *   stacks.c  unwinding and the lock-free stack table
 *   live.c    the table of live sampled allocations
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
	struct memtop_stack_agg		*aggs;
	uint64_t			 stacks_cap;
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
	struct memtop_ring_header	*ring;
	struct memtop_event		*events;
};
extern struct core_shm core_shm;

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
 * out, ORs MEMTOP_STACK_* bits into *flags and returns the count; with no
 * Python on this thread it copies the native frames.  It never allocates.
 *
 * python_fork_child is called in a forked child before anything else.
 */
void	 python_init(void);
size_t	 python_merge(const uintptr_t *ips, size_t nips, int is_mmap,
	     uint64_t *out, size_t max, uint16_t *flags);
void	 python_fork_child(void);

#endif /* MEMTOP_CORE_H */
