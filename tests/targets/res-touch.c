/*
 * res-touch.c: allocations whose pages are known to be in RAM or not, for
 * tests/resident-*.sh.
 *
 *	res-touch EXPECT.json READY GO [free]
 *
 * Four sites, each a function of its own:
 *   res_half   calloc of 64 MiB (a fresh mapping, so nothing is written
 *              by calloc); the program writes every page of its first
 *              32 MiB.  Transparent huge pages are turned off for it
 *              (MADV_NOHUGEPAGE), so that the second half stays untouched
 *              to the page.
 *   res_full   malloc of 16 MiB, written whole.
 *   res_none   malloc of 24 MiB, never written (malloc wrote its header,
 *              so the first page, or the first huge page, is in RAM).
 *   res_small  RES_NSMALL blocks of RES_SMALL bytes, each written whole.
 *   res_read   malloc of 32 MiB, every page read, none written: most
 *              kernels map their zero page (or huge zero page) there,
 *              which is not memory of the program's, and memtop counts it
 *              untouched; some give each page memory of its own, which is
 *              resident.  The count below cannot tell the zero page from
 *              another, so EXPECT gets its usable size and how much the
 *              process's RssAnon grew while it was read ("rss_growth").
 * Then it reads its own /proc/self/pagemap and writes, per site, its
 * usable bytes and how many of them lie on pages in RAM, in swap or on
 * no page at all (the same byte-overlap rule memtop uses, computed here
 * independently), creates READY, waits for GO to exist, and exits
 * without freeing anything (with "free": after freeing res_full's block).
 */

#pragma GCC optimize("O0")

#include <sys/mman.h>

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RES_HALF	(64 << 20)
#define RES_TOUCHED	(32 << 20)
#define RES_FULL	(16 << 20)
#define RES_NONE	(24 << 20)
#define RES_NSMALL	8192
#define RES_SMALL	1000
#define RES_READ	(32 << 20)

struct res_site {
	const char	*name;
	uint64_t	 usable;
	uint64_t	 resident;
	uint64_t	 swapped;
	uint64_t	 untouched;
};

static struct res_site	sites[] = {
	{ "res_half" }, { "res_full" }, { "res_none" }, { "res_small" }
};
static char	*half, *full, *none, *readonly, *small[RES_NSMALL];
static volatile char	 sink;
static int	 pagemap_fd = -1;
static long	 page;
static long long read_before, read_after;	/* RssAnon around res_read */

/* The process's RssAnon in bytes, from /proc/self/status; -1 if unknown. */
static long long
res_anon(void)
{
	char		 line[256];
	long long	 kb = -1;
	FILE		*f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "RssAnon: %lld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return (kb < 0 ? -1 : kb * 1024);
}

/* Calloc a large block and write its first half. */
static char *
res_half(void)
{
	char		*p;
	uintptr_t	 a, z;
	size_t		 off;

	p = calloc(1, RES_HALF);
	a = (uintptr_t)p & ~(uintptr_t)(page - 1);
	z = ((uintptr_t)p + RES_HALF + page - 1) & ~(uintptr_t)(page - 1);
	madvise((void *)a, z - a, MADV_NOHUGEPAGE);
	for (off = 0; off < RES_TOUCHED; off += (size_t)page)
		p[off] = 1;
	p[RES_TOUCHED - 1] = 1;
	return (p);
}

/* Malloc a block and write all of it. */
static char *
res_full(void)
{
	char	*p;

	p = malloc(RES_FULL);
	memset(p, 2, malloc_usable_size(p));
	return (p);
}

/* Malloc a block and never write it. */
static char *
res_none(void)
{
	return (malloc(RES_NONE));
}

/* Malloc a block and read every page of it. */
static char *
res_read(void)
{
	char	*p;
	size_t	 off;

	p = malloc(RES_READ);
	read_before = res_anon();
	for (off = 0; off < RES_READ; off += (size_t)page)
		sink = p[off];
	read_after = res_anon();
	return (p);
}

/* Malloc a small block and write all of it. */
static char *
res_small(void)
{
	char	*p;

	p = malloc(RES_SMALL);
	memset(p, 3, malloc_usable_size(p));
	return (p);
}

/* Add the bytes of [p, p + n) to a site, by the state of their pages. */
static void
res_account(struct res_site *s, const char *p, size_t n)
{
	uintptr_t	a = (uintptr_t)p, z = a + n, pg, next, bytes;
	uint64_t	e;

	s->usable += n;
	for (pg = a & ~(uintptr_t)(page - 1); pg < z; pg = next) {
		next = pg + (uintptr_t)page;
		bytes = (next < z ? next : z) - (pg > a ? pg : a);
		if (pread(pagemap_fd, &e, sizeof e,
		    (off_t)(pg / (uintptr_t)page * sizeof e)) != sizeof e) {
			perror("pread /proc/self/pagemap");
			exit(1);
		}
		if (e & (UINT64_C(1) << 63))
			s->resident += bytes;
		else if (e & (UINT64_C(1) << 62))
			s->swapped += bytes;
		else
			s->untouched += bytes;
	}
}

int
main(int argc, char **argv)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	char		 buf[4096];
	size_t		 i, len;
	int		 fd;

	if (argc != 4 && (argc != 5 || strcmp(argv[4], "free") != 0)) {
		fprintf(stderr, "usage: res-touch EXPECT.json READY GO [free]\n");
		return (2);
	}
	page = sysconf(_SC_PAGESIZE);
	half = res_half();
	full = res_full();
	none = res_none();
	readonly = res_read();
	for (i = 0; i < RES_NSMALL; i++)
		small[i] = res_small();

	if ((pagemap_fd = open("/proc/self/pagemap", O_RDONLY)) == -1) {
		perror("/proc/self/pagemap");
		return (1);
	}
	res_account(&sites[0], half, malloc_usable_size(half));
	res_account(&sites[1], full, malloc_usable_size(full));
	res_account(&sites[2], none, malloc_usable_size(none));
	for (i = 0; i < RES_NSMALL; i++)
		res_account(&sites[3], small[i], malloc_usable_size(small[i]));

	len = 0;
	len += (size_t)snprintf(buf + len, sizeof buf - len,
	    "{\"page\": %ld, \"touched\": %d, \"sites\": {", page, RES_TOUCHED);
	for (i = 0; i < sizeof sites / sizeof sites[0]; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len,
		    "%s\"%s\": {\"usable\": %llu, \"resident\": %llu, "
		    "\"swapped\": %llu, \"untouched\": %llu}", i ? ", " : "",
		    sites[i].name, (unsigned long long)sites[i].usable,
		    (unsigned long long)sites[i].resident,
		    (unsigned long long)sites[i].swapped,
		    (unsigned long long)sites[i].untouched);
	len += (size_t)snprintf(buf + len, sizeof buf - len,
	    ", \"res_read\": {\"usable\": %llu, \"rss_growth\": %lld}}}\n",
	    (unsigned long long)malloc_usable_size(readonly),
	    read_before < 0 || read_after < 0 ? -1LL :
	    (long long)(read_after - read_before));
	if ((fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) != 0) {
		perror(argv[1]);
		return (1);
	}
	if ((fd = open(argv[2], O_WRONLY | O_CREAT, 0644)) == -1) {
		perror(argv[2]);
		return (1);
	}
	close(fd);
	while (access(argv[3], F_OK) != 0)
		nanosleep(&ts, NULL);
	if (argc == 5)
		free(full);
	return (0);
}
