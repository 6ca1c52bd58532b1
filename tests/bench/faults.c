/*
 * faults.c: what a page fault costs on this machine, against mapping the
 * same pages with one madvise(MADV_POPULATE_WRITE), the trade core_ahead
 * (core/core.h) makes for the segment's sections.
 *
 *     faults [MIB]
 *
 * On a memfd of MIB MiB (4 by default) mapped shared, as the segment is:
 * the first write to each page (a fault that allocates it), the same
 * pages populated with one call, a write to pages that exist but are not
 * mapped in this mapping yet (a second mapping), and for comparison the
 * first write to each page of private anonymous memory.  Microseconds a
 * page.
 */

#include "config.h"

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

/* Write one byte to each page of [p, p + len); microseconds a page. */
static double
touch(volatile char *p, size_t len, size_t page)
{
	double	t = now();
	size_t	i;

	for (i = 0; i < len; i += page)
		p[i] = 1;
	return ((now() - t) * 1e6 / (double)(len / page));
}

int
main(int argc, char **argv)
{
	size_t	page = (size_t)sysconf(_SC_PAGESIZE), len;
	char	*a, *b, *anon;
	double	t;
	int	fd;

	len = (argc > 1 ? strtoul(argv[1], NULL, 10) : 4) << 20;
	if (len == 0 || (fd = memfd_create("faults", 0)) == -1 ||
	    ftruncate(fd, (off_t)(3 * len)) != 0) {
		perror("faults");
		return (1);
	}
	a = mmap(NULL, 3 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, 3 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	anon = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED || anon == MAP_FAILED) {
		perror("faults: mmap");
		return (1);
	}
	printf("memfd, first write to each page:  %6.2f us a page\n",
	    touch(a, len, page));
	t = now();
	if (madvise(a + len, len, MADV_POPULATE_WRITE) != 0)
		perror("faults: MADV_POPULATE_WRITE");
	printf("memfd, MADV_POPULATE_WRITE:       %6.2f us a page\n",
	    (now() - t) * 1e6 / (double)(len / page));
	printf("memfd, first write once populated: %5.2f us a page\n",
	    touch(a + len, len, page));
	printf("memfd, the second write:          %6.2f us a page\n",
	    touch(a + len, len, page));
	printf("memfd, pages mapped elsewhere:    %6.2f us a page\n",
	    touch(b, len, page));
	printf("anonymous, first write:           %6.2f us a page\n",
	    touch(anon, len, page));
	return (0);
}
