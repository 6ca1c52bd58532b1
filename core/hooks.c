/*
 * hooks.c: the symbols libmemtop.so interposes (malloc and its family,
 * mmap, munmap, mremap), and the bootstrap that finds the real ones.
 *
 * Each hook is thin: when the thread holds the reentrancy guard or the
 * process does not track, it passes straight through; otherwise it calls
 * the real function with the guard held, so that whatever the allocator
 * does inside (mmap, or calling malloc itself) is not counted twice, and
 * tells the engine's inlined fast path (core.h) what was allocated or
 * freed, by usable size.  A free is counted before the block is released.
 * glibc's allocator makes no call back through the PLT (its mmap and
 * friends are internal calls), so malloc and free skip the guard when it
 * is the real one: the commonest calls stay a handful of instructions.
 *
 * The real functions are resolved once, early (the constructor, or the
 * first hook called before it), with dlsym(RTLD_NEXT).  dlsym allocates:
 * those calls are served from a small static pool, which free() recognises
 * and ignores.
 *
 * This file is only in libmemtop.so; unit tests link the engine without it.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif

#define HOOK	__attribute__((visibility("default")))

static void	*(*real_malloc)(size_t);
static void	 (*real_free)(void *);
static void	*(*real_calloc)(size_t, size_t);
static void	*(*real_realloc)(void *, size_t);
static int	 (*real_posix_memalign)(void **, size_t, size_t);
static void	*(*real_aligned_alloc)(size_t, size_t);
static void	*(*real_memalign)(size_t, size_t);
static void	*(*real_valloc)(size_t);
static void	*(*real_pvalloc)(size_t);
static void	*(*real_mmap)(void *, size_t, int, int, int, off_t);
static int	 (*real_munmap)(void *, size_t);
static void	*(*real_mremap)(void *, size_t, size_t, int, ...);
static int	 (*real_dlclose)(void *);

#define HOOKS_NONE	0
#define HOOKS_RESOLVING	1
#define HOOKS_READY	2
static int	 hooks_state;
static size_t	 hooks_page = 4096;

/*
 * The fast paths' updates of a thread-local counter, each one instruction
 * on memory and a branch (left to itself the compiler loads, changes,
 * stores and tests):
 *   HOOKS_SUB_JLE(x, v, l)         x -= v, then go to l if x <= 0;
 *   HOOKS_ADD_JGT(x, v, m, l)      x += v, then go to l if x > m;
 *   HOOKS_SUB_JLE_IMM(x, v, k, l)  x -= v, then go to l if x <= k.
 * The asm changes x in place: x is an input, with a memory clobber (asm
 * goto with outputs is newer and was miscompiled).  Other targets get C.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define HOOKS_SUB_JLE(x, v, l)						\
	__asm__ goto("subq %1, %0\n\tjle %l[" #l "]"			\
	    : : "m"(x), "r"(v) : "cc", "memory" : l)
#define HOOKS_ADD_JGT(x, v, m, l)					\
	__asm__ goto("addq %1, %0\n\tcmpq %2, %0\n\tjg %l[" #l "]"	\
	    : : "m"(x), "r"(v), "r"(m) : "cc", "memory" : l)
#define HOOKS_SUB_JLE_IMM(x, v, k, l)					\
	__asm__ goto("subq %1, %0\n\tcmpq %2, %0\n\tjle %l[" #l "]"	\
	    : : "m"(x), "r"(v), "i"(k) : "cc", "memory" : l)
#else
#define HOOKS_SUB_JLE(x, v, l)						\
	do { if (__builtin_expect(((x) -= (v)) <= 0, 0)) goto l; } while (0)
#define HOOKS_ADD_JGT(x, v, m, l)					\
	do { if (__builtin_expect(((x) += (v)) > (m), 0)) goto l; } while (0)
#define HOOKS_SUB_JLE_IMM(x, v, k, l)					\
	do { if (__builtin_expect(((x) -= (v)) <= (k), 0)) goto l; } while (0)
#endif

/* glibc's chunk header flag of a block mmapped on its own. */
#define HOOKS_CHUNK_MMAPPED	((size_t)2)

/* The bootstrap pool: what dlsym allocates before malloc is known. */
#define HOOKS_POOL_SIZE	(64 * 1024)
static char	 hooks_pool[HOOKS_POOL_SIZE] __attribute__((aligned(64)));
static size_t	 hooks_pool_used;

