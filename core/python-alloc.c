/*
 * python-alloc.c: memtop's wrappers around CPython's own allocators.
 *
 * pymalloc serves objects of 512 bytes or less from arenas it maps itself
 * (256 KiB on 3.9, 1 MiB from 3.10), so the malloc hooks never see them;
 * they see one mmap per arena, charged to whichever line needed a new one.
 *
 * Always (when Python stacks are on): the arena allocator is wrapped
 * (PyObject_SetArenaAllocator) before the interpreter starts.  The wrapper
 * calls the original and only notes, in python_tls, that an arena is being
 * mapped, so that python_merge can label that mmap "[pymalloc arena]".
 * The same allocator also maps the frame stacks of 3.11+ (16 KiB and up);
 * only mappings of exactly the arena size are labelled.  pymalloc itself
 * is not changed.
 *
 * With --python-allocators (MEMTOP_CFG_PYALLOC): the PYMEM_DOMAIN_MEM and
 * PYMEM_DOMAIN_OBJ allocators are wrapped too (PyMem_SetAllocator), also
 * before the interpreter starts, so that every block freed through them
 * was allocated through them.  Each call goes through to the original with
 * the reentrancy guard held (pymalloc's own arena mmaps and its mallocs of
 * large blocks are not counted again), then tells the engine about the
 * block (MEMTOP_LIVE_PYOBJ).  A block's size is its usable size, the same
 * on both sides:
 *   - inside an arena: the size class of its pool, read from the pool
 *     header (pools are aligned, szidx is at offset 36, a class is a
 *     multiple of 16 bytes);
 *   - otherwise pymalloc passed the request to malloc: malloc's usable
 *     size.
 * To tell the two apart the arena wrapper keeps a map of every page the
 * arena allocator handed out (a bit per 4 KiB page, two levels, in private
 * memory).  Every malloc through the wrapper checks the size class against
 * the request; a mismatch means the pool layout is not what memtop
 * expects, and tracking stops rather than count wrong sizes.
 */

#include "config.h"

#include <string.h>

#include "core.h"

__thread uint32_t python_tls __attribute__((tls_model("initial-exec")));

/* CPython's PyMemAllocatorEx and PyObjectArenaAllocator (stable ABI). */
struct palloc_domain {
	void	*ctx;
	void	*(*malloc)(void *, size_t);
	void	*(*calloc)(void *, size_t, size_t);
	void	*(*realloc)(void *, void *, size_t);
	void	 (*free)(void *, void *);
};

struct palloc_arena {
	void	*ctx;
	void	*(*alloc)(void *, size_t);
	void	 (*free)(void *, void *, size_t);
};

#define PALLOC_DOMAIN_MEM	1
#define PALLOC_DOMAIN_OBJ	2
#define PALLOC_SMALL		512	/* pymalloc's largest request */
#define PALLOC_POOL_SZIDX	36	/* pool_header.szidx */

static struct palloc_arena	palloc_arena;	/* the originals */
static struct palloc_domain	palloc_mem;
static struct palloc_domain	palloc_obj;
static size_t			palloc_arena_size;
static uintptr_t		palloc_pool_mask;
static int			palloc_track;	/* keep the page map */
static int			palloc_used;	/* a wrapper was called */

/* The page map: a bit per 4 KiB page of the 47-bit address space. */
#define PALLOC_PAGE_SHIFT	12
#define PALLOC_LEAF_SHIFT	30	/* a leaf covers 1 GiB */
#define PALLOC_TOP		(1 << (47 - PALLOC_LEAF_SHIFT))
#define PALLOC_LEAF_WORDS	((1 << (PALLOC_LEAF_SHIFT - \
				    PALLOC_PAGE_SHIFT)) / 64)

static uint64_t		**palloc_top;
static uint32_t		  palloc_leaf_lock;

/* The leaf of the page map covering addr, made when create is set. */
static uint64_t *
palloc_leaf(uintptr_t addr, int create)
{
	uint64_t	**slot, *leaf;
	uintptr_t	  top = addr >> PALLOC_LEAF_SHIFT;

	if (palloc_top == NULL || top >= PALLOC_TOP)
		return (NULL);
	slot = &palloc_top[top];
	leaf = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (leaf != NULL || !create)
		return (leaf);
	core_lock(&palloc_leaf_lock);
	if ((leaf = *slot) == NULL) {
		leaf = core_private_map(PALLOC_LEAF_WORDS * sizeof *leaf);
		__atomic_store_n(slot, leaf, __ATOMIC_RELEASE);
	}
	core_unlock(&palloc_leaf_lock);
	return (leaf);
}

