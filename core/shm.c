/*
 * shm.c: attaching libmemtop.so to the shared segment.
 *
 * The launcher hands the target a memfd in MEMTOP_FD.  This file maps it,
 * checks every field the library is going to trust (magic, ABI, sizes, each
 * section's bounds and alignment, the pid the segment is meant for), sets
 * the section pointers in core_shm, and starts the rest of the engine.  It
 * also holds the small services every other file uses: private memory
 * obtained straight from the kernel, a spinlock, the clock, the one-line
 * message on stderr and core_disable().
 *
 * Nothing here may allocate with malloc: it runs inside the allocator hooks
 * and in the constructor, before the real functions are known.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

struct core_shm	 core_shm;
volatile int	 core_active;
uint64_t	 core_sample_mean;
int		 core_exact;

static int	 shm_fd = -1;
static int	 shm_disable_said;

/* Element size and alignment of each section, for validation. */
static const struct {
	uint64_t	size;
	uint64_t	align;
} shm_elems[MEMTOP_SEC_COUNT] = {
	[MEMTOP_SEC_THREADS] = { sizeof(struct memtop_thread_slot), 64 },
	[MEMTOP_SEC_GLOBAL] = { sizeof(struct memtop_global), 64 },
	[MEMTOP_SEC_CONTROL] = { sizeof(struct memtop_control), 64 },
	[MEMTOP_SEC_STACK_INDEX] = { sizeof(uint32_t), 4 },
	[MEMTOP_SEC_STACKS] = { sizeof(struct memtop_stack), 8 },
	[MEMTOP_SEC_STACK_AGGS] = { sizeof(struct memtop_stack_agg), 64 },
	[MEMTOP_SEC_FRAMES] = { sizeof(uint64_t), 8 },
	[MEMTOP_SEC_CODES] = { sizeof(struct memtop_code), 8 },
	[MEMTOP_SEC_MODULES] = { sizeof(struct memtop_module), 8 },
	[MEMTOP_SEC_STRINGS] = { 1, 1 },
	[MEMTOP_SEC_LIVE_SHARDS] = { sizeof(struct memtop_live_shard), 64 },
	[MEMTOP_SEC_LIVE_ARENA] = { sizeof(struct memtop_live_entry), 8 },
	[MEMTOP_SEC_RING] = { sizeof(struct memtop_event), 64 },
};

/* Write a number to stderr, in decimal or in hex with 0x, without stdio. */
void
core_write_u64(uint64_t v)
{
	char	buf[24], *p = buf + sizeof buf;

	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	core_write_stderr(p);
}

void
core_write_hex(uint64_t v)
{
	char	buf[24], *p = buf + sizeof buf;

	*--p = '\0';
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v != 0);
	*--p = 'x';
	*--p = '0';
	core_write_stderr(p);
}