/* Nonzero when p came from the bootstrap pool. */
static inline int
hooks_in_pool(const void *p)
{
	return ((uintptr_t)p - (uintptr_t)hooks_pool < HOOKS_POOL_SIZE);
}

/* Allocate from the bootstrap pool (zeroed, never reused); NULL if full. */
static void *
hooks_pool_alloc(size_t n)
{
	size_t	off, need;

	if (n > HOOKS_POOL_SIZE)
		goto full;
	need = 16 + ((n + 15) & ~(size_t)15);
	off = __atomic_fetch_add(&hooks_pool_used, need, __ATOMIC_RELAXED);
	if (off + need > HOOKS_POOL_SIZE)
		goto full;
	*(size_t *)(hooks_pool + off) = n;
	/*
	 * Where a glibc chunk keeps its size: IS_MMAPPED sends free's fast
	 * path to hooks_free_slow, which knows the pool.
	 */
	*(size_t *)(hooks_pool + off + 8) = HOOKS_CHUNK_MMAPPED;
	return (hooks_pool + off + 16);

full:
	errno = ENOMEM;
	return (NULL);
}

/* Size asked for a bootstrap pool block. */
static size_t
hooks_pool_size(const void *p)
{
	return (*(const size_t *)((const char *)p - 16));
}

/* Look up the next definition of a symbol, after this library. */
static void *
hooks_next(const char *name)
{
	return (dlsym(RTLD_NEXT, name));
}

/*
 * Resolve the real functions, then attach to the segment if the launcher
 * gave one.  Runs once, in the constructor or in the first hook called
 * before it; other threads arriving meanwhile wait.
 */
static void
hooks_init(void)
{
	int	state = HOOKS_NONE, glibc;
	long	page;

	if (!__atomic_compare_exchange_n(&hooks_state, &state,
	    HOOKS_RESOLVING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) !=
		    HOOKS_READY && !core_guard_held())
			sched_yield();
		return;
	}
	CORE_ENGINE_ENTER(&core_tls);
	real_malloc = hooks_next("malloc");
	real_free = hooks_next("free");
	real_calloc = hooks_next("calloc");
	real_realloc = hooks_next("realloc");
	real_posix_memalign = hooks_next("posix_memalign");
	real_aligned_alloc = hooks_next("aligned_alloc");
	real_memalign = hooks_next("memalign");
	real_valloc = hooks_next("valloc");
	real_pvalloc = hooks_next("pvalloc");
	real_mmap = hooks_next("mmap");
	real_munmap = hooks_next("munmap");
	real_mremap = hooks_next("mremap");
	real_dlclose = hooks_next("dlclose");
	core_real_usable = hooks_next("malloc_usable_size");

	/*
	 * glibc's chunk header can be read inline only when every entry
	 * point is glibc's own (no other allocator, no malloc debugging
	 * library in between).
	 */
	glibc = real_malloc != NULL &&
	    real_malloc == hooks_next("__libc_malloc") &&
	    real_free == hooks_next("__libc_free") &&
	    real_realloc == hooks_next("__libc_realloc") &&
	    real_calloc == hooks_next("__libc_calloc") &&
	    real_memalign == hooks_next("__libc_memalign");

	if ((page = sysconf(_SC_PAGESIZE)) > 0)
		hooks_page = (size_t)page;
	__atomic_store_n(&hooks_state, HOOKS_READY, __ATOMIC_RELEASE);

	if (real_malloc == NULL || real_free == NULL || real_calloc == NULL ||
	    real_realloc == NULL || real_mmap == NULL || real_munmap == NULL ||
	    real_mremap == NULL || core_real_usable == NULL)
		core_write_stderr("memtop: allocator functions not found, "
		    "not tracking\n");
	else if (shm_attach_env() == 0 && glibc && core_active)
		core_glibc_malloc = 1;	/* the fast paths are on */
	CORE_ENGINE_LEAVE(&core_tls);
}

/* Start as soon as the library is loaded. */
__attribute__((constructor)) static void
hooks_constructor(void)
{
	if (__atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) == HOOKS_NONE)
		hooks_init();
}

/*
 * The process is exiting.  Keep tracking (destructors and atexit handlers
 * still allocate and free); only say so, and flush this thread's delta so
 * that the flushed total is current.
 */
