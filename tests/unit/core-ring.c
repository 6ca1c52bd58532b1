/*
 * core-ring.c: the event ring.  A full ring drops and counts, never
 * blocks; records are published with their sequence number; with several
 * writers and a reader following the protocol of event.h, every event is
 * either read, whole and in its writer's order, or counted as dropped.
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

/* Attach a fresh segment with a ring of cap records. */
static void
attach(uint64_t cap)
{
	struct segment_sizes	 z = segment_defaults();
	struct memtop_header	*h;
	uint64_t		 size;

	z.ring = cap;
	core_active = 0;
	if ((h = segment_new(&z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
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

/* The drops: the ring's own count and the thread slots'. */
static uint64_t
drops_total(void)
{
	uint64_t	n = core_shm.ring->drops, i;

	for (i = 0; i < core_shm.nthreads; i++)
		n += core_shm.threads[i].ring_drops;
	return (n);
}

/*
 * A writer: events numbered k, tagged with the writer.  Writer 1 first
 * takes a thread slot of its own (by counting an allocation), so that its
 * drops go to its slot, the others' to the ring.
 */
static void *
writer(void *arg)
{
	uint64_t	w = (uint64_t)(uintptr_t)arg, k;

	if (w == 1)
		engine_on_alloc((void *)(uintptr_t)0x100000, 16, 0);

	for (k = 1; k <= PER_WRITER; k++)
		ring_write(MEMTOP_EV_ALLOC, (w << 32) | k, k, (int64_t)k, 1,
		    (uint32_t)w, 0, k, (int32_t)w);
	return (NULL);
}

int
main(void)
{
	struct memtop_ring_header	*ring;
	struct memtop_event		*ev;
	pthread_t			 tid[WRITERS];
	uint64_t			 i, last[WRITERS + 1], read = 0, w, k;
	uint64_t			 bad = 0, order = 0, pos;
	volatile int			 done = 0;
	int				 t, good = 1;
	int				 joined[WRITERS] = { 0 };

	tap_plan(10);

	attach(16);
	ring = core_shm.ring;
	ev = core_shm.events;
	for (i = 0; i < 20; i++)
		ring_write(MEMTOP_EV_FREE, i, i, -(int64_t)i, -1, 7, 0, i, 1);
	ok(ring->head == 16 && ring->drops == 4,
	    "a full ring drops and counts (head %llu, drops %llu)",
	    (unsigned long long)ring->head, (unsigned long long)ring->drops);
	if (pthread_create(&tid[0], NULL, slot_writer, NULL) != 0)
		tap_bail("pthread_create");
	pthread_join(tid[0], NULL);
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

	/* Writers and a reader at once. */
	attach(1024);
	ring = core_shm.ring;
	ev = core_shm.events;
	memset(last, 0, sizeof last);
	for (t = 0; t < WRITERS; t++)
		pthread_create(&tid[t], NULL, writer,
		    (void *)(uintptr_t)(t + 1));
	pos = 0;
	for (;;) {
		struct memtop_event	*e = &ev[pos & 1023];

		if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) == pos + 1) {
			w = e->addr >> 32;
			k = e->addr & 0xffffffff;
			if (w < 1 || w > WRITERS || e->size != k ||
			    e->est_bytes != (int64_t)k || e->stack != w ||
			    e->tid != (int32_t)w)
				bad++;
			else if (k <= last[w])
				order++;
			else
				last[w] = k;
			read++;
			pos++;
			__atomic_store_n(&ring->tail, pos, __ATOMIC_RELEASE);
			continue;
		}
		if (done && __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE) ==
		    pos)
			break;
		if (!done) {
			/* Writers finished? */
			int	all = 1;

			for (t = 0; t < WRITERS; t++) {
				if (joined[t])
					continue;
				if (pthread_tryjoin_np(tid[t], NULL) == 0)
					joined[t] = 1;
				else
					all = 0;
			}
			if (all)
				done = 1;
		}
	}
	is_uint(read + drops_total(), WRITERS * PER_WRITER,
	    "every event was read or counted as dropped");
	ok(read > 0, "events were read (%llu) and dropped (%llu)",
	    (unsigned long long)read, (unsigned long long)drops_total());
	is_uint(bad, 0, "every record read was whole");
	is_uint(order, 0, "each writer's events came in its order");
	is_uint(ring->head, read, "head counts the records written");
	return (tap_done());
}