/* Write a NUL-terminated string to stderr without stdio (no allocation). */
void
core_write_stderr(const char *s)
{
	size_t	len = strlen(s);
	ssize_t	n;
	int	saved = errno;

	while (len > 0) {
		n = write(STDERR_FILENO, s, len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		s += n;
		len -= (size_t)n;
	}
	errno = saved;
}

/*
 * Stop tracking for good: every hook passes through from now on.  The
 * reason goes to header.disabled_reason and, once, to stderr.
 */
void
core_disable(const char *why)
{
	struct memtop_header	*hdr = core_shm.hdr;
	size_t			 len;

	core_active = 0;
	core_glibc_malloc = 0;	/* the hooks' fast paths off */
	core_tls.fast = 0;	/* other threads: see CORE_FAST_MALLOC */
	if (hdr != NULL) {
		len = strlen(why);
		if (len >= sizeof hdr->disabled_reason)
			len = sizeof hdr->disabled_reason - 1;
		memcpy(hdr->disabled_reason, why, len);
		hdr->disabled_reason[len] = '\0';
		__atomic_or_fetch(&hdr->state, MEMTOP_ST_DISABLED,
		    __ATOMIC_RELEASE);
	}
	if (__atomic_exchange_n(&shm_disable_said, 1, __ATOMIC_RELAXED) == 0) {
		core_write_stderr("memtop: tracking stopped: ");
		core_write_stderr(why);
		core_write_stderr("\n");
	}
}

/* Nonzero while the library is attached and tracking. */
int
core_tracking(void)
{
	return (core_active);
}

/* Mark the process as exiting (destructors and atexit handlers run). */
void
core_set_exiting(void)
{
	if (core_shm.hdr != NULL && core_active)
		__atomic_or_fetch(&core_shm.hdr->state, MEMTOP_ST_EXITING,
		    __ATOMIC_RELEASE);
}

/* Private read-write memory straight from the kernel; NULL on failure. */
static void *
shm_private_map(size_t len, int flags)
{
	long	r;
	int	saved = errno;

	r = syscall(SYS_mmap, NULL, len, PROT_READ|PROT_WRITE,
	    MAP_PRIVATE|MAP_ANONYMOUS|flags, -1, 0);
	errno = saved;
	if (r == -1)
		return (NULL);
	return ((void *)r);
}

/* Private memory, its pages faulted in as they are touched. */
void *
core_private_map(size_t len)
{
	return (shm_private_map(len, 0));
}

/*
 * Private memory the thread will touch all over (hash tables indexed at
 * random): mapped at once, which costs far less than a page fault for
 * each page (core.h, core_ahead).
 */
void *
core_private_map_populated(size_t len)
{
	return (shm_private_map(len, MAP_POPULATE));
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif
/*
 * Pages as madvise counts them: x86-64's.  Where pages are larger the
 * ranges are misaligned, madvise says EINVAL and populating stays off.
 */
#define CORE_PAGE		4096

/* Off once the kernel says it has no MADV_POPULATE_WRITE (before 5.14). */
static int	core_populate_off;

/*
 * Map the pages of [addr, addr + len) for writing now, with one system
 * call, so that writing them later takes no page fault.  Best effort: a
 * kernel without MADV_POPULATE_WRITE, or a failure, leaves the pages to
 * be faulted in as they are written.
 */
void
core_populate(void *addr, size_t len)
{
	uintptr_t	a, e;
	long		r;
	int		saved;

	if (len == 0 || __atomic_load_n(&core_populate_off, __ATOMIC_RELAXED))
		return;
	a = (uintptr_t)addr & ~(uintptr_t)(CORE_PAGE - 1);
	e = ((uintptr_t)addr + len + CORE_PAGE - 1) &
	    ~(uintptr_t)(CORE_PAGE - 1);
	saved = errno;
	r = syscall(SYS_madvise, a, e - a, MADV_POPULATE_WRITE);
	if (r == -1 && errno == EINVAL)
		__atomic_store_n(&core_populate_off, 1, __ATOMIC_RELAXED);
	errno = saved;
}

/*
 * The cursor of a section passed byte end: map up to the next multiple of
 * CORE_AHEAD_BYTES (at most cap) beyond what *done says is mapped.  Two
 * threads may both map a run: harmless.
 */
void
core_ahead_slow(uint64_t *done, void *base, uint64_t end, uint64_t cap)
{
	uint64_t	from = __atomic_load_n(done, __ATOMIC_RELAXED), to;

	if (end <= from || from >= cap)
		return;
	to = (end + CORE_AHEAD_BYTES - 1) & ~(uint64_t)(CORE_AHEAD_BYTES - 1);
	if (to > cap)
		to = cap;
	core_populate((char *)base + from, to - from);
	while (from < to && !__atomic_compare_exchange_n(done, &from, to, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		/* from is reloaded */;
}

/* Give back memory from core_private_map. */
void
core_private_unmap(void *p, size_t len)
{
	int	saved = errno;

	if (p != NULL)
		syscall(SYS_munmap, p, len);
	errno = saved;
}

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no system call, no allocation). */
uint64_t
core_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

/*
 * CLOCK_MONOTONIC as the kernel last ticked it (CLOCK_MONOTONIC_COARSE):
 * the same clock, to a few milliseconds, for the time of each event.  A
 * precise reading costs several times more, and exact mode takes one per
 * allocation and per free.
 */
uint64_t
core_now_event(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

/* The calling thread's kernel id. */
int32_t
core_gettid(void)
{
	return ((int32_t)syscall(SYS_gettid));
}

/*
 * Take a spinlock.  Only slow paths lock, never while calling out of the
 * library (except plain system calls), so waiting is short; yield after a
 * while in case the holder was preempted.
 */
void
core_lock(uint32_t *lock)
{
	unsigned int	spins = 0;

	for (;;) {
		if (__atomic_load_n(lock, __ATOMIC_RELAXED) == 0 &&
		    __atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) == 0)
			return;
		if (++spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

/*
 * Solo mode (see core.h).  The owner is CORE_SOLO_MULTI until
 * core_solo_init finds membarrier.  Hand-overs are serialised by
 * core_solo_lock, so there is one owner at a time and a taker waits only
 * for the owner it replaces.
 */
uint32_t		core_solo_owner = CORE_SOLO_MULTI;
struct core_solo_flag	core_solo_flags[CORE_SOLO_IDS + 1]
			    __attribute__((aligned(MEMTOP_CACHELINE)));
static uint32_t		core_solo_ids;		/* ids given out */
static uint32_t		core_solo_handovers;
static uint32_t		core_solo_lock;
static int		core_solo_ready;

/* Find and register membarrier, once per process image. */
void
core_solo_init(void)
{
	long	cmds;
	int	saved = errno;

	if (core_solo_ready)
		return;
	core_solo_ready = 1;
	cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
	if (cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(SYS_membarrier,
	    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0)
		__atomic_store_n(&core_solo_owner, 0, __ATOMIC_SEQ_CST);
	errno = saved;
}

/*
 * Name a new owner (an id, or CORE_SOLO_MULTI) in place of old, and wait
 * until old is out of its section.  Called with core_solo_lock held.
 *
 * A thread that reads CORE_SOLO_MULTI uses atomics at once, without the
 * lock, so ending solo mode publishes it only after the old owner is out:
 * meanwhile the owner is 0 (nobody), which sends every thread, the old
 * owner included, to the lock this thread holds.
 */
static void
core_solo_hand(uint32_t old, uint32_t owner)
{
	unsigned int	spins = 0;
	int		saved;

	__atomic_store_n(&core_solo_owner, owner == CORE_SOLO_MULTI ? 0 :
	    owner, __ATOMIC_SEQ_CST);
	if (old == 0 || old > CORE_SOLO_IDS)
		goto done;
	/*
	 * After the barrier the old owner either sees that it no longer
	 * owns, or its busy flag is visible here.  A failure (not expected
	 * once registered) leaves only the wait.
	 */
	saved = errno;
	(void)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
	errno = saved;
	while (__atomic_load_n(&core_solo_flags[old].busy,
	    __ATOMIC_ACQUIRE) != 0) {
		if (++spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
done:
	if (owner == CORE_SOLO_MULTI)
		__atomic_store_n(&core_solo_owner, owner, __ATOMIC_SEQ_CST);
}

/*
 * core_solo_begin's slow path: the calling thread does not own.  Take the
 * ownership over (or end solo mode for good when there were too many
 * hand-overs or threads) and start a section.  Returns what
 * core_solo_begin returns.
 */
int
core_solo_claim(void)
{
	struct core_thread	*t = &core_tls;
	uint32_t		 id, old;

	for (;;) {
		old = __atomic_load_n(&core_solo_owner, __ATOMIC_ACQUIRE);
		if (old == CORE_SOLO_MULTI) {
			t->solo = 0;	/* straight here next time */
			return (0);
		}
		if ((id = t->solo) == 0) {
			id = __atomic_add_fetch(&core_solo_ids, 1,
			    __ATOMIC_RELAXED);
			if (id > CORE_SOLO_IDS)
				id = CORE_SOLO_MULTI;	/* too many */
			else
				t->solo = id;
		}
		core_lock(&core_solo_lock);
		old = __atomic_load_n(&core_solo_owner, __ATOMIC_ACQUIRE);
		if (old != id && old != CORE_SOLO_MULTI) {
			if (old != 0 && core_solo_handovers++ >=
			    CORE_SOLO_HANDOVERS)
				id = CORE_SOLO_MULTI;
			core_solo_hand(old, id);
		}
		core_unlock(&core_solo_lock);
		if (id == CORE_SOLO_MULTI)
			return (0);
		/* The owner now, unless another thread took over since. */
		if (core_solo_enter(id))
			return (1);
	}
}

/* Take a spinlock if it is free; nonzero on success. */
int
core_trylock(uint32_t *lock)
{
	return (__atomic_load_n(lock, __ATOMIC_RELAXED) == 0 &&
	    __atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) == 0);
}

/* Release a spinlock. */
void
core_unlock(uint32_t *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/*
 * Reserve len bytes in MEMTOP_SEC_STRINGS.  Returns the offset into the
 * section, or -1 when it is full.  The cursor never passes the capacity.
 */
int64_t
shm_strings_alloc(size_t len)
{
	struct memtop_global	*glob = core_shm.glob;
	uint64_t		 used;

	if (glob == NULL)
		return (-1);
	used = __atomic_load_n(&glob->strings_used, __ATOMIC_RELAXED);
	do {
		if (len > core_shm.strings_cap ||
		    used > core_shm.strings_cap - len)
			return (-1);
	} while (!__atomic_compare_exchange_n(&glob->strings_used, &used,
	    used + len, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	core_ahead(CORE_AHEAD_STRINGS, core_shm.strings, used + len,
	    core_shm.strings_cap);
	return ((int64_t)used);
}

/* Check the section table against the segment size; NULL when fine. */
static const char *
shm_check_sections(const struct memtop_header *hdr, uint64_t size)
{
	const struct memtop_section	*s, *t;
	int				 i, j;

	for (i = 0; i < MEMTOP_SEC_COUNT; i++) {
		s = &hdr->sec[i];
		if (s->off < sizeof *hdr || s->off > size ||
		    s->size > size - s->off)
			return ("a section lies outside the segment");
		if (s->off % shm_elems[i].align != 0)
			return ("a section is misaligned");
		if (i != MEMTOP_SEC_RING &&
		    s->count > s->size / shm_elems[i].size)
			return ("a section is smaller than its count");
		for (j = 0; j < i; j++) {
			t = &hdr->sec[j];
			if (s->size != 0 && t->size != 0 &&
			    s->off < t->off + t->size &&
			    t->off < s->off + s->size)
				return ("two sections overlap");
		}
	}
	if (hdr->sec[MEMTOP_SEC_THREADS].count < 1 ||
	    hdr->sec[MEMTOP_SEC_GLOBAL].count < 1 ||
	    hdr->sec[MEMTOP_SEC_CONTROL].count < 1 ||
	    hdr->sec[MEMTOP_SEC_STACKS].count < 2 ||
	    hdr->sec[MEMTOP_SEC_LIVE_SHARDS].count < 1)
		return ("a section is empty");
	if (hdr->sec[MEMTOP_SEC_STACK_AGGS].count <
	    hdr->sec[MEMTOP_SEC_STACKS].count)
		return ("fewer stack aggregates than stacks");
	i = MEMTOP_SEC_STACK_INDEX;
	if (hdr->sec[i].count < 2 ||
	    (hdr->sec[i].count & (hdr->sec[i].count - 1)) != 0)
		return ("the stack index is not a power of two");
	if (hdr->sec[i].count > UINT32_MAX ||
	    hdr->sec[MEMTOP_SEC_STACKS].count > UINT32_MAX ||
	    hdr->sec[MEMTOP_SEC_FRAMES].count > UINT32_MAX ||
	    hdr->sec[MEMTOP_SEC_STRINGS].count > UINT32_MAX)
		return ("a section is too large for its 32-bit indices");
	if (hdr->sec[MEMTOP_SEC_RING].size < sizeof(struct memtop_ring_header))
		return ("the ring section is too small");
	return (NULL);
}

/*
 * Check the rings the launcher laid out (event.h): rings of cap records,
 * both powers of two, that fit in the section; NULL when fine.
 */
static const char *
shm_check_ring(const struct memtop_section *s, uint64_t cap, uint64_t rings)
{
	if (cap < 2 || (cap & (cap - 1)) != 0)
		return ("the ring capacity is not a power of two");
	if (rings < 1 || rings > MEMTOP_RINGS_MAX || (rings & (rings - 1)) != 0)
		return ("the number of rings is not a power of two up to 64");
	if (!memtop_rings_fit(s->size, cap, rings))
		return ("the ring is larger than its section");
	return (NULL);
}

/* Point core_shm at the sections of a checked segment. */
static void
shm_set_pointers(char *base, const struct memtop_header *hdr)
{
	const struct memtop_section	*sec = hdr->sec;
	struct core_shm			*c = &core_shm;

	c->hdr = (struct memtop_header *)base;
	c->threads = (void *)(base + sec[MEMTOP_SEC_THREADS].off);
	c->nthreads = sec[MEMTOP_SEC_THREADS].count;
	c->glob = (void *)(base + sec[MEMTOP_SEC_GLOBAL].off);
	c->ctl = (void *)(base + sec[MEMTOP_SEC_CONTROL].off);
	c->stack_index = (void *)(base + sec[MEMTOP_SEC_STACK_INDEX].off);
	c->stack_index_cap = sec[MEMTOP_SEC_STACK_INDEX].count;
	c->stacks = (void *)(base + sec[MEMTOP_SEC_STACKS].off);
	c->aggs = (void *)(base + sec[MEMTOP_SEC_STACK_AGGS].off);
	c->stacks_cap = sec[MEMTOP_SEC_STACKS].count;
	c->agg_lanes = sec[MEMTOP_SEC_STACK_AGGS].count / c->stacks_cap;
	if (c->agg_lanes > MEMTOP_AGG_LANES_MAX)
		c->agg_lanes = MEMTOP_AGG_LANES_MAX;
	c->frames = (void *)(base + sec[MEMTOP_SEC_FRAMES].off);
	c->frames_cap = sec[MEMTOP_SEC_FRAMES].count;
	c->codes = (void *)(base + sec[MEMTOP_SEC_CODES].off);
	c->codes_cap = sec[MEMTOP_SEC_CODES].count;
	c->modules = (void *)(base + sec[MEMTOP_SEC_MODULES].off);
	c->modules_cap = sec[MEMTOP_SEC_MODULES].count;
	c->strings = base + sec[MEMTOP_SEC_STRINGS].off;
	c->strings_cap = sec[MEMTOP_SEC_STRINGS].count;
	c->shards = (void *)(base + sec[MEMTOP_SEC_LIVE_SHARDS].off);
	c->nshards = sec[MEMTOP_SEC_LIVE_SHARDS].count;
	c->arena = (void *)(base + sec[MEMTOP_SEC_LIVE_ARENA].off);
	c->arena_cap = sec[MEMTOP_SEC_LIVE_ARENA].count;
	c->ring = (void *)(base + sec[MEMTOP_SEC_RING].off);
}

/*
 * Zero one section's contents.  Punching a hole in the memfd gives the pages
 * back; without the descriptor, zero what the previous image used.
 */
static void
shm_zero(int id, uint64_t used_bytes)
{
	const struct memtop_section	*s = &core_shm.hdr->sec[id];
	char				*p = (char *)core_shm.hdr + s->off;

	if (s->size == 0)
		return;
	if (shm_fd != -1 && fallocate(shm_fd,
	    FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE, (off_t)s->off,
	    (off_t)s->size) == 0)
		return;
	if (used_bytes > s->size)
		used_bytes = s->size;
	memset(p, 0, used_bytes);
}

/*
 * Reset everything the previous process image wrote, so that the front end
 * sees a fresh run after an exec in the same pid.  The control block and
 * the ring header belong to the protocol with the front end and are kept
 * (ring records carry their own sequence numbers).
 */
void
shm_reset_data(void)
{
	struct memtop_header	*hdr = core_shm.hdr;
	struct memtop_global	 g = *core_shm.glob;	/* cursors, to bound */
	uint64_t		 all = UINT64_MAX, lane;
	int			 saved = errno;

	shm_zero(MEMTOP_SEC_THREADS, all);
	shm_zero(MEMTOP_SEC_GLOBAL, all);
	shm_zero(MEMTOP_SEC_STACK_INDEX, all);
	shm_zero(MEMTOP_SEC_STACKS, (uint64_t)g.stack_count * 16 + 16);
	for (lane = 0; lane < core_shm.agg_lanes; lane++)
		memset(&core_shm.aggs[lane * core_shm.stacks_cap], 0,
		    ((uint64_t)g.stack_count + 1 < core_shm.stacks_cap ?
		    (uint64_t)g.stack_count + 1 : core_shm.stacks_cap) *
		    sizeof *core_shm.aggs);
	shm_zero(MEMTOP_SEC_FRAMES, g.frames_used * 8);
	shm_zero(MEMTOP_SEC_CODES, (uint64_t)g.code_count * 24 + 24);
	shm_zero(MEMTOP_SEC_MODULES, (uint64_t)g.module_count * 40);
	shm_zero(MEMTOP_SEC_STRINGS, g.strings_used);
	shm_zero(MEMTOP_SEC_LIVE_SHARDS, all);
	shm_zero(MEMTOP_SEC_LIVE_ARENA, g.live_arena_used *
	    sizeof(struct memtop_live_entry));

	hdr->forks = 0;
	memset(hdr->disabled_reason, 0, sizeof hdr->disabled_reason);
	hdr->python_state = MEMTOP_PY_NONE;
	memset(hdr->python_version, 0, sizeof hdr->python_version);
	memset(hdr->python_note, 0, sizeof hdr->python_note);
	errno = saved;
}

/*
 * Say in the header that a process other than the target (a child that
 * exec'd a program) loaded the library with this segment: the front end
 * tells the user that it is not tracked.  Only the header is written.
 */
static void
shm_note_descendant(struct memtop_header *hdr)
{
	char		path[256];
	const char	*name;
	ssize_t		n;
	int32_t		none = 0;
	size_t		len;

	__atomic_add_fetch(&hdr->descendants, 1, __ATOMIC_RELAXED);
	if (!__atomic_compare_exchange_n(&hdr->descendant_pid, &none,
	    (int32_t)getpid(), 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	if ((n = readlink("/proc/self/exe", path, sizeof path - 1)) <= 0)
		return;
	path[n] = '\0';
	name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	len = strlen(name);
	if (len > sizeof hdr->descendant_exe - 1)
		len = sizeof hdr->descendant_exe - 1;
	memcpy(hdr->descendant_exe, name, len);
	hdr->descendant_exe[len] = '\0';
}

/*
 * Attach to a mapped segment of size bytes (fd is its memfd, or -1): check
 * it, then start tracking.  Returns 0 when tracking, -1 when not.  A segment
 * meant for another process is refused silently; a broken one for this
 * process is refused with a reason in the header.
 */
int
shm_attach(void *base, uint64_t size, int fd)
{
	struct memtop_header		*hdr = base;
	const struct memtop_ring_header	*ring;
	const char			*why;
	uint64_t			 ring_cap = 0, rings = 0;
	uint32_t			 gen;

	if (size < sizeof *hdr)
		return (-1);
	if (memcmp(hdr->magic, MEMTOP_SHM_MAGIC, sizeof hdr->magic) != 0 ||
	    hdr->abi != MEMTOP_SHM_ABI ||
	    hdr->header_size != sizeof *hdr ||
	    hdr->total_size > size)
		return (-1);
	if (hdr->target_pid != getpid()) {
		/* A descendant that inherited the variable. */
		shm_note_descendant(hdr);
		return (-1);
	}

	core_shm.hdr = hdr;	/* so that core_disable can say why */
	if ((why = shm_check_sections(hdr, hdr->total_size)) == NULL) {
		ring = (const void *)((char *)base +
		    hdr->sec[MEMTOP_SEC_RING].off);
		ring_cap = __atomic_load_n(&ring->capacity, __ATOMIC_RELAXED);
		rings = __atomic_load_n(&ring->rings, __ATOMIC_RELAXED);
		why = shm_check_ring(&hdr->sec[MEMTOP_SEC_RING], ring_cap,
		    rings);
	}
	if (why != NULL) {
		core_disable(why);
		return (-1);
	}
	if (hdr->max_frames < 1 || hdr->max_frames > 1024) {
		core_disable("max_frames is out of range");
		return (-1);
	}
	shm_fd = fd;
	shm_set_pointers(base, hdr);
	if (hdr->config & MEMTOP_CFG_NOEVENTS)
		core_shm.ring = NULL;	/* ring_write writes nothing */
	memset(core_shm.ahead, 0, sizeof core_shm.ahead);
	core_shm.ring_cap = ring_cap;
	core_shm.nrings = rings;
	core_shm.ring_stride = memtop_ring_stride(ring_cap);

	gen = __atomic_add_fetch(&hdr->generation, 1, __ATOMIC_ACQ_REL);
	if (gen > 1) {
		/* The target exec'd itself: same pid, a new image. */
		__atomic_store_n(&hdr->state, 0, __ATOMIC_RELEASE);
		shm_reset_data();
	}
	core_exact = (hdr->config & MEMTOP_CFG_EXACT) || hdr->sample_mean == 0;
	core_sample_mean = core_exact ? 0 : hdr->sample_mean;

	/* Stack 0 collects what has no stack of its own: no frames. */
	__atomic_store_n(&core_shm.stacks[0].flags, MEMTOP_STACK_READY,
	    __ATOMIC_RELEASE);

	core_solo_init();
	ring_reset();
	sample_init();
	live_init(!core_exact);
	maps_init();
	modules_reset();
	modules_scan();
	stacks_init();
	fork_init();
	python_init();

	hdr->attach_ns = core_now();
	__atomic_store_n(&hdr->state, MEMTOP_ST_ATTACHED, __ATOMIC_RELEASE);
	core_active = 1;
	return (0);
}

/* Parse a small non-negative decimal number; -1 when it is not one. */
static int
shm_parse_fd(const char *s)
{
	long	v = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return (-1);
		v = v * 10 + (*s - '0');
	}
	return ((int)v);
}

/*
 * Attach from the environment: MEMTOP_FD names the memfd.  Returns 0 when
 * tracking.  The descriptor stays open (not close-on-exec) so that the
 * same process re-attaches after an exec.
 */
int
shm_attach_env(void)
{
	const char	*env;
	struct stat	 st;
	void		*base;
	int		 fd, saved = errno;
	long		 r;

	if ((env = getenv(MEMTOP_ENV_FD)) == NULL)
		return (-1);
	if ((fd = shm_parse_fd(env)) < 0)
		goto fail;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < sizeof(struct memtop_header))
		goto fail;
	r = syscall(SYS_mmap, NULL, (size_t)st.st_size, PROT_READ|PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (r == -1)
		goto fail;
	base = (void *)r;
	if (shm_attach(base, (uint64_t)st.st_size, fd) != 0) {
		if (core_shm.hdr == NULL)
			syscall(SYS_munmap, base, (size_t)st.st_size);
		goto fail;
	}
	errno = saved;
	return (0);

fail:
	errno = saved;
	return (-1);
}