/* Mark (or unmark) the pages of [p, p + len) as arena allocator's. */
static void
palloc_mark(void *p, size_t len, int on)
{
	uintptr_t	a = (uintptr_t)p, end = a + len;
	uint64_t	*leaf, bit;
	uint64_t	 page;

	for (; a < end; a += (uintptr_t)1 << PALLOC_PAGE_SHIFT) {
		if ((leaf = palloc_leaf(a, on)) == NULL) {
			if (on)
				core_disable("--python-allocators: no memory "
				    "for the pymalloc arena map");
			continue;
		}
		page = (a >> PALLOC_PAGE_SHIFT) &
		    ((PALLOC_LEAF_WORDS * 64) - 1);
		bit = UINT64_C(1) << (page & 63);
		if (on)
			__atomic_or_fetch(&leaf[page / 64], bit,
			    __ATOMIC_RELEASE);
		else
			__atomic_and_fetch(&leaf[page / 64], ~bit,
			    __ATOMIC_RELEASE);
	}
}

/* Nonzero when p lies in a page the arena allocator handed out. */
static inline int
palloc_in_arena(uintptr_t a)
{
	uint64_t	*leaf = palloc_leaf(a, 0);
	uint64_t	 page;

	if (leaf == NULL)
		return (0);
	page = (a >> PALLOC_PAGE_SHIFT) & ((PALLOC_LEAF_WORDS * 64) - 1);
	return ((__atomic_load_n(&leaf[page / 64], __ATOMIC_ACQUIRE) >>
	    (page & 63)) & 1);
}

/* The usable size of a block from a wrapped domain (see the top). */
static inline size_t
palloc_size(void *p)
{
	uintptr_t	a = (uintptr_t)p;
	uint32_t	szidx;

	if (palloc_in_arena(a)) {
		memcpy(&szidx, (const void *)((a & ~palloc_pool_mask) +
		    PALLOC_POOL_SZIDX), sizeof szidx);
		return (((size_t)szidx + 1) << 4);
	}
	return (core_usable_size(p));
}

/*
 * Count a new block of a wrapped domain.  request is what the caller asked
 * for, checked against the pool's size class; 0 skips the check.
 */
static void
palloc_count(void *p, size_t request)
{
	size_t	size = palloc_size(p);

	if (request > 0 && request <= PALLOC_SMALL &&
	    palloc_in_arena((uintptr_t)p) &&
	    size != ((request + 15) & ~(size_t)15)) {
		core_disable("--python-allocators: pymalloc's pool layout is "
		    "not the expected one");
		return;
	}
	python_tls |= PYTHON_TLS_PYOBJ;
	engine_alloc_fast(p, size, MEMTOP_LIVE_PYOBJ);
	python_tls &= ~PYTHON_TLS_PYOBJ;
}

/*
 * The wrappers follow the hooks (hooks.c): pass straight through when the
 * thread holds the guard or the process does not track; otherwise call
 * the original with the guard held, and tell the engine without it.
 */

/* Wrapped malloc of a Python domain; ctx is the saved original. */
static void *
palloc_malloc(void *ctx, size_t n)
{
	struct palloc_domain	*d = ctx;
	struct core_thread	*t = &core_tls;
	void			*p;

	if (t->guard != 0 || !core_active)
		return (d->malloc(d->ctx, n));
	if (__builtin_expect(!palloc_used, 0))
		palloc_used = 1;
	CORE_GUARD_ENTER(t);
	p = d->malloc(d->ctx, n);
	CORE_GUARD_LEAVE(t);
	if (p != NULL)
		palloc_count(p, n);
	return (p);
}

/* Wrapped calloc of a Python domain. */
static void *
palloc_calloc(void *ctx, size_t n, size_t m)
{
	struct palloc_domain	*d = ctx;
	struct core_thread	*t = &core_tls;
	void			*p;
	size_t			 total;

	if (t->guard != 0 || !core_active)
		return (d->calloc(d->ctx, n, m));
	CORE_GUARD_ENTER(t);
	p = d->calloc(d->ctx, n, m);
	CORE_GUARD_LEAVE(t);
	if (p != NULL)
		palloc_count(p, __builtin_mul_overflow(n, m, &total) ? 0 :
		    total);
	return (p);
}

/*
 * Wrapped realloc of a Python domain.  CPython's realloc never frees for
 * a size of 0, so NULL always means failure with p untouched.
 */
