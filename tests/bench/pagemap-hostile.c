/*
 * pagemap-hostile.c: the resident scan (tui/pagemap.c) on a segment filled
 * by hand with live entries a broken or hostile target could leave, for
 * tests/resident-hostile.sh (TAP).
 *
 * The segment is the launcher's own (segment_create).  This program is its
 * own "target": the scan reads this process's /proc/self/pagemap.  Among
 * the live entries are two real blocks of this program (one 8 MiB block
 * with exactly its first half written, huge pages off; one 4 MiB block
 * never written) and, around them, entries that cannot be real: zero
 * sizes, addresses past any address space, ranges that wrap, NaN and
 * infinite and negative weights, stack ids past the stack table, a
 * terabyte of unmapped address space, a shard whose capacity is not a
 * power of two, one that points outside the arena, and one a writer never
 * finishes (its sequence stays odd).  The scan must complete, skip the
 * shards it cannot read, count the rest as bogus or untouched, give the
 * two real blocks exactly what this program reads in its own page tables,
 * and stay within its memory bound.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"
#include "tap.h"

#define MIB		(UINT64_C(1) << 20)
#define HALF_BLOCK	(8 * MIB)
#define NONE_BLOCK	(4 * MIB)

static struct reader	r;

/* Publish a stack with no frames; returns its id. */
static uint32_t
put_stack(void)
{
	uint32_t	id = ++r.glob->stack_count;

	r.stacks[id].nframes = 0;
	r.stacks[id].flags = MEMTOP_STACK_READY;
	return (id);
}

/* Give shard idx a table of cap entries at arena index at. */
static struct memtop_live_entry *
put_shard(uint64_t idx, uint64_t at, uint64_t cap)
{
	r.shards[idx].table = at;
	r.shards[idx].capacity = cap;
	r.shards[idx].seq = 2;
	return (&r.arena[at]);
}

/* A live entry, packed as the target packs it. */
static struct memtop_live_entry
ent(uint64_t addr, uint64_t size, uint32_t stack, uint32_t flags)
{
	struct memtop_live_entry	e = { addr, 0 };

	if (memtop_live_pack(size, flags, stack, &e.info) != 0)
		tap_bail("an entry that cannot be packed");
	return (e);
}

/* Bytes of [p, p + n) on pages in RAM, from this process's page tables. */
static uint64_t
self_resident(const char *p, size_t n)
{
	uintptr_t	a = (uintptr_t)p, z = a + n, pg, next;
	uint64_t	e, res = 0;
	long		page = sysconf(_SC_PAGESIZE);
	int		fd;

	if ((fd = open("/proc/self/pagemap", O_RDONLY)) == -1)
		return (UINT64_MAX);
	for (pg = a & ~(uintptr_t)(page - 1); pg < z; pg = next) {
		next = pg + (uintptr_t)page;
		if (pread(fd, &e, sizeof e,
		    (off_t)(pg / (uintptr_t)page * sizeof e)) != sizeof e)
			break;
		if (e & (UINT64_C(1) << 63))
			res += (next < z ? next : z) - (pg > a ? pg : a);
	}
	close(fd);
	return (res);
}