__attribute__((destructor)) static void
hooks_destructor(void)
{
	if (!core_active)
		return;
	CORE_ENGINE_ENTER(&core_tls);
	core_set_exiting();
	sample_flush_thread(&core_tls);
	unwind_report();
	CORE_ENGINE_LEAVE(&core_tls);
}

/* Make the real functions known; nonzero when they are. */
static inline int
hooks_ready(void)
{
	if (__builtin_expect(__atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) ==
	    HOOKS_READY, 1))
		return (1);
	if (!core_guard_held())
		hooks_init();
	return (__atomic_load_n(&hooks_state, __ATOMIC_ACQUIRE) ==
	    HOOKS_READY);
}

/* Nonzero when this call must pass through uncounted. */
static inline int
hooks_bypass(struct core_thread *t)
{
	return (__builtin_expect(t->guard != 0 || !core_active, 0));
}

/* Round a length up to whole pages. */
static inline size_t
hooks_pages(size_t len)
{
	return ((len + hooks_page - 1) & ~(hooks_page - 1));
}

/*
 * A block allocated while passing through: if the engine's own work asked
 * for it, remember it as internal (never counted, nor its free).
 */
static inline void *
hooks_internal(struct core_thread *t, void *p)
{
	/* Attaching counts too (core_active is not set yet): python_init's
	 * failing dlsym leaves a dlerror buffer the program frees later. */
	if (__builtin_expect(t->engine != 0, 0) && p != NULL &&
	    live_counts != NULL)
		live_internal_add((uint64_t)(uintptr_t)p);
	return (p);
}

/*
 * A block freed while passing through: forget it if it was internal.  Not
 * in a forked child (core_active off, no engine work): the set's lock may
 * have been held by a thread the fork lost.
 */
static inline void
hooks_internal_free(void *p)
{
	if ((core_active || core_tls.engine != 0) &&
	    live_internal_maybe((uint64_t)(uintptr_t)p))
		live_internal_take((uint64_t)(uintptr_t)p);
}

/*
 * malloc and free, the calls that matter most, are written so that their
 * fast path makes no call but the real one (free's is a tail jump):
 * everything else is in the out-of-line functions below, reached by tail
 * calls, which also keeps the tracker to one frame when a sample is
 * unwound.  The fast path is on while the thread's CORE_FAST_* bit is
 * (core.h): tracking, no guard held, glibc's allocator behind, and for
 * free a slot of its own in sampled mode.  A block mmapped on its own
 * (IS_MMAPPED in its chunk header) leaves the fast path, so that its size
 * there is one mask: (header - 8) & ~7, the usable size of any other chunk.
 */

/* malloc passing through, or with an allocator other than glibc's. */
static __attribute__((noinline)) void *
hooks_malloc_other(size_t n)
{
	struct core_thread	*t = &core_tls;
	void			*p;

	if (hooks_bypass(t)) {
		if (!hooks_ready() || real_malloc == NULL)
			return (hooks_pool_alloc(n));
		if (!hooks_bypass(t))
			return (malloc(n));	/* just attached */
		return (hooks_internal(t, real_malloc(n)));
	}
	core_fast_arm(t);		/* a new thread, or tracking stopped */
	if (t->fast & CORE_FAST_MALLOC)
		return (malloc(n));
	CORE_GUARD_ENTER(t);
	p = real_malloc(n);
	CORE_GUARD_LEAVE(t);
	if (p != NULL)
		engine_alloc_fast(p, core_real_usable(p), 0);
	return (p);
}

/* A block that glibc mmapped on its own, from malloc's fast path. */
static __attribute__((noinline)) void *
hooks_alloc_mmapped(void *p)
{
	if (core_active)
		engine_alloc_fast(p, core_glibc_usable(p), 0);
	else
		core_tls.fast = 0;
	return (p);
}

/* The countdown ran out: a sample, a new thread, or tracking stopped. */
static __attribute__((noinline)) void *
hooks_alloc_slow(void *p, size_t size)
{
	struct core_thread	*t = &core_tls;

	if (!core_active) {
		t->fast = 0;
		return (p);
	}
	if (t->state == CORE_THREAD_OWN && t->scratch != NULL) {
		/* The live table's slot comes in while unwinding. */
		live_prefetch((uint64_t)(uintptr_t)p);
		live_prefetch_next(&t->guess_alloc, (uint64_t)(uintptr_t)p,
		    (uint64_t)(uintptr_t)p + size + 8);
		CORE_ENGINE_ENTER(t);
		engine_alloc_unwound(p, size, 0, unwind_backtrace(
		    (void **)t->scratch, (int)t->scratch_ips));
		CORE_ENGINE_LEAVE(t);
	} else
		engine_alloc_slow(p, size, 0);
	return (p);
}

