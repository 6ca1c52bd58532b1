/*
 * demo.c: the program the README runs under memtop.
 *
 * For about five seconds it grows a table (one big block, reallocated
 * larger every tenth of a second), fills a cache with many small entries,
 * and keeps a log of lines; halfway through it makes a spike (a 64 MiB
 * scratch buffer, half of it written, held for a second); at the end it
 * frees the cache and the table and leaves the log.  memtop's report then
 * shows the spike's stack at the peak, and the log as what is left.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEPS		50		/* tenths of a second */
#define SPIKE_AT	25
#define SPIKE_FOR	10
#define SPIKE_BYTES	(64 << 20)

struct entry {
	struct entry	*next;
	char		 key[32];
	char		*value;
};

static char		*table;
static size_t		 table_size;
static struct entry	*cache;
static char		**log_lines;
static size_t		 nlog;

/* Sleep a tenth of a second. */
static void
tick(void)
{
	struct timespec	ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Grow the table by one MiB. */
__attribute__((noinline, noclone)) static void
grow_table(void)
{
	char	*p;

	p = realloc(table, table_size + (1 << 20));
	if (p == NULL)
		abort();
	memset(p + table_size, 0, 1 << 20);
	table = p;
	table_size += 1 << 20;
}

/* Add n entries with values of a few hundred bytes to the cache. */
__attribute__((noinline, noclone)) static void
cache_insert(int n)
{
	struct entry	*e;
	int		 i;

	for (i = 0; i < n; i++) {
		e = malloc(sizeof *e);
		if (e == NULL)
			abort();
		snprintf(e->key, sizeof e->key, "key-%d", rand());
		e->value = malloc(200 + (size_t)(rand() % 400));
		if (e->value == NULL)
			abort();
		e->next = cache;
		cache = e;
	}
}

/* Drop the whole cache. */
__attribute__((noinline, noclone)) static void
cache_clear(void)
{
	struct entry	*e;

	while ((e = cache) != NULL) {
		cache = e->next;
		free(e->value);
		free(e);
	}
}

/* Keep one line of log. */
__attribute__((noinline, noclone)) static void
log_line(int step)
{
	char	buf[128];

	log_lines = realloc(log_lines, (nlog + 1) * sizeof *log_lines);
	if (log_lines == NULL)
		abort();
	snprintf(buf, sizeof buf, "step %d: table %zu bytes", step, table_size);
	log_lines[nlog++] = strdup(buf);
}

/* A short-lived scratch buffer, half written. */
__attribute__((noinline, noclone)) static char *
make_spike(void)
{
	char	*p;

	p = malloc(SPIKE_BYTES);
	if (p == NULL)
		abort();
	memset(p, 1, SPIKE_BYTES / 2);
	return (p);
}

int
main(void)
{
	char	*spike = NULL;
	int	 step;

	for (step = 0; step < STEPS; step++) {
		grow_table();
		cache_insert(2000);
		log_line(step);
		if (step == SPIKE_AT)
			spike = make_spike();
		if (step == SPIKE_AT + SPIKE_FOR) {
			free(spike);
			spike = NULL;
		}
		tick();
	}
	cache_clear();
	free(table);
	printf("demo: done, %zu log lines kept\n", nlog);
	return (0);
}
