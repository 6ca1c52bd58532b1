/*
 * core-edge.c: the corner cases of the allocator API, for
 * tests/core-edge.sh.
 *
 *	core-edge EXPECT.json
 *
 * Each case runs in a function of its own, so that the report names it as
 * the innermost frame of its stack.  The program checks what it can see
 * itself (NULL returns, errno) and exits non-zero when something is off; it
 * writes what the report must say to EXPECT.json: per site, the usable
 * bytes live at exit, allocated in all and the number of allocations;
 * the bytes of anonymous private mappings it made and left; and what must
 * be allocated at exit, in all.  It prints nothing to stdout, so that stdio
 * keeps no buffer and that total is exact.
 */

/* The sites must stay what they are written as. */
#pragma GCC optimize("O0")

#define _GNU_SOURCE

#include <sys/mman.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct site {
	const char	*name;
	uint64_t	 live;
	uint64_t	 total;
	uint64_t	 count;
};

#define N_SITES	16
static struct site	sites[N_SITES];
static int		nsites;
static int		failed;
static void		*early_block;
static uint64_t		mapped_live;
static uint64_t		final_allocated;
static const char	*expect_path;

/* Record what a site allocated (live: still held at exit). */
static void
note(const char *name, void *p, int live)
{
	struct site	*s = NULL;
	size_t		 u = malloc_usable_size(p);
	int		 i;

	for (i = 0; i < nsites; i++) {
		if (strcmp(sites[i].name, name) == 0)
			s = &sites[i];
	}
	if (s == NULL) {
		s = &sites[nsites++];
		s->name = name;
	}
	s->total += u;
	s->count++;
	if (live) {
		s->live += u;
		final_allocated += u;
	}
}

/* Something the program can see went wrong. */
static void
fail(const char *what)
{
	fprintf(stderr, "core-edge: %s\n", what);
	failed = 1;
}

/* Before main: a constructor allocates (freed in main). */
__attribute__((constructor)) static void
edge_early(void)
{
	early_block = malloc(1111);
	note("edge_early", early_block, 0);
}

/* malloc(0) returns a block whose usable size counts. */
static __attribute__((noinline)) void
edge_zero(void)
{
	void	*p = malloc(0);

	if (p == NULL)
		fail("malloc(0) returned NULL");
	note("edge_zero", p, 1);
}

/* realloc(NULL, n) is malloc(n). */
static __attribute__((noinline)) void
edge_realloc_null(void)
{
	void	*p = realloc(NULL, 300);

	if (p == NULL)
		fail("realloc(NULL, 300) returned NULL");
	note("edge_realloc_null", p, 1);
}

/* realloc(p, 0) frees p (glibc) and returns NULL. */
static __attribute__((noinline)) void
edge_realloc_zero(void)
{
	void	*p = malloc(500), *q;

	note("edge_realloc_zero", p, 0);
	q = realloc(p, 0);
	if (q != NULL) {
		fail("realloc(p, 0) did not free");
		free(q);
	}
}

/* Failures: NULL and errno, nothing counted, no stack at all. */
static __attribute__((noinline)) void
edge_failures(void)
{
	void	*p;

	errno = 0;
	if ((p = calloc(SIZE_MAX / 2 + 1, 4)) != NULL || errno != ENOMEM)
		fail("calloc overflow did not fail with ENOMEM");
	errno = 0;
	if ((p = malloc(SIZE_MAX - 4096)) != NULL || errno != ENOMEM)
		fail("malloc(SIZE_MAX - 4096) did not fail with ENOMEM");
	errno = 0;
	if ((p = reallocarray(NULL, SIZE_MAX / 3, 7)) != NULL ||
	    errno != ENOMEM)
		fail("reallocarray overflow did not fail with ENOMEM");
	if (posix_memalign(&p, 3, 100) != EINVAL)
		fail("posix_memalign(3) did not fail with EINVAL");
	errno = 0;
	p = malloc(100);
	note("edge_failures", p, 0);
	if (realloc(p, SIZE_MAX - 4096) != NULL || errno != ENOMEM)
		fail("a huge realloc did not fail");
	free(p);	/* p is still valid: it counts once, then is freed */
	free(NULL);
}

