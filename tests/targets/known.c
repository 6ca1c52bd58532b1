/*
 * known.c: a target with known allocations, for the report tests.
 *
 *	known EXPECT.json [sleep READY]
 *
 * Each allocation site is a function of its own, and the call is on the
 * same line as the __LINE__ that names it, so the expected function and
 * line of every site are exact.  Bytes are usable sizes
 * (malloc_usable_size), as memtop counts them.  The program holds blocks
 * from several sites up to a known peak, frees some of them, keeps one
 * site's blocks to the end, and writes what a report must say to
 * EXPECT.json (with write(2): nothing allocated after the work is done).
 *
 * With "sleep READY" it then creates the file READY and sleeps until a
 * signal ends it (the signal tests).
 */

/* The expected lines hold only without optimisation, whatever CFLAGS say. */
#pragma GCC optimize("O0")

#include <sys/mman.h>

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_SMALL		100	/* blocks of SMALL bytes */
#define SMALL		1000
#define N_KEPT		20	/* calloc blocks kept to the end */
#define N_MANY		20000	/* blocks for the sampling statistics */
#define MANY		1000
#define BIG		(4 << 20)	/* one block, mmapped by malloc */
#define MAPPED		(1 << 20)	/* a direct anonymous mmap */

struct site {
	const char	*function;
	int		 line;
	uint64_t	 peak;		/* bytes live at the peak */
	uint64_t	 live;		/* bytes live at exit */
	uint64_t	 total;		/* bytes ever allocated */
	uint64_t	 count;		/* allocations */
	uint64_t	 size;		/* usable size of one block (if all equal) */
	int		 caller_line;	/* the line in main that calls the site */
};

static struct site	site_small = { "known_small" };
static struct site	site_kept = { "known_kept" };
static struct site	site_many = { "known_many" };
static struct site	site_big = { "known_big" };
static struct site	site_realloc = { "known_realloc" };
static struct site	site_mapped = { "known_mapped" };

static void	*small[N_SMALL];
static void	*kept[N_KEPT];
static void	*many[N_MANY];

/* Count one block of usable size u at a site, live at the peak. */
static void
count(struct site *s, uint64_t u)
{
	s->peak += u;
	s->total += u;
	s->count++;
	s->size = u;
}

__attribute__((noinline)) static void
known_small(void)
{
	int	i;

	for (i = 0; i < N_SMALL; i++) {
		small[i] = malloc(SMALL); site_small.line = __LINE__;
		count(&site_small, malloc_usable_size(small[i]));
	}
}

__attribute__((noinline)) static void
known_kept(void)
{
	int	i;

	for (i = 0; i < N_KEPT; i++) {
		kept[i] = calloc(50, 100); site_kept.line = __LINE__;
		count(&site_kept, malloc_usable_size(kept[i]));
		site_kept.live += malloc_usable_size(kept[i]);
	}
}

__attribute__((noinline)) static void
known_many(void)
{
	int	i;

	for (i = 0; i < N_MANY; i++) {
		many[i] = malloc(MANY); site_many.line = __LINE__;
		count(&site_many, malloc_usable_size(many[i]));
	}
}

__attribute__((noinline)) static void *
known_big(void)
{
	void	*p;

	p = malloc(BIG); site_big.line = __LINE__;
	memset(p, 1, BIG / 2);	/* half of it resident */
	count(&site_big, malloc_usable_size(p));
	return (p);
}

/* A realloc chain at one line: each step frees the last block. */
__attribute__((noinline)) static void *
known_realloc(void)
{
	static const size_t	 sizes[] = { 100, 5000, 200000 };
	void			*p = NULL;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		p = realloc(p, sizes[i]); site_realloc.line = __LINE__;
		site_realloc.total += malloc_usable_size(p);
		site_realloc.count++;
	}
	site_realloc.peak = malloc_usable_size(p);
	return (p);
}

__attribute__((noinline)) static void *
known_mapped(void)
{
	void	*p;

	p = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); site_mapped.line = __LINE__;
	if (p == MAP_FAILED)
		abort();
	count(&site_mapped, MAPPED);
	return (p);
}

/* Append a site's expectations to buf. */
static size_t
put_site(char *buf, size_t len, size_t off, const struct site *s,
    const char *sep)
{
	off += (size_t)snprintf(buf + off, len - off,
	    "\"%s\": {\"function\": \"%s\", \"line\": %d, \"peak\": %llu, "
	    "\"live\": %llu, \"total\": %llu, \"count\": %llu, "
	    "\"size\": %llu, \"caller_line\": %d}%s\n", s->function,
	    s->function, s->line,
	    (unsigned long long)s->peak, (unsigned long long)s->live,
	    (unsigned long long)s->total, (unsigned long long)s->count,
	    (unsigned long long)s->size, s->caller_line, sep);
	return (off);
}

int
main(int argc, char **argv)
{
	static char	 buf[8192];
	void		*big, *re, *mapped;
	uint64_t	 held, kept_live;
	size_t		 off = 0;
	int		 i, fd;

	/* Let stdio allocate its buffer now, before the counting starts. */
	printf("known: start\n");
	fflush(stdout);

	/*
	 * Each call stands on a line of its own, and the caller's line is set
	 * before it: after a call of a void function comes the next line's
	 * code, so only a frame looked up inside the call (return address - 1)
	 * gives the caller's line right.
	 */
	site_kept.caller_line = __LINE__ + 2;
	site_small.caller_line = __LINE__ + 2;
	known_kept();
	known_small();
	site_many.caller_line = __LINE__ + 1;
	known_many();
	site_realloc.caller_line = __LINE__ + 1;
	re = known_realloc();
	site_big.caller_line = __LINE__ + 1;
	big = known_big();
	site_mapped.caller_line = __LINE__ + 1;
	mapped = known_mapped();

	/* The peak is here: everything above is live. */
	held = site_small.peak + site_kept.peak + site_many.peak +
	    site_big.peak + site_realloc.peak + site_mapped.peak;

	for (i = 0; i < N_SMALL; i++)
		free(small[i]);
	for (i = 0; i < N_MANY; i++)
		free(many[i]);
	free(big);
	free(re);
	munmap(mapped, MAPPED);
	kept_live = site_kept.live;

	off += (size_t)snprintf(buf + off, sizeof buf - off,
	    "{\"held_at_peak\": %llu, \"live_at_exit\": %llu, \"sites\": {\n",
	    (unsigned long long)held, (unsigned long long)kept_live);
	off = put_site(buf, sizeof buf, off, &site_small, ",");
	off = put_site(buf, sizeof buf, off, &site_kept, ",");
	off = put_site(buf, sizeof buf, off, &site_many, ",");
	off = put_site(buf, sizeof buf, off, &site_big, ",");
	off = put_site(buf, sizeof buf, off, &site_realloc, ",");
	off = put_site(buf, sizeof buf, off, &site_mapped, "");
	off += (size_t)snprintf(buf + off, sizeof buf - off, "}}\n");
	if (argc > 1 && strcmp(argv[1], "-") != 0) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1 || write(fd, buf, off) != (ssize_t)off)
			return (1);
		close(fd);
	}

	if (argc > 3 && strcmp(argv[2], "sleep") == 0) {
		fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != -1)
			close(fd);
		for (i = 0; i < 60; i++)
			sleep(1);
		return (2);
	}
	return (0);
}
