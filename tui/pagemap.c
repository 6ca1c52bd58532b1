/*
 * pagemap.c: how much of each stack's memory is resident, swapped, or
 * allocated but never touched, from the kernel's page tables.
 *
 * The segment's live table holds every live allocation memtop knows about
 * (all of them in exact mode, the sampled ones otherwise, each with the
 * weight of the bytes it stands for).  A pass reads the table shard by
 * shard and, for each allocation [addr, addr + size), asks the kernel
 * about the pages under it: the PAGEMAP_SCAN ioctl on /proc/PID/pagemap
 * where the kernel has it (6.7 and later), else pread of the same file
 * (one 64-bit entry per page: bit 63 present, bit 62 swapped).  Each byte
 * of the allocation is counted as resident, swapped or untouched by the
 * state of the page it lies on, so a page shared by several allocations is
 * split between them by byte overlap, and the bytes of a page that belong
 * to no allocation (allocator headers, free space) are charged to nobody:
 * they show up in the reconciliation as anonymous memory no allocation
 * explains.  A stack's estimate is the sum of weight x bytes over its
 * allocations; with weight 1 (exact mode) it is exact for the moment each
 * page was read.
 *
 * A page mapped to the kernel's shared zero page (read, never written) is
 * not in RAM on the program's account and is counted as untouched: the
 * ioctl says so (PAGE_IS_PFNZERO); with pread memtop compares the frame
 * number with the zero pages it finds in its own memory, which needs
 * CAP_SYS_ADMIN (without it the kernel hides frame numbers, and such pages
 * count as resident).
 *
 * Cost is bounded: pagemap_update() works until its time budget for the
 * poll is spent and carries its cursor (shard, allocation, block) to the
 * next poll, so a 100 GiB heap takes many polls but never stalls one; a
 * new pass waits until the scans have used at most one part in
 * PAGEMAP_DUTY of the time since the last one began.
 * Pages are asked for in aligned blocks of PAGEMAP_BLOCK_PAGES; the blocks
 * holding an allocation's first or last page are kept for the rest of the
 * pass (small allocations from every shard share them), the blocks in the
 * middle of a large allocation are read and forgotten.  The cache is
 * capped; when it is full it is emptied, which costs reads, never
 * correctness.  A pass that completes publishes its numbers all at once
 * (model_stack resident, swapped and untouched, and model->pages); a pass
 * cut short (the target exec'd or exited) publishes nothing, so what the
 * views and the report show is always one consistent pass.
 *
 * Nothing here waits for the target.  The kernel holds the target's
 * mmap lock for reading while it walks one block's page tables, so an
 * mmap or munmap in the target may wait for the walk of one block (a few
 * microseconds, see tests/bench/pagemap-bench.sh).
 *
 * Two environment variables exist for the tests and the benchmark:
 * MEMTOP_PAGEMAP=pread forces the fallback (=scan forces the ioctl), and
 * MEMTOP_PAGEMAP_BUDGET=MICROSECONDS replaces the budget per poll.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tui.h"

/*
 * The PAGEMAP_SCAN ioctl (linux/fs.h from 6.7), declared here so that
 * memtop builds against older headers; the kernel answers ENOTTY when it
 * does not have it.
 */
struct pagemap_region {
	uint64_t	start;
	uint64_t	end;
	uint64_t	categories;
};
struct pagemap_scan_arg {
	uint64_t	size;
	uint64_t	flags;
	uint64_t	start;
	uint64_t	end;
	uint64_t	walk_end;
	uint64_t	vec;
	uint64_t	vec_len;
	uint64_t	max_pages;
	uint64_t	category_inverted;
	uint64_t	category_mask;
	uint64_t	category_anyof_mask;
	uint64_t	return_mask;
};
#define PAGEMAP_IOCTL		_IOWR('f', 16, struct pagemap_scan_arg)
#define PAGEMAP_IS_PRESENT	(1 << 3)
#define PAGEMAP_IS_SWAPPED	(1 << 4)
#define PAGEMAP_IS_PFNZERO	(1 << 5)

/* Bits of a /proc/PID/pagemap entry. */
#define PAGEMAP_PRESENT		(UINT64_C(1) << 63)
#define PAGEMAP_SWAPPED		(UINT64_C(1) << 62)
#define PAGEMAP_PFN_MASK	((UINT64_C(1) << 55) - 1)