/* A big malloc is mmapped by glibc inside: malloc bytes, not a mapping. */
static __attribute__((noinline)) void
edge_big(void)
{
	void	*p = malloc(8 << 20);

	if (p == NULL)
		fail("malloc(8 MiB) failed");
	note("edge_big", p, 0);
	memset(p, 1, 4096);
	free(p);
}

/* Only anonymous private mappings count. */
static __attribute__((noinline)) void
edge_map(void)
{
	long	page = sysconf(_SC_PAGESIZE);
	char	*a, *s, *f;
	int	 fd;

	a = mmap(NULL, 5 * (size_t)page, PROT_READ|PROT_WRITE,
	    MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	s = mmap(NULL, 3 * (size_t)page, PROT_READ|PROT_WRITE,
	    MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	fd = open("/proc/self/exe", O_RDONLY);
	f = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE, fd, 0);
	if (a == MAP_FAILED || s == MAP_FAILED || f == MAP_FAILED)
		fail("mmap failed");
	close(fd);
	munmap(s, 3 * (size_t)page);
	munmap(f, (size_t)page);
	/* An odd length counts in whole pages. */
	munmap(a + 4 * page, 1);
	a[0] = 1;
	mapped_live = 4 * (uint64_t)page;
	final_allocated += mapped_live;
}

/* An atexit handler allocates and keeps it. */
static __attribute__((noinline)) void
edge_atexit(void)
{
	void	*p = malloc(2222);

	note("edge_atexit", p, 1);
}

/* A destructor allocates and keeps it; the expectations are written here. */
__attribute__((destructor)) static void
edge_dtor(void)
{
	FILE	*f;
	void	*p = malloc(3333);
	int	 i;

	note("edge_dtor", p, 1);
	if (expect_path == NULL || (f = fopen(expect_path, "w")) == NULL)
		return;
	fprintf(f, "{\n  \"sites\": {\n");
	for (i = 0; i < nsites; i++)
		fprintf(f, "    \"%s\": {\"live\": %llu, \"total\": %llu, "
		    "\"count\": %llu}%s\n", sites[i].name,
		    (unsigned long long)sites[i].live,
		    (unsigned long long)sites[i].total,
		    (unsigned long long)sites[i].count,
		    i + 1 < nsites ? "," : "");
	fprintf(f, "  },\n  \"mapped_live\": %llu,\n  \"final\": %llu,\n"
	    "  \"failed\": %d\n}\n", (unsigned long long)mapped_live,
	    (unsigned long long)final_allocated, failed);
	fclose(f);
}

static volatile sig_atomic_t	ticks;
static volatile sig_atomic_t	in_malloc;	/* the loop is in malloc/free */

/*
 * A signal handler that allocates (outside POSIX; with memtop it must not
 * deadlock, even when it interrupts memtop's own work).  It maps and
 * unmaps a page at every tick, which memtop tracks wherever the signal
 * lands; it calls malloc only when the loop is not inside malloc or free
 * itself, since glibc's allocator interrupted halfway and entered again
 * corrupts its own lists (a crash of the program with or without memtop).
 */
static void
edge_handler(int sig)
{
	void	*volatile p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	if (!in_malloc) {
		p = malloc(64 + (size_t)(ticks % 200));
		free(p);
	}
	ticks++;
}

/* Allocate hard while a timer interrupts with an allocating handler. */
static __attribute__((noinline)) void
edge_signals(void)
{
	struct sigaction	sa;
	struct itimerval	it;
	void			*volatile p;
	long			 i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = edge_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof it);
	it.it_interval.tv_usec = 50;
	it.it_value.tv_usec = 50;
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 300000 || ticks < 100; i++) {
		in_malloc = 1;
		p = malloc((size_t)(i % 3000));
		free(p);
		in_malloc = 0;
		if (i % 1000 == 0) {
			p = mmap(NULL, 8192, PROT_READ|PROT_WRITE,
			    MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
			munmap(p, 8192);
		}
		if (i > 50000000)
			break;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: core-edge EXPECT.json\n");
		return (2);
	}
	expect_path = argv[1];
	free(early_block);
	edge_zero();
	edge_realloc_null();
	edge_realloc_zero();
	edge_failures();
	edge_big();
	edge_map();
	edge_signals();
	atexit(edge_atexit);
	return (failed);
}