static void *
palloc_realloc(void *ctx, void *p, size_t n)
{
	struct palloc_domain		*d = ctx;
	struct core_thread		*t = &core_tls;
	struct live_item		 e;
	size_t				 old = 0;
	void				*q;
	int				 took = ENGINE_PLAIN;

	if (t->guard != 0 || !core_active)
		return (d->realloc(d->ctx, p, n));
	if (p != NULL) {
		/* Out of the live table before the block can be reused. */
		old = palloc_size(p);
		took = engine_take(p, &e);
	}
	CORE_GUARD_ENTER(t);
	q = d->realloc(d->ctx, p, n);
	CORE_GUARD_LEAVE(t);
	if (q == NULL) {
		if (took == ENGINE_SAMPLED)
			engine_put_back(&e);
		else if (took == ENGINE_INTERNAL)
			live_internal_add((uint64_t)(uintptr_t)p);
		return (NULL);
	}
	if (p != NULL && took != ENGINE_INTERNAL)
		engine_on_free_taken(p, old,
		    took == ENGINE_SAMPLED ? &e : NULL);
	palloc_count(q, 0);
	return (q);
}

/* Wrapped free of a Python domain: counted before the block goes back. */
static void
palloc_free(void *ctx, void *p)
{
	struct palloc_domain	*d = ctx;
	struct core_thread	*t = &core_tls;

	if (p == NULL || t->guard != 0 || !core_active) {
		d->free(d->ctx, p);
		return;
	}
	engine_free_fast(p, palloc_size(p));
	CORE_GUARD_ENTER(t);
	d->free(d->ctx, p);
	CORE_GUARD_LEAVE(t);
}

/* Wrapped arena allocation: label pymalloc arenas, keep the page map. */
static void *
palloc_arena_alloc(void *ctx, size_t size)
{
	uint32_t	 saved = python_tls;
	void		*p;

	if (size == palloc_arena_size)
		python_tls = saved | PYTHON_TLS_ARENA;
	p = palloc_arena.alloc(palloc_arena.ctx, size);
	python_tls = saved;
	if (p != NULL && palloc_track)
		palloc_mark(p, size, 1);
	return (p);
}

/* Wrapped arena release. */
static void
palloc_arena_free(void *ctx, void *p, size_t size)
{
	if (p != NULL && palloc_track)
		palloc_mark(p, size, 0);
	palloc_arena.free(palloc_arena.ctx, p, size);
}

/*
 * Install the wrappers; must run before the interpreter allocates anything
 * (python_init, in the constructor).  With wrap_domains, the Python object
 * domains too.  Returns NULL, or why nothing was installed.
 */
const char *
python_alloc_init(const struct python_alloc_syms *syms, int wrap_domains)
{
	const struct python_layout	*lay = python_rt.lay;
	struct palloc_arena		 a;
	struct palloc_domain		 m;

	if (syms->get_arena == NULL || syms->set_arena == NULL)
		return ("PyObject_SetArenaAllocator not found");
	if (wrap_domains && (syms->get_domain == NULL ||
	    syms->set_domain == NULL))
		return ("PyMem_SetAllocator not found");
	palloc_arena_size = lay->arena_size;
	palloc_pool_mask = lay->pool_size - 1;

	syms->get_arena(&palloc_arena);
	if (palloc_arena.alloc == NULL || palloc_arena.free == NULL)
		return ("no arena allocator");
	if (wrap_domains) {
		palloc_top = core_private_map(PALLOC_TOP * sizeof *palloc_top);
		if (palloc_top == NULL)
			return ("no memory for the arena map");
		palloc_track = 1;
	}
	a.ctx = NULL;
	a.alloc = palloc_arena_alloc;
	a.free = palloc_arena_free;
	syms->set_arena(&a);
	if (!wrap_domains)
		return (NULL);

	syms->get_domain(PALLOC_DOMAIN_MEM, &palloc_mem);
	syms->get_domain(PALLOC_DOMAIN_OBJ, &palloc_obj);
	m.malloc = palloc_malloc;
	m.calloc = palloc_calloc;
	m.realloc = palloc_realloc;
	m.free = palloc_free;
	m.ctx = &palloc_mem;
	syms->set_domain(PALLOC_DOMAIN_MEM, &m);
	m.ctx = &palloc_obj;
	syms->set_domain(PALLOC_DOMAIN_OBJ, &m);
	return (NULL);
}

/*
 * Nonzero once a wrapped domain has allocated: CPython replaces memtop's
 * wrappers at startup when PYTHONMALLOC or -X dev asks for other ones.
 */
int
python_alloc_used(void)
{
	return (palloc_used);
}

/* In a forked child: the lock may have been held by a thread now gone. */
void
python_alloc_fork_child(void)
{
	palloc_leaf_lock = 0;
}