/* Pages asked for at once, and kept per cached block (8 MiB of 4 KiB). */
#define PAGEMAP_BLOCK_PAGES	2048
#define PAGEMAP_BLOCK_WORDS	(PAGEMAP_BLOCK_PAGES / 64)
/* Blocks cached in a pass at most (16384 x 528 bytes, 8.3 MiB). */
#define PAGEMAP_CACHE_MAX	16384
/* Regions the ioctl may return per call. */
#define PAGEMAP_VEC		256
/* Polls a shard that is always being written is retried before it is skipped. */
#define PAGEMAP_SHARD_TRIES	10
/* Entries between two looks at the clock. */
#define PAGEMAP_CLOCK_EVERY	128
/* No user address is this high (57-bit virtual addresses at most). */
#define PAGEMAP_ADDR_LIMIT	(UINT64_C(1) << 57)
/* Passes take at most one part in this many of memtop's time, averaged. */
#define PAGEMAP_DUTY		40
/* Reopening the pagemap of a target that went away: once a second. */
#define PAGEMAP_REOPEN_NS	UINT64_C(1000000000)

/* The state of the pages of a block: a bit per page. */
struct pagemap_block {
	uint64_t	 key;			/* block number */
	uint64_t	 res[PAGEMAP_BLOCK_WORDS];	/* present in RAM */
	uint64_t	 swp[PAGEMAP_BLOCK_WORDS];	/* in swap */
};

/* A pass's sums for one stack, in estimated bytes. */
struct pagemap_acc {
	double		 live;
	double		 res;
	double		 swp;
	double		 unt;
};

struct pagemap {
	struct model	*model;
	pid_t		 pid;
	int		 fd;		/* /proc/PID/pagemap, or -1 */
	int		 method;	/* PAGEMAP_METHOD_* */
#define PAGEMAP_METHOD_SCAN	0
#define PAGEMAP_METHOD_PREAD	1
	int		 forced;	/* the method was asked for */
	uint64_t	 budget_ns;	/* per update */
	uint64_t	 interval_ns;	/* between pass starts */
	uint64_t	 reopen_ns;	/* last failed open */
	uint32_t	 generation;	/* of the image the pass reads */
	u_int		 shift;		/* log2 of the page size */
	uint64_t	 zero_pfn;	/* the zero page, 0 unknown */
	uint64_t	 hzero_pfn;	/* the huge zero page, 0 unknown */
	uint64_t	 hzero_pages;	/* its size in pages */
	int		 probed;

	/* The pass in progress. */
	int		 running;
	uint64_t	 start_ns;
	uint64_t	 last_start_ns;
	uint64_t	 spent_ns;	/* wall time of its polls' work */
	uint64_t	 cpu_ns;	/* CPU time of it */
	uint64_t	 updates;	/* polls it spanned */
	uint64_t	 pages;		/* asked of the kernel */
	uint64_t	 calls;		/* ioctl or pread calls */
	uint64_t	 call_max_ns;	/* the longest call */
	uint64_t	 update_max_ns;	/* the longest poll's work, wall */
	uint64_t	 update_cpu_max_ns;	/* and CPU */
	uint64_t	 allocs;	/* live entries seen */
	uint64_t	 skipped;	/* shards not read */
	uint64_t	 bogus;		/* entries that cannot be real */
	uint64_t	 shard;		/* the shard being read */
	u_int		 tries;		/* failed copies of it */
	int		 copied;	/* ents holds that shard */
	struct reader_live *ents;
	size_t		 nents;
	size_t		 ents_cap;
	size_t		 next;		/* next entry of ents */
	int		 inside;	/* ents[next] is partly done */
	uint64_t	 next_block;	/* its next block */
	struct pagemap_acc *acc;	/* by stack id */
	uint32_t	 nacc;
	struct pagemap_acc total;

	/* Blocks read in this pass: a table of indexes into blocks[]. */
	struct pagemap_block *blocks;
	uint32_t	 nblocks;
	uint32_t	 blocks_cap;
	uint32_t	*slots;		/* index + 1, 0 = empty */
	uint32_t	 nslots;	/* a power of two */
	uint64_t	 evictions;

	struct pagemap_block scratch;	/* the middle of a large allocation */
	uint64_t	*raw;		/* pread buffer, a block's entries */
	struct pagemap_region *vec;	/* ioctl buffer */
};

/* Open the target's pagemap and choose how to read it. */
static int
pagemap_open(struct pagemap *pm)
{
	struct pagemap_scan_arg	 arg;
	char			 path[64];

	xsnprintf(path, sizeof path, "/proc/%ld/pagemap", (long)pm->pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd == -1) {
		log_debug("pagemap: %s: %s", path, strerror(errno));
		return (-1);
	}
	if (pm->forced)
		return (0);

	/* Ask about one page at address 0, never mapped: ENOTTY if no ioctl. */
	memset(&arg, 0, sizeof arg);
	arg.size = sizeof arg;
	arg.start = 0;
	arg.end = UINT64_C(1) << pm->shift;
	arg.vec = (uint64_t)(uintptr_t)pm->vec;
	arg.vec_len = PAGEMAP_VEC;
	arg.category_anyof_mask = PAGEMAP_IS_PRESENT | PAGEMAP_IS_SWAPPED;
	arg.return_mask = arg.category_anyof_mask | PAGEMAP_IS_PFNZERO;
	if (ioctl(pm->fd, PAGEMAP_IOCTL, &arg) == -1) {
		log_debug("pagemap: PAGEMAP_SCAN: %s; reading entries",
		    strerror(errno));
		pm->method = PAGEMAP_METHOD_PREAD;
	} else
		pm->method = PAGEMAP_METHOD_SCAN;
	return (0);
}