/* The thread's delta is due to be flushed after an allocation. */
static __attribute__((noinline)) void *
hooks_alloc_flush(void *p, size_t size)
{
	if (core_active)
		engine_flush_alloc(p, size);
	else
		core_tls.fast = 0;
	return (p);
}

HOOK void *
malloc(size_t n)
{
	struct core_thread		*t = &core_tls;
	struct memtop_thread_slot	*slot;
	void				*p;
	int64_t				 size;

	if (__builtin_expect(!(t->fast & CORE_FAST_MALLOC), 0))
		return (hooks_malloc_other(n));
	/* glibc's allocator never calls back through the PLT: no guard. */
	if ((p = real_malloc(n)) == NULL)
		return (NULL);
	size = ((const int64_t *)p)[-1];
	if (__builtin_expect((size & HOOKS_CHUNK_MMAPPED) != 0, 0))
		return (hooks_alloc_mmapped(p));
	size = (size - 8) & ~(int64_t)7;
	HOOKS_SUB_JLE(t->countdown, size, sample);
	slot = t->slot;		/* countdown > 0: the thread owns a slot */
	CORE_OWN_ADD(slot->alloc_bytes, (uint64_t)size);
	CORE_OWN_ADD(slot->alloc_count, 1);
	/* The thread's limit is below MEMTOP_FLUSH_BYTES (sample.c). */
	HOOKS_ADD_JGT(t->delta, size, t->limit, flush);
	return (p);
sample:
	return (hooks_alloc_slow(p, (size_t)size));
flush:
	return (hooks_alloc_flush(p, (size_t)size));
}

/* free passing through, in exact mode, or with another allocator. */
static __attribute__((noinline)) void
hooks_free_other(void *p)
{
	struct core_thread	*t = &core_tls;
	size_t			 size;

	if (hooks_in_pool(p))
		return;
	if (hooks_bypass(t)) {
		hooks_internal_free(p);
		if (real_free != NULL)
			real_free(p);
		return;
	}
	if (core_glibc_malloc) {
		/* A new thread (exact mode comes here at every free). */
		if (!(t->fast & CORE_FAST_MALLOC))
			core_fast_arm(t);
		/* Exact mode looks every free up: overlap it with the header. */
		if (live_filter == NULL) {
			live_prefetch((uint64_t)(uintptr_t)p);
			size = core_glibc_usable(p);
			live_prefetch_next(&t->guess_free,
			    (uint64_t)(uintptr_t)p,
			    (uint64_t)(uintptr_t)p + size + 8);
		} else
			size = core_glibc_usable(p);
		engine_free_fast(p, size);
		real_free(p);
		return;
	}
	engine_free_fast(p, core_real_usable(p));
	CORE_GUARD_ENTER(t);
	real_free(p);
	CORE_GUARD_LEAVE(t);
}

/*
 * A free the engine must look at: no slot, maybe sampled, a block mmapped
 * on its own, or one from the bootstrap pool.
 */
static __attribute__((noinline)) void
hooks_free_slow(void *p)
{
	if (hooks_in_pool(p))
		return;
	if (core_active)
		engine_free_slow(p, core_glibc_usable(p));
	else
		core_tls.fast = 0;
	real_free(p);
}

/* The thread's delta is due to be flushed after a free. */
static __attribute__((noinline)) void
hooks_free_flush(void *p)
{
	if (core_active)
		engine_flush_free();
	else
		core_tls.fast = 0;
	real_free(p);
}

HOOK void
free(void *p)
{
	struct core_thread		*t = &core_tls;
	struct memtop_thread_slot	*slot;
	int64_t				 size;

	if (p == NULL)
		return;
	if (__builtin_expect(!(t->fast & CORE_FAST_FREE), 0)) {
		hooks_free_other(p);
		return;
	}
	size = ((const int64_t *)p)[-1];
	if (__builtin_expect((size & HOOKS_CHUNK_MMAPPED) != 0 ||
	    live_filter_hit((uint64_t)(uintptr_t)p), 0)) {
		hooks_free_slow(p);
		return;
	}
	size = (size - 8) & ~(int64_t)7;
	slot = t->slot;		/* CORE_FAST_FREE: the thread owns one */
	/* Counted before the block goes: its address may be reused at once. */
	CORE_OWN_ADD(slot->free_bytes, (uint64_t)size);
	CORE_OWN_ADD(slot->free_count, 1);
	HOOKS_SUB_JLE_IMM(t->delta, size, -MEMTOP_FLUSH_BYTES, flush);
	real_free(p);
	return;
flush:
	hooks_free_flush(p);
}

