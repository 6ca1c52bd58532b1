/*
 * core-ring.c: the event rings.  A full ring drops and counts, never
 * blocks; records are published with their sequence number; with several
 * writers and a reader following the protocol of event.h, every event is
 * either read, whole and in its writer's order, or counted as dropped,
 * with one ring shared by every writer and with a ring for each lane.
 */

#include "config.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

#define PER_WRITER	200000
#define WRITERS		3

/* Attach a fresh segment with rings of cap records, and lanes lanes. */
static void
attach_lanes(uint64_t cap, uint64_t rings, uint64_t lanes)
{
	struct segment_sizes	 z = segment_defaults();
	struct memtop_header	*h;
	uint64_t		 size;

	z.ring = cap;
	z.rings = rings;
	z.agg_lanes = lanes;
	core_active = 0;
	if ((h = segment_new(&z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
}

/* The same, with as many lanes as rings. */
static void
attach(uint64_t cap, uint64_t rings)
{
	attach_lanes(cap, rings, rings);
}

/* Take a thread slot (by counting an allocation), then write 10 events. */
static void *
slot_writer(void *arg)
{
	uint64_t	k;

	engine_on_alloc((void *)(uintptr_t)0x200000, 16, 0);
	for (k = 0; k < 10; k++)
		ring_write(MEMTOP_EV_ALLOC, k, 1, 1, 1, 7, 0, k, 2);
	return (arg);
}

/* Ring k of the attached segment. */
static struct memtop_ring_header *
ring_k(uint64_t k)
{
	return ((struct memtop_ring_header *)((char *)core_shm.ring +
	    k * core_shm.ring_stride));
}

/* The drops: the rings' own counts and the thread slots'. */
static uint64_t
drops_total(void)
{
	uint64_t	n = 0, i;

	for (i = 0; i < core_shm.nrings; i++)
		n += ring_k(i)->drops;
	for (i = 0; i < core_shm.nthreads; i++)
		n += core_shm.threads[i].ring_drops;
	return (n);
}

/*
 * A segment whose launcher reads no events (the report): the target writes
 * none, so a thread with a slot of its own (slot_writer) neither fills the
 * ring nor counts drops.
 */
static void
test_no_events(void)
{
	struct segment_sizes		 z = segment_defaults();
	struct memtop_header		*h;
	struct memtop_ring_header	*ring;
	pthread_t			 tid;
	uint64_t			 size, i, slots = 0;

	z.ring = 16;
	z.rings = 1;
	z.agg_lanes = 1;
	z.config = MEMTOP_CFG_NOEVENTS;
	core_active = 0;
	if ((h = segment_new(&z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	ring = (struct memtop_ring_header *)(void *)((char *)h +
	    h->sec[MEMTOP_SEC_RING].off);
	for (i = 0; i < 20; i++)
		ring_write(MEMTOP_EV_ALLOC, i, 1, 1, 1, 7, 0, i, 1);
	if (pthread_create(&tid, NULL, slot_writer, NULL) != 0)
		tap_bail("pthread_create");
	pthread_join(tid, NULL);
	for (i = 0; i < core_shm.nthreads; i++)
		slots += core_shm.threads[i].ring_drops;
	ok(ring->head == 0 && ring->drops == 0 && slots == 0,
	    "no events asked for: 30 written, none kept, none dropped (head "
	    "%llu, drops %llu and %llu)", (unsigned long long)ring->head,
	    (unsigned long long)ring->drops, (unsigned long long)slots);
}

/* The lane each writer wrote from, and whether it was its own. */
static uint16_t	writer_lane[WRITERS + 1];
static uint32_t	writer_own[WRITERS + 1];
static int	writers_take_slots;
/* With slots, every writer holds its lane before any writes. */
static pthread_barrier_t writers_ready;

/*
 * A writer: events numbered k, tagged with the writer.  Writer 1 (every
 * writer with writers_take_slots) first takes a thread slot of its own (by
 * counting an allocation), so that its drops go to its slot, the others'
 * to the ring, and with it a lane.
 */
static void *
writer(void *arg)
{
	uint64_t	w = (uint64_t)(uintptr_t)arg, k;

	if (w == 1 || writers_take_slots)
		engine_on_alloc((void *)(uintptr_t)(0x100000 * w), 16, 0);
	writer_lane[w] = core_tls.lane;
	writer_own[w] = core_tls.lane_own;
	if (writers_take_slots)
		pthread_barrier_wait(&writers_ready);

	for (k = 1; k <= PER_WRITER; k++)
		ring_write(MEMTOP_EV_ALLOC, (w << 32) | k, k, (int64_t)k, 1,
		    (uint32_t)w, 0, k, (int32_t)w);
	return (NULL);
}

/*
 * A writer's first allocation (which gives it a slot and a lane) may be
 * sampled, and then it writes an event of its own; race counts those here
 * apart from the writers' numbered events.
 */
static uint64_t	race_samples;

/*
 * Writers and a reader at once, on the attached segment: the reader
 * follows event.h on every ring.  Sets the events read, the records not
 * whole, the records out of their writer's order, and for each writer the
 * rings its events were found in (a bit each).
 */
static void
race(uint64_t *readp, uint64_t *badp, uint64_t *orderp, uint64_t *ringsp)
{
	pthread_t	tid[WRITERS];
	uint64_t	last[WRITERS + 1], pos[MEMTOP_RINGS_MAX] = { 0 };
	uint64_t	read = 0, bad = 0, order = 0, w, k, r, cap;
	int		t, done = 0, idle, joined[WRITERS] = { 0 };
	unsigned long	stuck = 0;

	memset(last, 0, sizeof last);
	race_samples = 0;
	memset(ringsp, 0, (WRITERS + 1) * sizeof *ringsp);
	cap = core_shm.ring_cap;
	for (t = 0; t < WRITERS; t++)
		pthread_create(&tid[t], NULL, writer,
		    (void *)(uintptr_t)(t + 1));
	for (;;) {
		idle = 1;
		for (r = 0; r < core_shm.nrings; r++) {
			struct memtop_ring_header *ring = ring_k(r);
			struct memtop_event *e = (struct memtop_event *)
			    (ring + 1) + (pos[r] & (cap - 1));

			if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) !=
			    pos[r] + 1)
				continue;
			idle = 0;
			w = e->addr >> 32;
			k = e->addr & 0xffffffff;
			if (w == 0 && k % 0x100000 == 0 && k / 0x100000 >= 1 &&
			    k / 0x100000 <= WRITERS && e->size == 16 &&
			    e->type == MEMTOP_EV_ALLOC)
				race_samples++;	/* a writer's first allocation */
			else {
				if (w < 1 || w > WRITERS || e->size != k ||
				    e->est_bytes != (int64_t)k ||
				    e->stack != w || e->tid != (int32_t)w)
					bad++;
				else {
					if (k <= last[w])
						order++;
					else
						last[w] = k;
					ringsp[w] |= UINT64_C(1) << r;
				}
				read++;
			}
			pos[r]++;
			__atomic_store_n(&ring->tail, pos[r],
			    __ATOMIC_RELEASE);
		}
		if (!idle)
			continue;
		if (done) {
			for (r = 0; r < core_shm.nrings; r++)
				if (__atomic_load_n(&ring_k(r)->head,
				    __ATOMIC_ACQUIRE) != pos[r])
					break;
			/*
			 * Caught up, or stuck behind a record that will never
			 * be published (writers that took one position).
			 */
			if (r == core_shm.nrings || ++stuck > 100000000)
				break;
			continue;
		}
		/* Writers finished? */
		done = 1;
		for (t = 0; t < WRITERS; t++) {
			if (joined[t])
				continue;
			if (pthread_tryjoin_np(tid[t], NULL) == 0)
				joined[t] = 1;
			else
				done = 0;
		}
	}
	*readp = read;
	*badp = bad;
	*orderp = order;
}

/* race, then the checks of its outcome (five), named with what. */
static void
race_checked(const char *what, uint64_t *rings)
{
	uint64_t	read, bad, order, heads = 0, i;

	race(&read, &bad, &order, rings);
	for (i = 0; i < core_shm.nrings; i++)
		heads += ring_k(i)->head;
	is_uint(read + drops_total(), WRITERS * PER_WRITER,
	    "%s: every event was read or counted as dropped", what);
	ok(read > 0, "%s: events were read (%llu) and dropped (%llu)", what,
	    (unsigned long long)read, (unsigned long long)drops_total());
	is_uint(bad, 0, "%s: every record read was whole", what);
	is_uint(order, 0, "%s: each writer's events came in its order", what);
	is_uint(heads, read + race_samples,
	    "%s: the heads count the records written", what);
}

int
main(void)
{
	struct memtop_ring_header	*ring;
	struct memtop_event		*ev;
	pthread_t			 tid;
	uint64_t			 i, w;
	uint64_t			 rings[WRITERS + 1], used = 0;
	int				 good = 1, own = 0, one = 1, n;
	uint64_t			 read, bad, order, lost = 0, broken = 0;

	tap_plan(21);

	attach(16, 1);
	ring = core_shm.ring;
	ev = (struct memtop_event *)(ring + 1);
	for (i = 0; i < 20; i++)
		ring_write(MEMTOP_EV_FREE, i, i, -(int64_t)i, -1, 7, 0, i, 1);
	ok(ring->head == 16 && ring->drops == 4,
	    "a full ring drops and counts (head %llu, drops %llu)",
	    (unsigned long long)ring->head, (unsigned long long)ring->drops);
	if (pthread_create(&tid, NULL, slot_writer, NULL) != 0)
		tap_bail("pthread_create");
	pthread_join(tid, NULL);
	ok(ring->head == 16 && ring->drops == 4 && drops_total() == 4 + 10,
	    "a thread with a slot of its own counts its drops there "
	    "(ring %llu, in all %llu)", (unsigned long long)ring->drops,
	    (unsigned long long)drops_total());
	for (i = 0; i < 16; i++) {
		if (ev[i].seq != i + 1 || ev[i].addr != i ||
		    ev[i].type != MEMTOP_EV_FREE || ev[i].est_bytes != -(int64_t)i)
			good = 0;
	}
	ok(good, "each record is published with seq = position + 1");
	ring->tail = 16;
	for (i = 0; i < 10; i++)
		ring_write(MEMTOP_EV_ALLOC, 100 + i, 1, 1, 1, 7, 0, i, 1);
	ok(ring->head == 26 && ring->drops == 4, "after the reader moved on, "
	    "writing goes on");
	ok(ev[16 & 15].seq == 17 && ev[25 & 15].seq == 26 &&
	    ev[25 & 15].addr == 109, "records wrap around");

	test_no_events();

	/* One ring for every writer: they take positions from each other. */
	attach(1024, 1);
	writers_take_slots = 0;
	race_checked("one ring", rings);

	/* A ring for each lane: writers with lanes of their own apart. */
	attach(1024, 4);
	writers_take_slots = 1;
	pthread_barrier_init(&writers_ready, NULL, WRITERS);
	race_checked("four rings", rings);
	for (w = 1; w <= WRITERS; w++) {
		if (rings[w] != UINT64_C(1) << (writer_lane[w] & 3))
			one = 0;
		if (writer_own[w]) {
			own++;
			if (used & rings[w])
				one = 0;
			used |= rings[w];
		}
	}
	ok(one, "each writer wrote to its lane's ring alone, lanes of their "
	    "own to rings of their own (rings %#llx %#llx %#llx)",
	    (unsigned long long)rings[1], (unsigned long long)rings[2],
	    (unsigned long long)rings[3]);
	ok(own >= 2, "writers with lanes of their own: %d", own);

	/*
	 * Lanes of their own on one ring: the owner of a lane is its ring's
	 * only writer only when each lane has a ring.  30 races, since two
	 * writers that take the same position do not do so every time.
	 */
	for (n = 0, own = 0; n < 30; n++) {
		attach_lanes(1024, 1, 4);
		pthread_barrier_destroy(&writers_ready);
		pthread_barrier_init(&writers_ready, NULL, WRITERS);
		race(&read, &bad, &order, rings);
		if (read + drops_total() != WRITERS * PER_WRITER ||
		    ring_k(0)->head != read + race_samples)
			lost++;
		broken += bad + order;
		for (w = 1; w <= WRITERS; w++)
			own += writer_own[w] != 0;
	}
	is_uint(lost, 0, "four lanes on one ring, 30 races: every event was "
	    "read or counted as dropped, and the head counts them");
	is_uint(broken, 0, "four lanes on one ring: every record whole, in "
	    "its writer's order");
	ok(own >= 60, "four lanes on one ring: writers with lanes of their "
	    "own, %d of %d", own, 30 * WRITERS);
	return (tap_done());
}