/* The frame number of one of memtop's own pages, 0 when hidden. */
static uint64_t
pagemap_self_pfn(int fd, void *p, u_int shift)
{
	uint64_t	e;
	off_t		off;

	off = (off_t)(((uintptr_t)p >> shift) * sizeof e);
	if (pread(fd, &e, sizeof e, off) != (ssize_t)sizeof e)
		return (0);
	if (!(e & PAGEMAP_PRESENT))
		return (0);
	return (e & PAGEMAP_PFN_MASK);
}

/*
 * Find the frame numbers of the zero page and of the huge zero page by
 * reading memory memtop never wrote, for the pread method.
 */
static void
pagemap_probe_zero(struct pagemap *pm)
{
	volatile char	*p;
	char		*map, *huge;
	size_t		 len, hlen = 2 * 1024 * 1024;
	int		 fd;

	pm->probed = 1;
	if ((fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) == -1)
		return;
	len = 2 * hlen;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return;
	}
#ifdef MADV_NOHUGEPAGE
	madvise(map, (size_t)1 << pm->shift, MADV_NOHUGEPAGE);
#endif
	p = map;
	(void)*p;
	pm->zero_pfn = pagemap_self_pfn(fd, map, pm->shift);

	/* An aligned 2 MiB range inside the mapping, for a huge zero page. */
	huge = (char *)(((uintptr_t)map + hlen) & ~(uintptr_t)(hlen - 1));
#ifdef MADV_HUGEPAGE
	madvise(huge, hlen, MADV_HUGEPAGE);
#endif
	p = huge;
	(void)*p;
	pm->hzero_pfn = pagemap_self_pfn(fd, huge, pm->shift);
	pm->hzero_pages = hlen >> pm->shift;
	if (pm->hzero_pfn == pm->zero_pfn)
		pm->hzero_pfn = 0;
	log_debug("pagemap: zero page pfn %#" PRIx64 ", huge %#" PRIx64,
	    pm->zero_pfn, pm->hzero_pfn);
	munmap(map, len);
	close(fd);
}

/*
 * Start resident tracking of process pid for a model: each update works at
 * most budget_ns, and a new pass starts at most every interval_ns (and no
 * sooner than PAGEMAP_DUTY times the last pass's CPU time after the last
 * one began, so that scanning a large heap over and over costs at most a
 * fortieth of a core).
 */
struct pagemap *
pagemap_create(struct model *m, pid_t pid, uint64_t budget_ns,
    uint64_t interval_ns)
{
	struct pagemap	*pm;
	const char	*s;
	long		 page;
	char		*end;
	unsigned long	 us;

	pm = xcalloc(1, sizeof *pm);
	pm->model = m;
	pm->pid = pid;
	pm->fd = -1;
	pm->budget_ns = budget_ns;
	pm->interval_ns = interval_ns;
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	while (((long)1 << pm->shift) < page)
		pm->shift++;
	pm->raw = xreallocarray(NULL, PAGEMAP_BLOCK_PAGES, sizeof *pm->raw);
	pm->vec = xreallocarray(NULL, PAGEMAP_VEC, sizeof *pm->vec);

	if ((s = getenv("MEMTOP_PAGEMAP")) != NULL) {
		if (strcmp(s, "pread") == 0) {
			pm->method = PAGEMAP_METHOD_PREAD;
			pm->forced = 1;
		} else if (strcmp(s, "scan") == 0) {
			pm->method = PAGEMAP_METHOD_SCAN;
			pm->forced = 1;
		}
	}
	if ((s = getenv("MEMTOP_PAGEMAP_BUDGET")) != NULL) {
		errno = 0;
		us = strtoul(s, &end, 10);
		if (errno == 0 && *end == '\0' && us > 0)
			pm->budget_ns = (uint64_t)us * 1000;
	}
	m->pages.method = "none";
	return (pm);
}

/* Stop and free. */
void
pagemap_free(struct pagemap *pm)
{
	if (pm == NULL)
		return;
	if (pm->fd != -1)
		close(pm->fd);
	free(pm->ents);
	free(pm->acc);
	free(pm->blocks);
	free(pm->slots);
	free(pm->raw);
	free(pm->vec);
	free(pm);
}

