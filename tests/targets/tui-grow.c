/*
 * tui-grow.c: a target for the live view's tests, with allocations from
 * functions of known names.
 *
 *	tui-grow grow		grow by 256 KiB every 50 ms (tui_grow_step)
 *				until killed, printing a line a second, with
 *				a second thread allocating a little
 *				(tui_grow_thread)
 *	tui-grow spike		allocate 1 MiB blocks slowly (tui_slow_step),
 *				then after a second one 64 MiB block
 *				(tui_spike_alloc), then sleep until killed
 *	tui-grow exit N		allocate a little, then exit with status N
 *	tui-grow echo		copy stdin to stdout, then sleep until killed
 *
 * Every mode first prints "tui-grow: hello from the target" on stdout and
 * "tui-grow: a line on stderr" on stderr.
 */

#pragma GCC optimize("O0")

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GROW_STEP	(256 * 1024)
#define SLOW_STEP	(1024 * 1024)
#define SPIKE		(64 * 1024 * 1024)

static void	*held[100000];
static size_t	 nheld;

/* Sleep for ms milliseconds. */
static void
nap(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		/* interrupted: go on */;
}

/* Keep a block, touched so that it is resident too. */
static void
keep(void *p, size_t size)
{
	if (p == NULL) {
		fprintf(stderr, "tui-grow: out of memory\n");
		exit(1);
	}
	memset(p, 1, size);
	if (nheld < sizeof held / sizeof held[0])
		held[nheld++] = p;
}

/* One step of steady growth. */
static void
tui_grow_step(void)
{
	keep(malloc(GROW_STEP), GROW_STEP);
}

/* One step of slow growth before the spike. */
static void
tui_slow_step(void)
{
	keep(malloc(SLOW_STEP), SLOW_STEP);
}

/* The spike: one big block. */
static void
tui_spike_alloc(void)
{
	keep(malloc(SPIKE), SPIKE);
}

/* The second thread: a small block now and then, freed at once. */
static void *
tui_grow_thread(void *arg)
{
	void	*p;

	for (;;) {
		p = malloc(1000);
		nap(100);
		free(p);
	}
	return (arg);
}

int
main(int argc, char **argv)
{
	const char	*mode = argc > 1 ? argv[1] : "grow";
	char		 buf[4096];
	pthread_t	 thread;
	ssize_t		 n;
	int		 i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("tui-grow: hello from the target\n");
	fprintf(stderr, "tui-grow: a line on stderr\n");

	if (strcmp(mode, "grow") == 0) {
		pthread_create(&thread, NULL, tui_grow_thread, NULL);
		for (i = 0;; i++) {
			tui_grow_step();
			if (i % 20 == 0)
				printf("tui-grow: step %d\n", i);
			nap(50);
		}
	}
	if (strcmp(mode, "spike") == 0) {
		for (i = 0; i < 10; i++) {
			tui_slow_step();
			nap(100);
		}
		tui_spike_alloc();
		printf("tui-grow: after the spike\n");
		for (;;)
			nap(1000);
	}
	if (strcmp(mode, "exit") == 0) {
		tui_slow_step();
		nap(300);
		return (argc > 2 ? atoi(argv[2]) : 0);
	}
	if (strcmp(mode, "echo") == 0) {
		while ((n = read(0, buf, sizeof buf)) > 0) {
			if (write(1, buf, (size_t)n) != n)
				return (1);
		}
		printf("tui-grow: end of stdin\n");
		for (;;)
			nap(1000);
	}
	fprintf(stderr, "usage: tui-grow grow|spike|exit N|echo\n");
	return (2);
}
