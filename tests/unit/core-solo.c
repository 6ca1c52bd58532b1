/*
 * core-solo.c: solo mode's hand-over (core.h, shm.c).
 *
 * A thread that asks for a solo section while another thread is inside
 * one must wait until that section ends, and then see what was written in
 * it; the old owner then has to take the ownership back the same way; and
 * after CORE_SOLO_HANDOVERS hand-overs solo mode ends for good (every
 * section request says "use atomics").  The hand-over that ends it waits
 * for the last owner's section, and so must any other thread that asks
 * meanwhile: one that used atomics beside the owner's plain stores would
 * lose updates (a ring position reserved twice, a count lost).  Sections
 * here are held open for 100 or 200 ms on purpose, so that a hand-over
 * that does not wait is caught every time, not once in a million races.
 */

#include "config.h"

#include <sys/syscall.h>

#include <linux/membarrier.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

static uint64_t	shared_value;		/* written only inside sections */
static int	in_section;		/* the main thread holds one */
static int	turn;			/* ping-pong: whose turn */
static int	pong_refused;		/* refused to the other thread */

/* A thread asking for a section: what it got, and when (ms). */
struct ask {
	int	got;
	double	at;
};

/* Monotonic time in milliseconds. */
static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

/* The second thread of the hand-over check. */
static void *
taker(void *arg)
{
	double	*out = arg, t0;
	int	 solo;

	while (!__atomic_load_n(&in_section, __ATOMIC_ACQUIRE))
		;
	t0 = now_ms();
	solo = core_solo_begin();
	out[0] = solo;
	out[1] = now_ms() - t0;
	out[2] = (double)shared_value;
	if (solo) {
		shared_value = 2;
		core_solo_end();
	}
	return (NULL);
}

/* Ask for a section (and end it at once): the ending's two threads. */
static void *
asker(void *arg)
{
	struct ask	*a = arg;

	a->got = core_solo_begin();
	a->at = now_ms();
	if (a->got)
		core_solo_end();
	return (NULL);
}

/* The other player of the ping-pong: a section on each of its turns. */
static void *
ponger(void *arg)
{
	int	 i, n = *(int *)arg;

	for (i = 0; i < n; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 1)
			;
		if (core_solo_begin())
			core_solo_end();
		else
			pong_refused++;
		__atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
	}
	return (NULL);
}

int
main(void)
{
	struct segment_sizes	 z = segment_defaults();
	struct memtop_header	*h;
	struct timespec		 hold = { 0, 100 * 1000 * 1000 };
	struct timespec		 last = { 0, 200 * 1000 * 1000 };
	struct ask		 ender = { -1, 0 }, late = { -1, 0 };
	pthread_t		 th, te, tl;
	double			 res[3], section_end;
	uint64_t		 size;
	uint32_t		 mine, seen;
	long			 cmds;
	int			 solo, i, n, refused = 0;

	tap_plan(11);
	cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
	if ((h = segment_new(&z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		tap_bail("this kernel has no private expedited membarrier");

	/* The first thread to ask owns. */
	solo = core_solo_begin();
	ok(solo == 1, "the first thread to ask gets a solo section");
	if (!solo)
		tap_bail("no solo mode: nothing else to check");

	/* Hold the section while another thread asks. */
	memset(res, 0, sizeof res);
	if (pthread_create(&th, NULL, taker, res) != 0)
		tap_bail("pthread_create");
	__atomic_store_n(&in_section, 1, __ATOMIC_RELEASE);
	nanosleep(&hold, NULL);
	shared_value = 1;
	core_solo_end();
	pthread_join(th, NULL);
	ok(res[0] == 1, "the second thread takes the ownership over");
	ok(res[1] >= 90, "it waited for the first thread's section to end "
	    "(%.0f ms of 100)", res[1]);
	ok(res[2] == 1, "and saw what was written in that section");

	/* The first thread takes it back, and sees the second's write. */
	solo = core_solo_begin();
	ok(solo == 1 && shared_value == 2, "the first thread takes the "
	    "ownership back and sees the second thread's write");
	if (solo)
		core_solo_end();

	/*
	 * Ping-pong: the other thread takes over on each of its turns, the
	 * main thread takes back on each of its own, up to the last hand-over
	 * solo mode allows (two came before), with the main thread the owner.
	 */
	mine = core_tls.solo;
	n = (CORE_SOLO_HANDOVERS - 2) / 2;
	if (pthread_create(&th, NULL, ponger, &n) != 0)
		tap_bail("pthread_create");
	for (i = 0; i < n; i++) {
		__atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 0)
			;
		if (core_solo_begin())
			core_solo_end();
		else
			refused++;
	}
	pthread_join(th, NULL);
	ok(refused == 0 && pong_refused == 0 && __atomic_load_n(
	    &core_solo_owner, __ATOMIC_RELAXED) == mine, "%d hand-overs "
	    "granted, the main thread owns (refused: %d and %d)",
	    CORE_SOLO_HANDOVERS, refused, pong_refused);

	/*
	 * The last section, held open 200 ms.  The next hand-over ends solo
	 * mode and waits for it; once that has begun (the owner is no longer
	 * this thread), a late thread asks.
	 */
	if (!core_solo_begin())
		tap_bail("the main thread lost the ownership");
	if (pthread_create(&te, NULL, asker, &ender) != 0)
		tap_bail("pthread_create");
	while ((seen = __atomic_load_n(&core_solo_owner, __ATOMIC_ACQUIRE)) ==
	    mine)
		;
	if (pthread_create(&tl, NULL, asker, &late) != 0)
		tap_bail("pthread_create");
	nanosleep(&last, NULL);
	section_end = now_ms();
	core_solo_end();
	pthread_join(te, NULL);
	pthread_join(tl, NULL);
	ok(ender.got == 0 && ender.at >= section_end, "the next hand-over ends "
	    "solo mode, after the last section (%.1f ms after its end)",
	    ender.at - section_end);
	ok(late.got == 0, "a thread asking meanwhile is refused a section");
	ok(late.at >= section_end, "and is answered only after the last "
	    "section ended (%.1f ms after; the owner it first saw: %s)",
	    late.at - section_end, seen == CORE_SOLO_MULTI ? "none, for good" :
	    "nobody yet");
	ok(__atomic_load_n(&core_solo_owner, __ATOMIC_RELAXED) ==
	    CORE_SOLO_MULTI, "solo mode has ended for good");
	ok(core_solo_begin() == 0, "and a new request is refused");
	return (tap_done());
}
