/*
 * res-swap.c: a heap larger than its memory cgroup allows, so that part of
 * it is in swap, for tests/swap-cgroup.sh.
 *
 *	res-swap EXPECT.json READY GO
 *
 * Two sites, each a function of its own, written whole:
 *   swap_big    one block of SWAP_BIG bytes
 *   swap_small  SWAP_NSMALL blocks of SWAP_SMALL bytes
 * Then it reads every page of the first half of swap_big again, so that
 * those pages come back (some of the rest go out to make room: the two
 * halves of one stack end differently).  It then counts, from its own
 * /proc/self/pagemap, the bytes of each site on pages in RAM, in swap and
 * on no page, and reads its own VmSwap.  The kernel goes on reclaiming
 * for a while after the last touch, so it counts again every quarter of a
 * second until two counts agree (for at most RES_SETTLE_TRIES counts),
 * writes the last one to EXPECT (with "settled": false if they never
 * agreed), creates READY, waits for GO and exits without freeing.
 */

#pragma GCC optimize("O0")

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SWAP_BIG	(160 << 20)
#define SWAP_NSMALL	10240
#define SWAP_SMALL	4000
#define RES_SETTLE_TRIES 120

struct swap_site {
	const char	*name;
	uint64_t	 usable;
	uint64_t	 resident;
	uint64_t	 swapped;
	uint64_t	 untouched;
};

static struct swap_site	sites[] = { { "swap_big" }, { "swap_small" } };
static char		*big, *small[SWAP_NSMALL];
static int		 pagemap_fd = -1;
static long		 page;
static volatile char	 sink;

/* One large block, written whole. */
static char *
swap_big(void)
{
	char	*p;

	p = malloc(SWAP_BIG);
	memset(p, 1, malloc_usable_size(p));
	return (p);
}

/* One small block, written whole. */
static char *
swap_small(void)
{
	char	*p;

	p = malloc(SWAP_SMALL);
	memset(p, 2, malloc_usable_size(p));
	return (p);
}

/* Add the bytes of [p, p + n) to a site, by the state of their pages. */
static void
swap_account(struct swap_site *s, const char *p, size_t n)
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

/* VmSwap from /proc/self/status, bytes; read(2) only, nothing allocated. */
static uint64_t
swap_vmswap(void)
{
	static char	 buf[8192];
	char		*s;
	ssize_t		 n;
	int		 fd;

	if ((fd = open("/proc/self/status", O_RDONLY)) == -1)
		return (0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	if ((s = strstr(buf, "VmSwap:")) == NULL)
		return (0);
	return (strtoull(s + 7, NULL, 10) * 1024);
}

int
main(int argc, char **argv)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	struct timespec	 settle = { 0, 250 * 1000 * 1000 };
	struct swap_site last[sizeof sites / sizeof sites[0]];
	char		 buf[4096];
	size_t		 i, len, off, usable, tries;
	uint64_t	 vmswap, last_vmswap;
	int		 fd;

	if (argc != 4) {
		fprintf(stderr, "usage: res-swap EXPECT.json READY GO\n");
		return (2);
	}
	page = sysconf(_SC_PAGESIZE);
	big = swap_big();
	for (i = 0; i < SWAP_NSMALL; i++)
		small[i] = swap_small();
	usable = malloc_usable_size(big);
	for (off = 0; off < usable / 2; off += (size_t)page)
		sink = big[off];

	if ((pagemap_fd = open("/proc/self/pagemap", O_RDONLY)) == -1) {
		perror("/proc/self/pagemap");
		return (1);
	}
	vmswap = 0;
	for (tries = 0; tries < RES_SETTLE_TRIES; tries++) {
		memcpy(last, sites, sizeof last);
		last_vmswap = vmswap;
		for (i = 0; i < sizeof sites / sizeof sites[0]; i++)
			sites[i].usable = sites[i].resident = sites[i].swapped =
			    sites[i].untouched = 0;
		swap_account(&sites[0], big, usable);
		for (i = 0; i < SWAP_NSMALL; i++)
			swap_account(&sites[1], small[i],
			    malloc_usable_size(small[i]));
		vmswap = swap_vmswap();
		if (tries > 0 && vmswap == last_vmswap &&
		    memcmp(last, sites, sizeof last) == 0)
			break;
		nanosleep(&settle, NULL);
	}

	len = (size_t)snprintf(buf, sizeof buf, "{\"vm_swap\": %llu, "
	    "\"settled\": %s, \"counts\": %zu, \"sites\": {",
	    (unsigned long long)vmswap,
	    tries < RES_SETTLE_TRIES ? "true" : "false", tries + 1);
	for (i = 0; i < sizeof sites / sizeof sites[0]; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len,
		    "%s\"%s\": {\"usable\": %llu, \"resident\": %llu, "
		    "\"swapped\": %llu, \"untouched\": %llu}", i ? ", " : "",
		    sites[i].name, (unsigned long long)sites[i].usable,
		    (unsigned long long)sites[i].resident,
		    (unsigned long long)sites[i].swapped,
		    (unsigned long long)sites[i].untouched);
	len += (size_t)snprintf(buf + len, sizeof buf - len, "}}\n");
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
	return (0);
}
