/*
 * core-ahead.c: the sections filled from the front are mapped ahead of
 * their cursors, a run of pages at a time (core_ahead in core.h), and the
 * stack index all at once after the first few dozen stacks: the target
 * then takes no page fault for each new page.  mincore says which pages
 * of the (shared, anonymous) test segment exist.
 */

#include "config.h"

#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

#define PAGE	4096

/* Pages of [p, p + len) that exist (p page-aligned). */
static size_t
resident(const void *p, size_t len)
{
	unsigned char	vec[4096];
	size_t		n = (len + PAGE - 1) / PAGE, i, r = 0;

	if (n > sizeof vec || mincore((void *)p, len, vec) != 0)
		tap_bail("mincore");
	for (i = 0; i < n; i++)
		r += vec[i] & 1;
	return (r);
}

/* Intern made-up stack k (two frames, all different). */
static uint32_t
intern(int k)
{
	uint64_t	f[2] = { 0x400000 + (uint64_t)k * 16, 0x500000 };

	return (stacks_intern(f, 2, 0));
}

int
main(void)
{
	struct segment_sizes	 z = segment_defaults();
	struct memtop_header	*h;
	uint64_t		 size, index_bytes;
	size_t			 ahead = CORE_AHEAD_BYTES / PAGE;
	char			*ring;
	int			 k, ok_ids = 1;

	tap_plan(9);

	z.stacks = 1 << 16;		/* an index of 512 KiB */
	core_active = 0;
	if ((h = segment_new(&z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	stacks_set_own_range(0, 0);
	index_bytes = core_shm.stack_index_cap * sizeof(uint32_t);

	is_uint(resident(core_shm.stack_index, index_bytes), 0,
	    "a fresh index has no page");
	for (k = 1; k <= 10; k++)
		ok_ids &= intern(k) == (uint32_t)k;
	ok(ok_ids, "ten stacks interned");
	is_uint(resident(core_shm.stacks, CORE_AHEAD_BYTES), ahead,
	    "the stack records' first run is mapped at once");
	is_uint(resident(core_shm.frames, CORE_AHEAD_BYTES), ahead,
	    "so is the frames' first run");
	is_uint(resident((char *)core_shm.frames + CORE_AHEAD_BYTES, PAGE), 0,
	    "and nothing past it");
	ok(resident(core_shm.stack_index, index_bytes) <= 10,
	    "ten stacks touch at most ten pages of the index (%zu)",
	    resident(core_shm.stack_index, index_bytes));
	for (k = 11; k <= 70; k++)
		intern(k);
	is_uint(resident(core_shm.stack_index, index_bytes),
	    index_bytes / PAGE, "after 64 stacks the whole index is mapped");

	ring = (char *)core_shm.ring;
	ring_write(MEMTOP_EV_ALLOC, 1, 16, 16, 1, 1, 0, 1, 1);
	is_uint(resident(ring, CORE_AHEAD_BYTES), ahead,
	    "the ring's first run is mapped at its first event");
	is_uint(resident(ring + CORE_AHEAD_BYTES, PAGE), 0,
	    "and nothing past it");
	return (tap_done());
}