HOOK void *
calloc(size_t n, size_t m)
{
	struct core_thread	*t = &core_tls;
	void			*p;
	size_t			 total;

	if (hooks_bypass(t)) {
		if (!hooks_ready() || real_calloc == NULL) {
			if (__builtin_mul_overflow(n, m, &total)) {
				errno = ENOMEM;
				return (NULL);
			}
			return (hooks_pool_alloc(total));
		}
		if (!hooks_bypass(t))
			return (calloc(n, m));
		return (hooks_internal(t, real_calloc(n, m)));
	}
	CORE_GUARD_ENTER(t);
	p = real_calloc(n, m);
	CORE_GUARD_LEAVE(t);
	if (p != NULL)
		engine_alloc_fast(p, core_usable_size(p), 0);
	return (p);
}

/* realloc of a bootstrap pool block: move it to the real heap. */
static void *
hooks_realloc_pool(void *p, size_t n)
{
	size_t	old = hooks_pool_size(p);
	void	*q;

	if (n == 0)
		return (NULL);
	if ((q = malloc(n)) != NULL)
		memcpy(q, p, old < n ? old : n);
	return (q);
}

HOOK void *
realloc(void *p, size_t n)
{
	struct core_thread		*t = &core_tls;
	struct live_item		 e;
	size_t				 old = 0;
	void				*q;
	int				 took = ENGINE_PLAIN;

	if (p != NULL && hooks_in_pool(p))
		return (hooks_realloc_pool(p, n));
	if (hooks_bypass(t)) {
		if (!hooks_ready() || real_realloc == NULL)
			return (p == NULL ? hooks_pool_alloc(n) : NULL);
		if (!hooks_bypass(t))
			return (realloc(p, n));
		if (p != NULL)
			hooks_internal_free(p);
		q = real_realloc(p, n);
		if (q == NULL && p != NULL && n != 0) {
			hooks_internal(t, p);	/* failed: p stays as it was */
			return (NULL);
		}
		return (hooks_internal(t, q));
	}
	if (p != NULL) {
		/* Out of the live table before the block can be reused. */
		old = core_usable_size(p);
		took = engine_take(p, &e);
	}
	CORE_GUARD_ENTER(t);
	q = real_realloc(p, n);
	CORE_GUARD_LEAVE(t);
	if (q == NULL && (p == NULL || n != 0)) {
		/* Failed: p is untouched. */
		if (took == ENGINE_SAMPLED)
			engine_put_back(&e);
		else if (took == ENGINE_INTERNAL)
			live_internal_add((uint64_t)(uintptr_t)p);
	} else {
		/* glibc's realloc(p, 0) frees p and returns NULL. */
		if (p != NULL && took != ENGINE_INTERNAL)
			engine_on_free_taken(p, old,
			    took == ENGINE_SAMPLED ? &e : NULL);
		if (q != NULL)
			engine_alloc_fast(q, core_usable_size(q), 0);
	}
	return (q);
}

HOOK void *
reallocarray(void *p, size_t n, size_t m)
{
	size_t	total;

	if (__builtin_mul_overflow(n, m, &total)) {
		errno = ENOMEM;
		return (NULL);
	}
	return (realloc(p, total));
}

HOOK int
posix_memalign(void **pp, size_t align, size_t n)
{
	struct core_thread	*t = &core_tls;
	int			 r;

	if (hooks_bypass(t)) {
		if (!hooks_ready() || real_posix_memalign == NULL)
			return (ENOMEM);
		if (!hooks_bypass(t))
			return (posix_memalign(pp, align, n));
		if ((r = real_posix_memalign(pp, align, n)) == 0)
			hooks_internal(t, *pp);
		return (r);
	}
	CORE_GUARD_ENTER(t);
	r = real_posix_memalign(pp, align, n);
	CORE_GUARD_LEAVE(t);
	if (r == 0 && *pp != NULL)
		engine_alloc_fast(*pp, core_usable_size(*pp), 0);
	return (r);
}

