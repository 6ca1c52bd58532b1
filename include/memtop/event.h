/*
 * memtop event rings: the stream of sampled events from the target to the
 * front end (timeline, spike inspection, recording).  They live in section
 * MEMTOP_SEC_RING of the shared segment (see shm.h): `rings` rings one
 * after the other, each a header followed by `capacity` records; rings and
 * capacity, both powers of two, are in every header.  The section holds
 * rings * capacity records (its count).
 *
 * A thread writes to the ring of its lane of the aggregates (shm.h), lane
 * & (rings - 1): threads with a lane of their own never share a ring's
 * head, the line each event reserves on.  Many writers may still share a
 * ring (the shared lane, or more lanes than rings), one reader reads them
 * all.  Events are in order within a ring; across rings, time_ns orders
 * them.
 *  - A writer reserves position `pos` by compare-and-swap on head, only if
 *    pos - tail < capacity; otherwise it counts a drop and moves on: in
 *    its thread slot's ring_drops when it has a slot of its own (shm.h),
 *    else in the ring's drops.  The drops are the sum of the slots' and
 *    every ring's.  It never waits: a full ring loses events, never
 *    aggregates.
 *  - It fills record pos & (capacity - 1), then stores seq = pos + 1 with
 *    release ordering.
 *  - The reader consumes record tail while its seq == tail + 1 (acquire),
 *    then stores tail + 1.  A record still unpublished after the reader
 *    has seen head move `capacity / 2` further on may be skipped: its
 *    writer died.
 */

#ifndef MEMTOP_EVENT_H
#define MEMTOP_EVENT_H

#include <stdint.h>

#define MEMTOP_EV_ALLOC		1	/* a sampled allocation */
#define MEMTOP_EV_FREE		2	/* a sampled allocation was freed */
#define MEMTOP_EV_BREAK		3	/* the break threshold was crossed */

#define MEMTOP_RINGS_MAX	64

struct memtop_ring_header {
	uint64_t	head;		/* writers: next position to reserve */
	uint64_t	pad0[7];
	uint64_t	tail;		/* reader: next position to consume */
	uint64_t	pad1[7];
	uint64_t	drops;		/* writers without a slot of their own:
					   events not written */
	uint64_t	capacity;	/* launcher: records in this ring,
					   a power of two */
	uint64_t	rings;		/* launcher: rings in the section, a
					   power of two, at most
					   MEMTOP_RINGS_MAX; the same in
					   every header */
	uint64_t	pad2[5];
};

/*
 * One event.  est_bytes and est_count carry the sample's weight: the
 * bytes and allocations it stands for (negative for a free).
 */
struct memtop_event {
	uint64_t	seq;		/* position + 1, published last */
	uint64_t	time_ns;	/* CLOCK_MONOTONIC */
	uint64_t	addr;
	uint64_t	size;		/* usable bytes */
	int64_t		est_bytes;
	int64_t		est_count;	/* x MEMTOP_COUNT_ONE */
	uint32_t	stack;
	int32_t		tid;
	uint16_t	type;		/* MEMTOP_EV_* */
	uint16_t	flags;		/* MEMTOP_LIVE_* of the allocation */
	uint32_t	pad;
};

_Static_assert(sizeof(struct memtop_ring_header) == 192, "ring header");
_Static_assert(sizeof(struct memtop_event) == 64, "event record");

/* Bytes from one ring to the next: its header and its records. */
static inline uint64_t
memtop_ring_stride(uint64_t capacity)
{
	return (sizeof(struct memtop_ring_header) +
	    capacity * sizeof(struct memtop_event));
}

/*
 * Nonzero when `rings` rings of `capacity` records (both nonzero) fit in a
 * ring section of `size` bytes; checked without overflow.
 */
static inline int
memtop_rings_fit(uint64_t size, uint64_t capacity, uint64_t rings)
{
	uint64_t	each = size / rings;

	return (each >= sizeof(struct memtop_ring_header) &&
	    capacity <= (each - sizeof(struct memtop_ring_header)) /
	    sizeof(struct memtop_event));
}

#endif /* MEMTOP_EVENT_H */