/* Forget the blocks read so far. */
static void
pagemap_cache_clear(struct pagemap *pm)
{
	pm->nblocks = 0;
	if (pm->slots != NULL)
		memset(pm->slots, 0, pm->nslots * sizeof *pm->slots);
}

/* Hash of a block number. */
static uint32_t
pagemap_hash(uint64_t key)
{
	key ^= key >> 31;
	key *= UINT64_C(0x9e3779b97f4a7c15);
	return ((uint32_t)(key >> 32));
}

/* The cached block, or NULL. */
static struct pagemap_block *
pagemap_cache_find(struct pagemap *pm, uint64_t key)
{
	uint32_t	i, mask, slot;

	if (pm->nslots == 0)
		return (NULL);
	mask = pm->nslots - 1;
	for (i = pagemap_hash(key) & mask;; i = (i + 1) & mask) {
		if ((slot = pm->slots[i]) == 0)
			return (NULL);
		if (pm->blocks[slot - 1].key == key)
			return (&pm->blocks[slot - 1]);
	}
}

/* Put index idx of blocks[] in the table. */
static void
pagemap_cache_slot(struct pagemap *pm, uint32_t idx)
{
	uint32_t	i, mask = pm->nslots - 1;

	i = pagemap_hash(pm->blocks[idx].key) & mask;
	while (pm->slots[i] != 0)
		i = (i + 1) & mask;
	pm->slots[i] = idx + 1;
}

/* A new block in the cache for key; its bits are for the caller to fill. */
static struct pagemap_block *
pagemap_cache_add(struct pagemap *pm, uint64_t key)
{
	uint32_t	i;

	if (pm->nblocks == PAGEMAP_CACHE_MAX) {
		pm->evictions++;
		pagemap_cache_clear(pm);
	}
	if (pm->nblocks == pm->blocks_cap) {
		pm->blocks_cap = pm->blocks_cap == 0 ? 64 : pm->blocks_cap * 2;
		pm->blocks = xreallocarray(pm->blocks, pm->blocks_cap,
		    sizeof *pm->blocks);
	}
	if ((pm->nblocks + 1) * 2 > pm->nslots) {
		free(pm->slots);
		pm->nslots = pm->nslots == 0 ? 128 : pm->nslots * 2;
		pm->slots = xcalloc(pm->nslots, sizeof *pm->slots);
		for (i = 0; i < pm->nblocks; i++)
			pagemap_cache_slot(pm, i);
	}
	pm->blocks[pm->nblocks].key = key;
	pagemap_cache_slot(pm, pm->nblocks);
	return (&pm->blocks[pm->nblocks++]);
}

/* Set bits [a, b) of a bitmap. */
static void
pagemap_bits_set(uint64_t *map, uint64_t a, uint64_t b)
{
	uint64_t	w;

	while (a < b) {
		w = a / 64;
		if (a % 64 == 0 && b - a >= 64) {
			map[w] = ~UINT64_C(0);
			a += 64;
			continue;
		}
		map[w] |= UINT64_C(1) << (a % 64);
		a++;
	}
}

/* Count the set bits in [a, b) of a bitmap. */
static uint64_t
pagemap_bits_count(const uint64_t *map, uint64_t a, uint64_t b)
{
	uint64_t	n = 0, w, mask;

	while (a < b) {
		w = a / 64;
		mask = ~UINT64_C(0) << (a % 64);
		if (b - w * 64 < 64)
			mask &= (UINT64_C(1) << (b - w * 64)) - 1;
		n += (uint64_t)__builtin_popcountll(map[w] & mask);
		a = (w + 1) * 64;
	}
	return (n);
}

/*
 * Nonzero when the target's address space is still there: its entry for
 * address 0 can be read (an exited target's pagemap reads as empty).
 */
static int
pagemap_alive(struct pagemap *pm)
{
	uint64_t	e;

	return (pread(pm->fd, &e, sizeof e, 0) == (ssize_t)sizeof e);
}

