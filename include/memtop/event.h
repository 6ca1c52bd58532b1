/*
 * memtop event ring: the stream of sampled events from the target to the
 * front end (timeline, spike inspection, recording).  It lives in section
 * MEMTOP_SEC_RING of the shared segment (see shm.h): a header followed by
 * `capacity` records, capacity a power of two.
 *
 * Many writers (the target's threads), one reader (the front end).
 *  - A writer reserves position `pos` by compare-and-swap on head, only if
 *    pos - tail < capacity; otherwise it counts a drop and moves on: in
 *    its thread slot's ring_drops when it has a slot of its own (shm.h),
 *    else in drops here.  The drops are the sum of the two.  It never
 *    waits: a full ring loses events, never aggregates.
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

struct memtop_ring_header {
	uint64_t	head;		/* writers: next position to reserve */
	uint64_t	pad0[7];
	uint64_t	tail;		/* reader: next position to consume */
	uint64_t	pad1[7];
	uint64_t	drops;		/* writers without a slot of their own:
					   events not written */
	uint64_t	capacity;	/* launcher: records, a power of two */
	uint64_t	pad2[6];
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

#endif /* MEMTOP_EVENT_H */