int
main(void)
{
	struct segment_config	 cfg = { 0, 256 * 1024, 64 };
	struct segment		 seg;
	struct model		 m;
	struct procfs_status	 st;
	struct memtop_live_entry *e;
	struct rusage		 ru0, ru1;
	char			*half, *none, *cause;
	uint32_t		 s_half, s_none, s_bogus;
	uint64_t		 t, half_res, none_res;
	double			 page_weight;
	size_t			 off;
	u_int			 i, polls;
	int			 n = 0;

	tap_plan(9);
	page_weight = 1 / (1 - exp(-4096.0 / (double)cfg.sample_mean));
	if (segment_create(&seg, &cfg, &cause) != 0)
		tap_bail(cause);
	if (reader_attach(&r, seg.base, seg.size, &cause) != 0)
		tap_bail(cause);
	r.hdr->state = MEMTOP_ST_ATTACHED;
	r.hdr->generation = 1;
	r.stacks[0].flags = MEMTOP_STACK_READY;
	s_half = put_stack();
	s_none = put_stack();
	s_bogus = put_stack();

	/* The two real blocks, page-aligned mappings of their own. */
	half = mmap(NULL, HALF_BLOCK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	none = mmap(NULL, NONE_BLOCK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (half == MAP_FAILED || none == MAP_FAILED)
		tap_bail("mmap");
	madvise(half, HALF_BLOCK, MADV_NOHUGEPAGE);
	for (off = 0; off < HALF_BLOCK / 2; off += 4096)
		half[off] = 1;
	half_res = self_resident(half, HALF_BLOCK);
	none_res = self_resident(none, NONE_BLOCK);
	ok(half_res == HALF_BLOCK / 2 && none_res == 0,
	    "this program's own count: half of one block, none of the other");

	/* Shard 0: the real blocks, among lies. */
	e = put_shard(0, 0, 64);
	e[n++] = ent((uintptr_t)half + 8, HALF_BLOCK - 8, s_half, 0);
	e[n++] = ent((uintptr_t)none, NONE_BLOCK, s_none, 0);
	e[n++] = ent(0x10000, 0, s_bogus, 0);
	e[n++] = ent(UINT64_MAX - 4095, 8192, s_bogus, 0);
	e[n++] = ent(UINT64_C(1) << 62, 4096, s_bogus, 0);
	e[n++] = ent((UINT64_C(1) << 57) - 4096, UINT64_C(1) << 40, s_bogus,
	    0);
	/* One page of the half-written block, three ways. */
	e[n++] = ent((uintptr_t)half, 4096, s_bogus, 0);
	e[n++] = ent((uintptr_t)half, 4096, s_bogus, MEMTOP_LIVE_MMAP);
	e[n++] = ent((uintptr_t)half, 4096, s_bogus,
	    MEMTOP_LIVE_MMAP | MEMTOP_LIVE_PYOBJ);
	e[n++] = ent((uintptr_t)half, 4096, MEMTOP_LIVE_STACK_LIMIT - 1, 0);
	e[n++] = ent((uintptr_t)half, 4096, (uint32_t)r.nstacks, 0);
	/* Every bit of the info word set: 2^54 bytes, a stack past the end. */
	e[n].addr = (uintptr_t)half;
	e[n++].info = UINT64_MAX;
	/* A terabyte of address space nothing maps. */
	e[n++] = ent(UINT64_C(0x100000000000), UINT64_C(1) << 40, s_bogus, 0);
	r.shards[0].count = (uint32_t)n;

	/* Shards that cannot be read. */
	put_shard(1, 64, 3);			/* not a power of two */
	put_shard(2, r.narena - 8, 64);		/* past the arena */
	put_shard(3, 128, 8)->addr = (uintptr_t)half;
	r.shards[3].seq = 7;			/* a writer never done */

	model_init(&m, &r, symbols_create(&r), 1);
	m.pagemap = pagemap_create(&m, getpid(), UINT64_C(2000000), 0);
	getrusage(RUSAGE_SELF, &ru0);
	t = format_now_ns();
	for (polls = 0; polls < 20000 && m.pages.passes < 2; polls++) {
		if (procfs_read_status(getpid(), &st) != 0)
			st.valid = 0;
		t += UINT64_C(100000000);
		model_update(&m, &st, 0, t);
	}
	getrusage(RUSAGE_SELF, &ru1);
	diag("%u polls, %" PRIu64 " passes, the last over %" PRIu64
	    " polls, %" PRIu64 " pages, CPU %.1f ms", polls, m.pages.passes,
	    m.pages.updates, m.pages.pages, m.pages.cpu_ns / 1e6);
	ok(m.pages.passes >= 2, "passes complete");
	ok(m.pages.skipped == 3, "the three shards that cannot be read are "
	    "skipped (%" PRIu64 ")", m.pages.skipped);
	ok(m.stacks[s_half]->resident == (int64_t)(HALF_BLOCK / 2 - 8) &&
	    m.stacks[s_half]->untouched == (int64_t)(HALF_BLOCK / 2),
	    "the half-written block: exactly its written half resident (%"
	    PRId64 "), the rest untouched", m.stacks[s_half]->resident);
	ok(m.stacks[s_none]->resident == 0 &&
	    m.stacks[s_none]->untouched == (int64_t)NONE_BLOCK,
	    "the block never written: all untouched");
	/* Each names one page, weighed as a sample of 4 KiB at 256 KiB. */
	ok(m.stacks[s_bogus]->resident <= 3 * 4096 * page_weight + 1 &&
	    m.stacks[s_bogus]->swapped == 0,
	    "the lies add nothing resident but the pages they name (%" PRId64
	    ")", m.stacks[s_bogus]->resident);
	ok(m.pages.allocations <= 8,
	    "entries that cannot be real are not counted as allocations (%"
	    PRIu64 " counted)", m.pages.allocations);
	ok(ru1.ru_maxrss - ru0.ru_maxrss < 64 * 1024,
	    "memory stays bounded: max RSS grew by %ld KiB",
	    ru1.ru_maxrss - ru0.ru_maxrss);

	/* More polls: the passes go on, the numbers hold. */
	for (i = 0; i < 100; i++)
		model_update(&m, &st, 0, t += UINT64_C(100000000));
	ok(m.stacks[s_half]->resident == (int64_t)(HALF_BLOCK / 2 - 8) &&
	    m.pages.skipped == 3, "later passes agree");

	pagemap_free(m.pagemap);
	m.pagemap = NULL;
	munmap(half, HALF_BLOCK);
	munmap(none, NONE_BLOCK);
	return (tap_done());
}