/* Fill a block with PAGEMAP_SCAN.  Returns 0, or -1 when the target is gone. */
static int
pagemap_fetch_scan(struct pagemap *pm, struct pagemap_block *b)
{
	struct pagemap_scan_arg	 arg;
	struct pagemap_region	*r;
	uint64_t		 start, end, first, last, cur;
	long			 n, i;

	start = (b->key * PAGEMAP_BLOCK_PAGES) << pm->shift;
	end = start + ((uint64_t)PAGEMAP_BLOCK_PAGES << pm->shift);
	for (cur = start; cur < end; cur = arg.walk_end) {
		memset(&arg, 0, sizeof arg);
		arg.size = sizeof arg;
		arg.start = cur;
		arg.end = end;
		arg.vec = (uint64_t)(uintptr_t)pm->vec;
		arg.vec_len = PAGEMAP_VEC;
		arg.category_anyof_mask = PAGEMAP_IS_PRESENT |
		    PAGEMAP_IS_SWAPPED;
		arg.return_mask = arg.category_anyof_mask | PAGEMAP_IS_PFNZERO;
		pm->calls++;
		n = ioctl(pm->fd, PAGEMAP_IOCTL, &arg);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ENOTTY || errno == EOPNOTSUPP) {
				pm->method = PAGEMAP_METHOD_PREAD;
				return (1);
			}
			if (pagemap_alive(pm)) {
				/* Beyond the address space: nothing there. */
				pm->bogus++;
				return (0);
			}
			return (-1);
		}
		for (i = 0; i < n; i++) {
			r = &pm->vec[i];
			if (r->categories & PAGEMAP_IS_PFNZERO)
				continue;
			first = r->start < start ? start : r->start;
			last = r->end > end ? end : r->end;
			if (first >= last)
				continue;
			first = (first - start) >> pm->shift;
			last = (last - start) >> pm->shift;
			if (r->categories & PAGEMAP_IS_PRESENT)
				pagemap_bits_set(b->res, first, last);
			else if (r->categories & PAGEMAP_IS_SWAPPED)
				pagemap_bits_set(b->swp, first, last);
		}
		if (arg.walk_end <= cur || arg.walk_end > end)
			break;
		if (n < PAGEMAP_VEC && arg.walk_end == end)
			break;
	}
	return (0);
}

/* Nonzero when a present page's frame is a zero page. */
static int
pagemap_is_zero(struct pagemap *pm, uint64_t e)
{
	uint64_t	pfn = e & PAGEMAP_PFN_MASK;

	if (pfn == 0)
		return (0);
	if (pfn == pm->zero_pfn)
		return (1);
	if (pm->hzero_pfn != 0 && pfn >= pm->hzero_pfn &&
	    pfn < pm->hzero_pfn + pm->hzero_pages)
		return (1);
	return (0);
}

