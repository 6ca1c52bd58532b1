/*
 * core-unwind.c: stacks that test memtop's unwinder where it is easy to
 * get wrong.  Each site allocates SITE_BYTES bytes COUNT times:
 *   frame_site      under a function whose frame is addressed through its
 *                   frame pointer (alloca), called from main;
 *   deep_site       under a recursion DEEP calls deep (past max_frames);
 *   handler_site    in a signal handler on the thread's own stack;
 *   altstack_site   in a signal handler on a sigaltstack;
 *   thread_site     in a second thread;
 *   shared_site     called in turn from caller_a and caller_b, whose frames
 *                   are alike (the same stack pointer at the allocation,
 *                   another caller: the unwinder must not take one for
 *                   the other);
 * and main dlopens and dlcloses the C math library in between.
 * Everything is freed before exit.
 */

#define _GNU_SOURCE

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT		50
#define SITE_BYTES	1000
#define DEEP		300

static void	*blocks[7][COUNT];
static volatile int which;	/* the handler's site */
static int	 round_;

__attribute__((noinline)) static void
keep(int site, void *p)
{
	if (p == NULL)
		abort();
	memset(p, site, SITE_BYTES);
	blocks[site][round_] = p;
}

__attribute__((noinline)) static void
frame_site(size_t n)
{
	volatile char	*pad = alloca(n);	/* the CFA is rbp-based */

	pad[0] = 1;
	keep(0, malloc(SITE_BYTES));
	pad[n - 1] = 2;
}

__attribute__((noinline)) static void
deep_site(int n)
{
	if (n > 0) {
		deep_site(n - 1);
		__asm__ volatile("" ::: "memory");	/* not a tail call */
		return;
	}
	keep(1, malloc(SITE_BYTES));
}

__attribute__((noinline)) static void
handler_site(void)
{
	keep(2, malloc(SITE_BYTES));
}

__attribute__((noinline)) static void
altstack_site(void)
{
	keep(3, malloc(SITE_BYTES));
}

static void
on_signal(int sig)
{
	(void)sig;
	if (which == 2)
		handler_site();
	else
		altstack_site();
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

__attribute__((noinline)) static void
shared_site(int which_caller)
{
	keep(5 + which_caller, malloc(SITE_BYTES));
}

__attribute__((noinline)) static void
caller_a(void)
{
	volatile int	here = 0;

	shared_site(here);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

__attribute__((noinline)) static void
caller_b(void)
{
	volatile int	here = 1;

	shared_site(here);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

__attribute__((noinline)) static void *
thread_site(void *arg)
{
	keep(4, malloc(SITE_BYTES));
	return (arg);
}

int
main(void)
{
	struct sigaction	sa;
	stack_t			ss;
	pthread_t		tid;
	void			*h;
	int			i, j;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return (1);
	sa.sa_flags = SA_ONSTACK;
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return (1);
	ss.ss_sp = malloc(1 << 16);
	ss.ss_size = 1 << 16;
	ss.ss_flags = 0;
	if (ss.ss_sp == NULL || sigaltstack(&ss, NULL) != 0)
		return (1);

	for (round_ = 0; round_ < COUNT; round_++) {
		frame_site(16 + (size_t)round_ * 64);
		deep_site(DEEP);
		which = 2;
		raise(SIGUSR1);
		which = 3;
		raise(SIGUSR2);
		caller_a();
		caller_b();
		if (pthread_create(&tid, NULL, thread_site, NULL) != 0 ||
		    pthread_join(tid, NULL) != 0)
			return (1);
		if ((h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL)) == NULL ||
		    dlclose(h) != 0)
			return (1);
	}
	for (i = 0; i < 7; i++)
		for (j = 0; j < COUNT; j++)
			free(blocks[i][j]);
	ss.ss_flags = SS_DISABLE;
	if (sigaltstack(&ss, NULL) == 0)
		free(ss.ss_sp);
	printf("core-unwind: done\n");
	return (0);
}