/* The body of the aligned allocators that return the block. */
#define HOOKS_ALIGNED(real, call, again) do {				\
	struct core_thread	*t = &core_tls;				\
	void			*p;					\
									\
	if (hooks_bypass(t)) {						\
		if (!hooks_ready() || (real) == NULL) {			\
			errno = ENOMEM;					\
			return (NULL);					\
		}							\
		if (!hooks_bypass(t))					\
			return (again);					\
		return (hooks_internal(t, (call)));			\
	}								\
	CORE_GUARD_ENTER(t);						\
	p = (call);							\
	CORE_GUARD_LEAVE(t);						\
	if (p != NULL)							\
		engine_alloc_fast(p, core_usable_size(p), 0);		\
	return (p);							\
} while (0)

HOOK void *
aligned_alloc(size_t align, size_t n)
{
	HOOKS_ALIGNED(real_aligned_alloc, real_aligned_alloc(align, n),
	    aligned_alloc(align, n));
}

HOOK void *
memalign(size_t align, size_t n)
{
	HOOKS_ALIGNED(real_memalign, real_memalign(align, n),
	    memalign(align, n));
}

HOOK void *
valloc(size_t n)
{
	HOOKS_ALIGNED(real_valloc, real_valloc(n), valloc(n));
}

HOOK void *
pvalloc(size_t n)
{
	HOOKS_ALIGNED(real_pvalloc, real_pvalloc(n), pvalloc(n));
}

/* mmap before the real one is known: the system call itself. */
static void *
hooks_sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
    off_t off)
{
	long	r;

	r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	return (r == -1 ? MAP_FAILED : (void *)r);
}

HOOK void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct core_thread	*t = &core_tls;
	void			*p;
	int			 track, saved;

	if (hooks_bypass(t)) {
		if (real_mmap == NULL)
			return (hooks_sys_mmap(addr, len, prot, flags, fd,
			    off));
		return (real_mmap(addr, len, prot, flags, fd, off));
	}
	track = (flags & MAP_ANONYMOUS) != 0 &&
	    (flags & MAP_TYPE) == MAP_PRIVATE;
	CORE_ENGINE_ENTER(t);
	maps_lock();
	p = real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED) {
		saved = errno;
		maps_on_map(p, hooks_pages(len), track);
		errno = saved;
	}
	maps_unlock();
	CORE_ENGINE_LEAVE(t);
	return (p);
}

HOOK void *mmap64(void *, size_t, int, int, int, off_t)
    __attribute__((alias("mmap")));

HOOK int
munmap(void *addr, size_t len)
{
	struct core_thread	*t = &core_tls;
	int			 r, saved;

	if (hooks_bypass(t)) {
		if (real_munmap == NULL)
			return ((int)syscall(SYS_munmap, addr, len));
		return (real_munmap(addr, len));
	}
	CORE_ENGINE_ENTER(t);
	maps_lock();
	r = real_munmap(addr, len);
	if (r == 0) {
		saved = errno;
		maps_on_unmap(addr, hooks_pages(len));
		errno = saved;
	}
	maps_unlock();
	CORE_ENGINE_LEAVE(t);
	return (r);
}

HOOK void *
mremap(void *old, size_t oldlen, size_t len, int flags, ...)
{
	struct core_thread	*t = &core_tls;
	void			*p, *want = NULL;
	va_list			 ap;
	int			 saved;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (hooks_bypass(t)) {
		if (real_mremap == NULL)
			return ((void *)syscall(SYS_mremap, old, oldlen, len,
			    flags, want));
		return (real_mremap(old, oldlen, len, flags, want));
	}
	CORE_ENGINE_ENTER(t);
	maps_lock();
	p = real_mremap(old, oldlen, len, flags, want);
	if (p != MAP_FAILED) {
		saved = errno;
		maps_on_remap(old, hooks_pages(oldlen), p, hooks_pages(len),
		    (flags & MREMAP_DONTUNMAP) != 0);
		errno = saved;
	}
	maps_unlock();
	CORE_ENGINE_LEAVE(t);
	return (p);
}

/*
 * dlclose: an object may have been unloaded, and another may come to the
 * same addresses; the unwinder's cached rules must not outlive its code.
 */
HOOK int
dlclose(void *handle)
{
	int	r;

	if (!hooks_ready() || real_dlclose == NULL)
		return (-1);
	r = real_dlclose(handle);
	unwind_forget();
	return (r);
}