/* Fill a block with pread.  Returns 0, or -1 when the target is gone. */
static int
pagemap_fetch_pread(struct pagemap *pm, struct pagemap_block *b)
{
	uint64_t	e, i;
	ssize_t		n;
	off_t		off;

	if (!pm->probed)
		pagemap_probe_zero(pm);
	off = (off_t)(b->key * PAGEMAP_BLOCK_PAGES * sizeof e);
	for (;;) {
		pm->calls++;
		n = pread(pm->fd, pm->raw, PAGEMAP_BLOCK_PAGES * sizeof e, off);
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	if (n <= 0) {
		if (pagemap_alive(pm)) {
			pm->bogus++;
			return (0);
		}
		return (-1);
	}
	n /= (ssize_t)sizeof e;
	for (i = 0; i < (uint64_t)n; i++) {
		e = pm->raw[i];
		if (e & PAGEMAP_PRESENT) {
			if (!pagemap_is_zero(pm, e))
				b->res[i / 64] |= UINT64_C(1) << (i % 64);
		} else if (e & PAGEMAP_SWAPPED)
			b->swp[i / 64] |= UINT64_C(1) << (i % 64);
	}
	return (0);
}

/* Read block b->key with the method in use. */
static int
pagemap_fetch_block(struct pagemap *pm, struct pagemap_block *b)
{
	int	r;

	if (pm->method == PAGEMAP_METHOD_SCAN) {
		r = pagemap_fetch_scan(pm, b);
		if (r != 1)
			return (r);
		log_debug("pagemap: PAGEMAP_SCAN refused; reading entries");
		memset(b->res, 0, sizeof b->res);
		memset(b->swp, 0, sizeof b->swp);
	}
	return (pagemap_fetch_pread(pm, b));
}

/* Ask the kernel about the pages of block b->key.  Returns 0 or -1 (gone). */
static int
pagemap_fetch(struct pagemap *pm, struct pagemap_block *b)
{
	uint64_t	t0, t;
	int		r;

	memset(b->res, 0, sizeof b->res);
	memset(b->swp, 0, sizeof b->swp);
	pm->pages += PAGEMAP_BLOCK_PAGES;
	t0 = format_now_ns();
	r = pagemap_fetch_block(pm, b);
	t = format_now_ns() - t0;
	if (t > pm->call_max_ns)
		pm->call_max_ns = t;
	return (r);
}

/* Block key, from the cache or read into it; NULL when the target is gone. */
static struct pagemap_block *
pagemap_block_cached(struct pagemap *pm, uint64_t key)
{
	struct pagemap_block	*b;

	if ((b = pagemap_cache_find(pm, key)) != NULL)
		return (b);
	b = pagemap_cache_add(pm, key);
	if (pagemap_fetch(pm, b) != 0) {
		pagemap_cache_clear(pm);
		return (NULL);
	}
	return (b);
}

/*
 * Add the bytes [lo, hi) of an allocation, all inside block b, to res, swp
 * and unt by the state of their pages.
 */
static void
pagemap_count(struct pagemap *pm, const struct pagemap_block *b, uint64_t lo,
    uint64_t hi, uint64_t *res, uint64_t *swp, uint64_t *unt)
{
	uint64_t	base, pa, pz, page = UINT64_C(1) << pm->shift;
	uint64_t	n, r, s, bytes;
	int		i;

	base = (b->key * PAGEMAP_BLOCK_PAGES) << pm->shift;
	pa = (lo - base) >> pm->shift;
	pz = (hi - 1 - base) >> pm->shift;

	/* The first and last pages, perhaps partly covered. */
	for (i = 0; i < 2; i++) {
		if (i == 0)
			bytes = pa == pz ? hi - lo : base + (pa + 1) * page - lo;
		else if (pa != pz)
			bytes = hi - (base + pz * page);
		else
			break;
		n = i == 0 ? pa : pz;
		if (b->res[n / 64] & (UINT64_C(1) << (n % 64)))
			*res += bytes;
		else if (b->swp[n / 64] & (UINT64_C(1) << (n % 64)))
			*swp += bytes;
		else
			*unt += bytes;
	}

	/* The whole pages between them. */
	if (pz > pa + 1) {
		n = pz - pa - 1;
		r = pagemap_bits_count(b->res, pa + 1, pz);
		s = pagemap_bits_count(b->swp, pa + 1, pz);
		*res += r * page;
		*swp += s * page;
		*unt += (n - r - s) * page;
	}
}

/* The sums of stack id, growing the array as needed; NULL if out of range. */
static struct pagemap_acc *
pagemap_acc(struct pagemap *pm, uint32_t id)
{
	struct reader	*r = pm->model->reader;
	uint32_t	 n;

	if (id >= r->nstacks)
		return (NULL);
	if (id >= pm->nacc) {
		n = pm->nacc == 0 ? 1024 : pm->nacc;
		while (n <= id)
			n *= 2;
		if (n > r->nstacks)
			n = (uint32_t)r->nstacks;
		pm->acc = xreallocarray(pm->acc, n, sizeof *pm->acc);
		memset(pm->acc + pm->nacc, 0,
		    (n - pm->nacc) * sizeof *pm->acc);
		pm->nacc = n;
	}
	return (&pm->acc[id]);
}

/*
 * Work on ents[next] until it is done (0), the deadline passes (1), or the
 * target goes away (-1).
 */
static int
pagemap_entry(struct pagemap *pm, uint64_t deadline)
{
	struct reader_live	 *e = &pm->ents[pm->next];
	struct pagemap_block	 *b;
	struct pagemap_acc	 *a;
	uint64_t		  first, last, key, lo, hi, bsize;
	uint64_t		  res = 0, swp = 0, unt = 0;
	double			  w = e->weight;
	int			  r = 0;

	if (e->size == 0 || e->addr >= PAGEMAP_ADDR_LIMIT ||
	    e->size > PAGEMAP_ADDR_LIMIT - e->addr) {
		pm->bogus++;
		return (0);
	}
	if (!(w >= 0 && w < 1e15))
		w = 1;
	if ((a = pagemap_acc(pm, e->stack)) == NULL) {
		pm->bogus++;
		return (0);
	}
	bsize = (uint64_t)PAGEMAP_BLOCK_PAGES << pm->shift;
	first = e->addr / bsize;
	last = (e->addr + e->size - 1) / bsize;
	if (!pm->inside) {
		pm->inside = 1;
		pm->next_block = first;
		pm->allocs++;
		a->live += w * (double)e->size;
		pm->total.live += w * (double)e->size;
	}
	for (key = pm->next_block; key <= last; key++) {
		if (key == first || key == last)
			b = pagemap_block_cached(pm, key);
		else {
			/* The middle of a large allocation: read, not kept. */
			b = &pm->scratch;
			b->key = key;
			if (pagemap_fetch(pm, b) != 0)
				b = NULL;
		}
		if (b == NULL) {
			r = -1;
			break;
		}
		lo = key == first ? e->addr : key * bsize;
		hi = key == last ? e->addr + e->size : (key + 1) * bsize;
		pagemap_count(pm, b, lo, hi, &res, &swp, &unt);
		if (key < last && format_now_ns() >= deadline) {
			pm->next_block = key + 1;
			r = 1;
			break;
		}
	}
	a->res += w * (double)res;
	a->swp += w * (double)swp;
	a->unt += w * (double)unt;
	pm->total.res += w * (double)res;
	pm->total.swp += w * (double)swp;
	pm->total.unt += w * (double)unt;
	if (r == 0)
		pm->inside = 0;
	return (r);
}

/* Copy the next shard.  Returns 0, 1 to try again later, -1 to skip it. */
static int
pagemap_copy_shard(struct pagemap *pm)
{
	struct reader	*r = pm->model->reader;
	ssize_t		 n;

	for (;;) {
		n = reader_shard(r, pm->shard, pm->ents, pm->ents_cap);
		if (n < 0)
			return (++pm->tries >= PAGEMAP_SHARD_TRIES ? -1 : 1);
		if ((size_t)n <= pm->ents_cap)
			break;
		pm->ents_cap = (size_t)n + (size_t)n / 4 + 16;
		pm->ents = xreallocarray(pm->ents, pm->ents_cap,
		    sizeof *pm->ents);
	}
	pm->nents = (size_t)n;
	pm->next = 0;
	pm->inside = 0;
	pm->copied = 1;
	pm->tries = 0;
	return (0);
}

/* Begin a pass. */
static void
pagemap_begin(struct pagemap *pm, uint64_t now)
{
	pm->running = 1;
	pm->start_ns = now;
	pm->last_start_ns = now;
	pm->spent_ns = 0;
	pm->cpu_ns = 0;
	pm->updates = 0;
	pm->pages = 0;
	pm->calls = 0;
	pm->call_max_ns = 0;
	pm->update_max_ns = 0;
	pm->update_cpu_max_ns = 0;
	pm->allocs = 0;
	pm->skipped = 0;
	pm->bogus = 0;
	pm->evictions = 0;
	pm->shard = 0;
	pm->tries = 0;
	pm->copied = 0;
	pm->inside = 0;
	if (pm->acc != NULL)
		memset(pm->acc, 0, pm->nacc * sizeof *pm->acc);
	memset(&pm->total, 0, sizeof pm->total);
	pagemap_cache_clear(pm);
}

/* Drop the pass in progress (its numbers are never published). */
static void
pagemap_abort(struct pagemap *pm, const char *why)
{
	if (pm->running)
		log_debug("pagemap: pass abandoned: %s", why);
	pm->running = 0;
	pm->copied = 0;
	pagemap_cache_clear(pm);
}

/* An estimate in bytes, rounded. */
static int64_t
pagemap_round(double v)
{
	return (v <= 0 ? 0 : (int64_t)llround(v));
}

/*
 * Round an accumulator's live bytes and its resident, swapped and
 * untouched parts so that the parts add up to the whole (rounded one by
 * one, weighted estimates can miss it by a byte or two).  Returns the
 * whole.
 */
static int64_t
pagemap_split(const struct pagemap_acc *a, int64_t *res, int64_t *swp,
    int64_t *unt)
{
	int64_t	whole = pagemap_round(a->live);
	int64_t	rs = pagemap_round(a->res + a->swp);

	*res = pagemap_round(a->res);
	if (*res > whole)
		*res = whole;
	if (rs > whole)
		rs = whole;
	if (rs < *res)
		rs = *res;
	*swp = rs - *res;
	*unt = whole - rs;
	return (whole);
}

/* A pass is complete: give its numbers to the model. */
static void
pagemap_publish(struct pagemap *pm, uint64_t now)
{
	struct model		*m = pm->model;
	struct model_pages	*p = &m->pages;
	struct model_stack	*st;
	struct pagemap_acc	 zero, *a;
	uint32_t		 id;

	memset(&zero, 0, sizeof zero);
	for (id = 0; id < m->nstacks; id++) {
		if ((st = m->stacks[id]) == NULL)
			continue;
		a = id < pm->nacc ? &pm->acc[id] : &zero;
		pagemap_split(a, &st->resident, &st->swapped,
		    &st->untouched);
		if (st->resident > st->resident_max)
			st->resident_max = st->resident;
		if (st->swapped > st->swapped_max)
			st->swapped_max = st->swapped;
	}

	p->valid = 1;
	p->passes++;
	p->t_ns = now;
	p->took_ns = now - pm->start_ns;
	p->cpu_ns = pm->cpu_ns;
	p->updates = pm->updates;
	p->pages = pm->pages;
	p->calls = pm->calls;
	p->allocations = pm->allocs;
	p->skipped = pm->skipped;
	p->live = pagemap_split(&pm->total, &p->resident, &p->swapped,
	    &p->untouched);
	if (m->status.valid) {
		p->rss_anon = (int64_t)m->status.rss_anon;
		p->rss_file = (int64_t)m->status.rss_file;
		p->vm_swap = (int64_t)m->status.vm_swap;
	} else
		p->rss_anon = p->rss_file = p->vm_swap = -1;
	if (p->resident > p->resident_max)
		p->resident_max = p->resident;
	if (p->swapped > p->swapped_max)
		p->swapped_max = p->swapped;
	p->method = pm->method == PAGEMAP_METHOD_SCAN ? "PAGEMAP_SCAN" :
	    "pread";
	log_debug("pagemap: pass %" PRIu64 " complete: %" PRIu64 " allocations, %"
	    PRIu64 " pages in %" PRIu64 " calls, %.3f ms of work (CPU %.3f ms)"
	    " over %.3f ms in %" PRIu64 " polls, longest poll %.3f ms (CPU "
	    "%.3f ms), longest call %.3f ms, %" PRIu64 " cache evictions",
	    p->passes, pm->allocs, pm->pages, pm->calls, pm->spent_ns / 1e6,
	    pm->cpu_ns / 1e6, p->took_ns / 1e6, pm->updates,
	    pm->update_max_ns / 1e6, pm->update_cpu_max_ns / 1e6,
	    pm->call_max_ns / 1e6, pm->evictions);
	pm->running = 0;
}

/*
 * Work on the pass until the deadline.  Returns 0 when the pass is done,
 * 1 when time ran out, -1 when the target went away.
 */
static int
pagemap_work(struct pagemap *pm, uint64_t deadline)
{
	struct reader	*r = pm->model->reader;
	u_int		 since = 0;
	int		 x;

	while (pm->shard < r->nshards) {
		if (!pm->copied) {
			x = pagemap_copy_shard(pm);
			if (x == 1)
				return (1);	/* busy: again next poll */
			if (x == -1) {
				pm->skipped++;
				pm->shard++;
				pm->tries = 0;
				continue;
			}
		}
		while (pm->next < pm->nents) {
			x = pagemap_entry(pm, deadline);
			if (x != 0)
				return (x);
			pm->next++;
			if (++since == PAGEMAP_CLOCK_EVERY) {
				since = 0;
				if (format_now_ns() >= deadline)
					return (1);
			}
		}
		pm->copied = 0;
		pm->shard++;
	}
	return (0);
}

/* The CPU time memtop's thread has used, ns. */
static uint64_t
pagemap_cpu_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return (0);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

/*
 * Called by model_update at each poll: go on with the pass in progress, or
 * start one when it is time, for at most the budget.
 */
void
pagemap_update(struct pagemap *pm, uint64_t now)
{
	struct model	*m = pm->model;
	uint64_t	 t0, c0, deadline, gap;
	int		 x;

	if (!m->attached)
		return;
	if (pm->generation != m->generation) {
		/* A new image: new stacks, a new address space. */
		pagemap_abort(pm, "the target exec'd");
		if (pm->fd != -1)
			close(pm->fd);
		pm->fd = -1;
		pm->reopen_ns = 0;
		pm->generation = m->generation;
		memset(&m->pages, 0, sizeof m->pages);
		m->pages.method = "none";
	}
	if (pm->fd == -1) {
		if (pm->reopen_ns != 0 && now - pm->reopen_ns < PAGEMAP_REOPEN_NS)
			return;
		if (pagemap_open(pm) != 0) {
			pm->reopen_ns = now;
			return;
		}
	}
	if (!pm->running) {
		/*
		 * The next pass: no sooner than interval_ns after the last
		 * began, nor than PAGEMAP_DUTY times its CPU time.
		 */
		gap = pm->interval_ns;
		if (gap < m->pages.cpu_ns * PAGEMAP_DUTY)
			gap = m->pages.cpu_ns * PAGEMAP_DUTY;
		if (m->pages.passes != 0 && now - pm->last_start_ns < gap)
			return;
		/* Starting and publishing a pass count in its CPU time. */
		c0 = pagemap_cpu_now();
		pagemap_begin(pm, now);
	} else
		c0 = pagemap_cpu_now();

	t0 = format_now_ns();
	deadline = t0 + pm->budget_ns;
	pm->updates++;
	x = pagemap_work(pm, deadline);
	t0 = format_now_ns() - t0;
	c0 = pagemap_cpu_now() - c0;
	pm->spent_ns += t0;
	pm->cpu_ns += c0;
	if (t0 > pm->update_max_ns)
		pm->update_max_ns = t0;
	if (c0 > pm->update_cpu_max_ns)
		pm->update_cpu_max_ns = c0;
	if (x == 0) {
		c0 = pagemap_cpu_now();
		pagemap_publish(pm, format_now_ns());
		m->pages.cpu_ns += pagemap_cpu_now() - c0;
	} else if (x == -1) {
		pagemap_abort(pm, "the target's address space is gone");
		close(pm->fd);
		pm->fd = -1;
		pm->reopen_ns = now;
	}
}
