/*
 * ring.c: the writer side of the event rings (see memtop/event.h).
 *
 * Many threads write, the front end reads.  A thread writes to the ring of
 * its lane of the aggregates, so that threads with lanes of their own never
 * take the same head from each other's caches.  A writer reserves a
 * position by compare-and-swap on head (a plain store in solo mode, see
 * core.h, and by the owner of a lane, the only writer of its ring), only
 * while the ring has room; a full ring costs one addition to
 * a drop count (the thread slot's own, when it has one) and nothing else:
 * the target never waits for the front end, and the aggregates do not
 * depend on the ring.  The reader moves tail on its own cache line; writers
 * read it only when the room they last saw is used up (ring_seen: tail only
 * grows, so an old value only understates the room).
 */

#include "config.h"

#include "core.h"

/*
 * Head may go up to room: tail + cap as last seen, one for each ring.  On
 * a line of its own, and stored only when it grows: the line is then
 * read-mostly, while the ring is full too (the hooks read their flags on
 * the lines next to it).
 */
static struct {
	uint64_t	room;
	uint8_t		pad[MEMTOP_CACHELINE - sizeof(uint64_t)];
} ring_seen[MEMTOP_RINGS_MAX] __attribute__((aligned(MEMTOP_CACHELINE)));

/* Forget the room seen: the ring starts over (attach). */
void
ring_reset(void)
{
	size_t	k;

	for (k = 0; k < MEMTOP_RINGS_MAX; k++)
		__atomic_store_n(&ring_seen[k].room, 0, __ATOMIC_RELAXED);
}

/*
 * Reserve a position; UINT64_MAX when the ring is full (the drop is
 * counted).
 */
static uint64_t
ring_reserve(struct memtop_ring_header *ring, uint64_t *seenp, uint64_t cap,
    int solo)
{
	uint64_t	head, room, seen;

	head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
	for (;;) {
		seen = __atomic_load_n(seenp, __ATOMIC_RELAXED);
		if (head >= seen) {
			room = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) +
			    cap;
			if (room > seen)
				__atomic_store_n(seenp, room,
				    __ATOMIC_RELAXED);
			if (head >= room)
				break;
		}
		if (solo) {
			__atomic_store_n(&ring->head, head + 1,
			    __ATOMIC_RELAXED);
			return (head);
		}
		if (__atomic_compare_exchange_n(&ring->head, &head, head + 1,
		    1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return (head);
	}
	/* The drop: in the thread's own slot, a line no other thread writes. */
	if (core_tls.slot != NULL)
		CORE_OWN_ADD(core_tls.slot->ring_drops, 1);
	else if (solo)
		__atomic_store_n(&ring->drops, ring->drops + 1,
		    __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&ring->drops, 1, __ATOMIC_RELAXED);
	return (UINT64_MAX);
}

/*
 * Write one event.  Never blocks: when the ring is full the event is
 * counted in drops and lost.
 */
void
ring_put(uint16_t type, uint64_t addr, uint64_t size, int64_t est_bytes,
    int64_t est_count, uint32_t stack, uint16_t flags, uint64_t now,
    int32_t tid)
{
	struct memtop_ring_header	*ring = core_shm.ring;
	struct memtop_event		*ev;
	uint64_t			 head, cap, k;
	int				 solo;

	if (ring == NULL)
		return;		/* ring_write checked; kept for direct calls */
	cap = core_shm.ring_cap;	/* checked at attach, with nrings */
	k = core_tls.lane & (core_shm.nrings - 1);
	ring = (struct memtop_ring_header *)((char *)ring +
	    k * core_shm.ring_stride);
	/*
	 * A lane of its own, each lane on a ring of its own: the ring's only
	 * writer, as in solo mode (the aggregates do the same, sample.c).
	 */
	if (core_tls.lane_own && core_shm.nrings >= core_shm.agg_lanes)
		solo = 2;
	else
		solo = core_solo_begin();
	head = ring_reserve(ring, &ring_seen[k].room, cap, solo);
	if (solo == 1)
		core_solo_end();
	if (head == UINT64_MAX)
		return;
	if (head < cap)		/* the first lap: map the ring ahead */
		core_ahead(CORE_AHEAD_RING + (unsigned int)k, ring,
		    sizeof *ring + (head + 1) * sizeof *ev, core_shm.ring_stride);

	ev = (struct memtop_event *)(ring + 1) + (head & (cap - 1));
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
