/*
 * core-solo-end.c: the end of solo mode (core.h, shm.c) waits for the last
 * section, for every thread.
 *
 * The hand-over that ends solo mode (the one after CORE_SOLO_HANDOVERS)
 * waits until the last owner is out of its section.  Meanwhile any other
 * thread that asks for a section must wait too: a thread that saw "solo
 * mode is over" and used atomics while the last owner still wrote with
 * plain stores would lose updates (a ring position reserved twice, a count
 * lost).  Here the last owner holds its section open for 200 ms while one
 * thread ends solo mode and, once that has begun, another asks.
 */

#include "config.h"

#include <sys/syscall.h>

#include <linux/membarrier.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

static int	turn;			/* ping-pong: whose turn */
static int	refused;		/* sections refused in the ping-pong */
static double	section_end;		/* when the last section ended (ms) */

/* Monotonic time in milliseconds. */
static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
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
			refused++;
		__atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
	}
	return (NULL);
}

/* A thread asking for a section: what it got, and when (ms). */
struct ask {
	int	got;
	double	at;
};

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

int
main(void)
{
	struct segment_sizes	 z = segment_defaults();
	struct memtop_header	*h;
	struct timespec		 hold = { 0, 200 * 1000 * 1000 };
	struct ask		 ender = { -1, 0 }, late = { -1, 0 };
	pthread_t		 th, te, tl;
	uint64_t		 size;
	uint32_t		 mine, seen;
	long			 cmds;
	int			 i, n;

	tap_plan(5);
	cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
	if ((h = segment_new(&z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		tap_bail("this kernel has no private expedited membarrier");

	/* The main thread owns (no hand-over: there was no owner). */
	if (!core_solo_begin())
		tap_bail("no solo mode: nothing to check");
	core_solo_end();
	mine = core_tls.solo;

	/*
	 * Hand-overs back and forth, CORE_SOLO_HANDOVERS of them: the other
	 * thread takes over on each of its turns, the main thread takes back
	 * on each of its own, and the main thread owns at the end.
	 */
	n = CORE_SOLO_HANDOVERS / 2;
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
	ok(refused == 0 && __atomic_load_n(&core_solo_owner,
	    __ATOMIC_RELAXED) == mine, "%d hand-overs granted, the main "
	    "thread owns (%d refused)", CORE_SOLO_HANDOVERS, refused);

	/*
	 * The last section, held open.  The next hand-over ends solo mode:
	 * the ender waits for this section.  Once it has begun (the owner is
	 * no longer this thread), a late thread asks.
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
	nanosleep(&hold, NULL);
	section_end = now_ms();
	core_solo_end();
	pthread_join(te, NULL);
	pthread_join(tl, NULL);

	ok(ender.got == 0 && ender.at >= section_end, "the hand-over that ends "
	    "solo mode waits for the last section (%.1f ms after its end)",
	    ender.at - section_end);
	ok(late.got == 0, "a thread asking meanwhile is refused a section");
	ok(late.at >= section_end, "and is answered only after the last "
	    "section ended (%.1f ms after; the owner it first saw: %s)",
	    late.at - section_end, seen == CORE_SOLO_MULTI ? "none, for good" :
	    "nobody yet");
	ok(__atomic_load_n(&core_solo_owner, __ATOMIC_RELAXED) ==
	    CORE_SOLO_MULTI, "solo mode has ended for good");
	return (tap_done());
}
