/*
 * fork.c: the life of processes and threads around the tracker.
 *
 * fork: the child shares the segment with the parent (MAP_SHARED), so it
 * must not write to it at all.  The child handler turns tracking off for
 * the whole child before it can run any other code; the forking thread
 * holds the guard from the prepare handler to the parent and child
 * handlers, so nothing it does around the fork is counted.  The parent
 * counts the fork in header.forks and goes on as before.  vfork and
 * posix_spawn children share the parent's memory until they exec and call
 * no allocator in between (tests/core-spawn.sh checks posix_spawn).
 *
 * exec: the memfd stays open across exec, so the new image's constructor
 * attaches again to the same segment; header.generation tells the front
 * end (see shm_attach).  A descendant with another pid refuses the
 * segment.
 *
 * Thread exit: a pthread key whose destructor gives the thread's slot back.
 */

#include "config.h"

#include <pthread.h>

#include "core.h"

static pthread_key_t	fork_key;
static int		fork_key_ok;
static int		fork_done;

/* Before fork: the forking thread stops counting. */
static void
fork_prepare(void)
{
	core_guard_enter();
}

/* After fork, in the parent: count the child and carry on. */
static void
fork_parent(void)
{
	if (core_active && core_shm.hdr != NULL)
		__atomic_add_fetch(&core_shm.hdr->forks, 1, __ATOMIC_RELAXED);
	core_guard_leave();
}

/* After fork, in the child: never touch the parent's segment again. */
static void
fork_child(void)
{
	struct core_thread	*t = &core_tls;

	core_active = 0;
	core_glibc_malloc = 0;	/* the hooks' fast paths off */
	/* This thread's state points into the segment: forget it. */
	t->slot = NULL;
	t->countdown = 0;
	t->state = CORE_THREAD_NEW;
	python_fork_child();
	core_guard_leave();
}

/* Key destructor: the thread is exiting, give its slot back. */
static void
fork_thread_exit(void *arg)
{
	struct core_thread	*t = &core_tls;

	CORE_ENGINE_ENTER(t);
	if (core_active)
		sample_thread_release(t);
	CORE_ENGINE_LEAVE(t);
}

/* Register the fork handlers and the thread-exit key, once per process. */
void
fork_init(void)
{
	if (fork_done)
		return;
	fork_done = 1;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	fork_key_ok = pthread_key_create(&fork_key, fork_thread_exit) == 0;
}

/* A thread took a slot: have its exit give the slot back. */
void
fork_thread_start(struct core_thread *t)
{
	if (fork_key_ok)
		pthread_setspecific(fork_key, t);
}
