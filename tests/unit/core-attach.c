/*
 * core-attach.c: attaching the engine to a segment.  A segment meant for
 * another process or with another magic is refused silently; a broken one
 * for this process is refused with a reason in the header; a good one is
 * tracked; attaching again (what an exec in the same pid does) starts a
 * new generation with the data sections zeroed and the control block kept.
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

/* A fresh default segment. */
static struct memtop_header *
fresh(uint64_t *size)
{
	struct segment_sizes	z = segment_defaults();
	struct memtop_header	*h;

	if ((h = segment_new(&z, size)) == NULL)
		tap_bail("cannot map a segment");
	core_active = 0;
	memset(&core_shm, 0, sizeof core_shm);
	return (h);
}

/* Attach h and say whether it was refused, silently or with a reason. */
static void
refused(struct memtop_header *h, uint64_t size, int loud, const char *what)
{
	int	r = shm_attach(h, size, -1);

	ok(r == -1 && !core_active, "%s: refused", what);
	if (loud)
		ok((h->state & MEMTOP_ST_DISABLED) &&
		    h->disabled_reason[0] != '\0', "%s: reason \"%s\"", what,
		    h->disabled_reason);
	else
		ok(h->state == 0 && h->disabled_reason[0] == '\0' &&
		    h->generation == 0, "%s: silently", what);
	munmap(h, size);
}

/* A fresh segment whose ring header says capacity and rings (0: as made). */
static void
ring_refused(uint64_t capacity, uint64_t rings, const char *what)
{
	struct memtop_header		*h;
	struct memtop_ring_header	*ring;
	uint64_t			 size;

	h = fresh(&size);
	ring = (void *)((char *)h + h->sec[MEMTOP_SEC_RING].off);
	if (capacity != 0)
		ring->capacity = capacity;
	if (rings != 0)
		ring->rings = rings;
	refused(h, size, 1, what);
}

int
main(void)
{
	struct memtop_header		*h;
	struct memtop_ring_header	*ring;
	struct memtop_module		*m;
	uint64_t			 size;
	uint32_t			 i;
	int				 main_found = 0;
	char				 exe[4096];
	ssize_t				 len;

	tap_plan(46);

	h = fresh(&size);
	h->magic[0] = 'X';
	refused(h, size, 0, "bad magic");

	h = fresh(&size);
	h->abi = MEMTOP_SHM_ABI + 1;
	refused(h, size, 0, "other ABI");

	h = fresh(&size);
	h->target_pid = getpid() + 1;
	refused(h, size, 0, "another process's segment");

	h = fresh(&size);
	h->total_size = size + 4096;
	refused(h, size, 0, "total size beyond the mapping");

	h = fresh(&size);
	h->sec[MEMTOP_SEC_STACKS].off = size - 16;
	refused(h, size, 1, "section outside the segment");

	h = fresh(&size);
	h->sec[MEMTOP_SEC_FRAMES].off = h->sec[MEMTOP_SEC_STACKS].off;
	refused(h, size, 1, "overlapping sections");

	h = fresh(&size);
	h->sec[MEMTOP_SEC_STACK_INDEX].count = 3;
	refused(h, size, 1, "stack index not a power of two");

	h = fresh(&size);
	h->sec[MEMTOP_SEC_THREADS].count = h->sec[MEMTOP_SEC_THREADS].size;
	refused(h, size, 1, "count larger than the section");

	h = fresh(&size);
	h->sec[MEMTOP_SEC_GLOBAL].off += 8;
	refused(h, size, 1, "misaligned section");

	ring_refused(12, 0, "ring capacity not a power of two");
	ring_refused(1 << 20, 0, "ring larger than its section");
	ring_refused(0, 3, "a number of rings not a power of two");
	ring_refused(0, 2 * MEMTOP_RINGS_MAX, "more rings than event.h allows");
	ring_refused(0, 2, "two rings where the section holds one");

	h = fresh(&size);
	h->max_frames = 0;
	refused(h, size, 1, "max_frames 0");

	/* A good segment. */
	h = fresh(&size);
	ok(shm_attach(h, size, -1) == 0 && core_active, "good segment: tracking");
	stacks_set_own_range(0, 0);
	ok(h->state == MEMTOP_ST_ATTACHED, "state is ATTACHED");
	is_uint(h->generation, 1, "generation 1");
	ok(h->attach_ns != 0, "attach time set");
	ok(core_shm.stacks[0].flags & MEMTOP_STACK_READY,
	    "stack 0 (the catch-all) is ready");
	ok(core_shm.glob->module_count > 1, "modules recorded (%u)",
	    core_shm.glob->module_count);
	len = readlink("/proc/self/exe", exe, sizeof exe);
	for (i = 0; i < core_shm.glob->module_count; i++) {
		m = &core_shm.modules[i];
		if ((m->flags & MEMTOP_MODULE_MAIN) && len > 0 &&
		    m->path_len == (uint32_t)len &&
		    memcmp(core_shm.strings + m->path_off, exe, (size_t)len) == 0)
			main_found = 1;
	}
	ok(main_found, "the main program is recorded with its path");

	/* Some activity, then an exec in the same pid. */
	engine_on_alloc((void *)0x10000, 100, 0);
	engine_on_alloc((void *)0x20000, 200, 0);
	engine_on_free((void *)0x10000, 100, 0);
	is_int(segment_allocated(h), 200, "allocated counted");
	core_shm.ctl->break_bytes = 12345;
	core_shm.ctl->break_seq = 7;
	ring = core_shm.ring;
	ring->head = ring->tail = 5;

	ok(shm_attach(h, size, -1) == 0, "re-attach (exec) works");
	stacks_set_own_range(0, 0);
	is_uint(h->generation, 2, "generation 2");
	is_int(segment_allocated(h), 0, "counters start over");
	ok(core_shm.glob->flushed_live == 0 && core_shm.glob->peak_bytes == 0,
	    "global counters start over");
	ok(core_shm.glob->module_count > 1 && core_shm.glob->stack_count == 0,
	    "modules recorded again, no stacks yet");
	ok(core_shm.ctl->break_bytes == 12345 && core_shm.ctl->break_seq == 7,
	    "the control block is kept");
	ok(ring->head == 5 && ring->tail == 5, "the ring position is kept");

	core_disable("a test asked");
	ok(!core_active && (h->state & MEMTOP_ST_DISABLED) &&
	    strcmp(h->disabled_reason, "a test asked") == 0,
	    "core_disable stops tracking and says why");
	return (tap_done());
}
