/*
 * ring.c: the writer side of the event ring (see memtop/event.h).
 *
 * Many threads write, the front end reads.  A writer reserves a position by
 * compare-and-swap on head, only while the ring has room; a full ring costs
 * one atomic add to drops and nothing else: the target never waits for the
 * front end, and the aggregates do not depend on the ring.
 */

#include "config.h"

#include "core.h"

/*
 * Write one event.  Never blocks: when the ring is full the event is
 * counted in drops and lost.
 */
void
ring_write(uint16_t type, uint64_t addr, uint64_t size, int64_t est_bytes,
    int64_t est_count, uint32_t stack, uint16_t flags, uint64_t now,
    int32_t tid)
{
	struct memtop_ring_header	*ring = core_shm.ring;
	struct memtop_event		*ev;
	uint64_t			 head, tail, cap;

	if (ring == NULL)
		return;
	cap = core_shm.ring_cap;	/* checked at attach */
	head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
	do {
		tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
		if (head - tail >= cap) {
			__atomic_add_fetch(&ring->drops, 1, __ATOMIC_RELAXED);
			return;
		}
	} while (!__atomic_compare_exchange_n(&ring->head, &head, head + 1, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));

	ev = &core_shm.events[head & (cap - 1)];
	ev->time_ns = now;
	ev->addr = addr;
	ev->size = size;
	ev->est_bytes = est_bytes;
	ev->est_count = est_count;
	ev->stack = stack;
	ev->tid = tid;
	ev->type = type;
	ev->flags = flags;
	ev->pad = 0;
	__atomic_store_n(&ev->seq, head + 1, __ATOMIC_RELEASE);
}
