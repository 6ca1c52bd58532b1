/*
 * torture.c: everything at once, for tests/core-torture.sh.
 *
 *	torture [-t THREADS] [-w WAVES] [-n OPS]
 *
 * Waves of threads allocate and free concurrently with every function of
 * the malloc family (realloc chains, aligned allocations, zero sizes,
 * realloc(p, 0)), threads start and exit while others allocate, one thread
 * per wave forks (the child allocates and exits), and one maps anonymous
 * memory and cuts it up: partial munmap (head, tail, middle), mremap grow,
 * shrink and move.  Everything the program allocates or maps it frees or
 * unmaps before it exits, so memtop must find nothing left of it.
 *
 * Before the waves, the main thread and one other start at the same moment
 * (the other spins until told): in a tracker that lets a process with one
 * busy thread skip its locks, the second thread's first allocation lands
 * in the middle of the first one's.
 *
 * It prints one line of totals:
 *	torture: ok calls N allocs A bytes B forks F
 * where A is the number of blocks the malloc family returned to it and B
 * the sum of their usable sizes (its own ledger: what memtop must count
 * for the stacks whose innermost frame is in torture_heap).
 * It exits non-zero if anything misbehaved (a NULL it did not expect, a
 * mismatch in its own bookkeeping, a child that failed).
 */

/* The checks rely on the calls happening as written. */
#pragma GCC optimize("O0")

#define _GNU_SOURCE

#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS	256

static long		torture_ops = 20000;
static uint64_t		torture_calls;
static uint64_t		torture_allocs;
static uint64_t		torture_bytes;
static uint64_t		torture_forks;
static int		torture_failed;
static pthread_mutex_t	torture_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	int		 id;
	int		 role;		/* 0 heap, 1 maps, 2 fork */
	uint64_t	 seed;
	uint64_t	 calls;
	uint64_t	 allocs;
	uint64_t	 bytes;
	int		 failed;
};

/* Next random number of a worker. */
static uint64_t
torture_random(struct worker *w)
{
	w->seed ^= w->seed << 13;
	w->seed ^= w->seed >> 7;
	w->seed ^= w->seed << 17;
	return (w->seed);
}

/* Note a block the worker got, in its ledger. */
static void *
torture_got(struct worker *w, void *p, size_t asked)
{
	w->calls++;
	if (p == NULL) {
		if (asked != 0)
			w->failed = 1;
		return (NULL);
	}
	w->allocs++;
	w->bytes += malloc_usable_size(p);
	memset(p, 0x5a, asked);
	return (p);
}

/* A heap worker: every allocator, at random, then everything freed. */
static void
torture_heap(struct worker *w)
{
	void		*slot[SLOTS], *p;
	size_t		 n, a;
	long		 i;
	int		 k, j;

	memset(slot, 0, sizeof slot);
	for (i = 0; i < torture_ops; i++) {
		uint64_t r = torture_random(w);

		k = (int)(r % SLOTS);
		n = (size_t)((r >> 16) % 600);
		if ((r >> 40) % 50 == 0)
			n = (size_t)((r >> 20) % 300000);
		a = (size_t)16 << ((r >> 50) % 9);
		if (slot[k] != NULL && (r >> 8) % 3 != 0) {
			free(slot[k]);
			w->calls++;
			slot[k] = NULL;
			continue;
		}
		switch ((r >> 32) % 10) {
		case 0:
			p = torture_got(w, calloc(1 + n % 7, n / 7 + 1),
			    (1 + n % 7) * (n / 7 + 1));
			break;
		case 1:
			if (posix_memalign(&p, a, n) != 0)
				p = NULL, w->failed = 1;
			p = torture_got(w, p, n);
			break;
		case 2:
			p = torture_got(w, aligned_alloc(a, (n + a - 1) / a * a),
			    (n + a - 1) / a * a);
			break;
		case 3:
			p = torture_got(w, memalign(a, n), n);
			break;
		case 4:
			p = torture_got(w, (r & 1) ? valloc(n) : pvalloc(n), n);
			break;
		case 5:
			/* A realloc chain: grow, shrink, move. */
			p = torture_got(w, malloc(8), 8);
			for (j = 1; j < 12; j++)
				p = torture_got(w, realloc(p, (size_t)j * j * 97),
				    (size_t)j * j * 97);
			p = torture_got(w, reallocarray(p, 3, 40), 120);
			break;
		case 6:
			/* realloc(NULL, n) is malloc; realloc(p, 0) is free. */
			p = torture_got(w, realloc(NULL, n + 1), n + 1);
			if ((r >> 12) % 4 == 0) {
				p = realloc(p, 0);
				w->calls++;
				if (p != NULL)
					w->failed = 1;
			}
			break;
		case 7:
			p = torture_got(w, malloc(0), 0);
			break;
		default:
			p = torture_got(w, malloc(n), n);
			break;
		}
		if (slot[k] != NULL) {
			free(slot[k]);
			w->calls++;
		}
		slot[k] = p;
	}
	for (k = 0; k < SLOTS; k++) {
		free(slot[k]);
		w->calls++;
	}
	free(NULL);
}

/* A mapping worker: anonymous mappings cut up, moved, then unmapped. */
static void
torture_maps(struct worker *w)
{
	long	 page = sysconf(_SC_PAGESIZE), i;
	char	*p, *q, *hole;
	size_t	 len;

	for (i = 0; i < torture_ops / 100; i++) {
		len = (size_t)(8 + torture_random(w) % 56) * (size_t)page;
		p = mmap(NULL, len, PROT_READ|PROT_WRITE,
		    MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			w->failed = 1;
			return;
		}
		w->calls++;
		memset(p, 1, len);
		/* Cut the head, the tail and a hole in the middle. */
		munmap(p, (size_t)page);
		munmap(p + len - (size_t)page, (size_t)page);
		munmap(p + 3 * page, (size_t)page);
		/* Grow the last piece, moving it if need be. */
		q = mremap(p + 4 * page, len - 5 * (size_t)page,
		    len + 16 * (size_t)page, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) {
			w->failed = 1;
			return;
		}
		memset(q, 2, len + 16 * (size_t)page);
		/* Shrink it in place. */
		if (mremap(q, len + 16 * (size_t)page, 2 * (size_t)page, 0) !=
		    q)
			w->failed = 1;
		/* Move it onto a hole reserved for it. */
		hole = mmap(NULL, 4 * (size_t)page, PROT_NONE,
		    MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
		if (hole == MAP_FAILED ||
		    mremap(q, 2 * (size_t)page, 2 * (size_t)page,
		    MREMAP_MAYMOVE|MREMAP_FIXED, hole) != hole) {
			w->failed = 1;
			return;
		}
		munmap(hole, 4 * (size_t)page);
		munmap(p + page, 2 * (size_t)page);
		w->calls += 9;
	}
	/* A file mapping and a shared one are not the program's heap. */
	p = mmap(NULL, (size_t)page, PROT_READ|PROT_WRITE,
	    MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, (size_t)page);
}

/* A forking worker: the child allocates, frees and exits. */
static void
torture_fork(struct worker *w)
{
	pid_t	 pid;
	int	 status, i;
	void	*p;

	torture_heap(w);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 1000; i++) {
			p = malloc((size_t)i * 13);
			free(p);
		}
		p = malloc(1 << 20);	/* left behind: not the parent's */
		_exit(p == NULL);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		w->failed = 1;
	pthread_mutex_lock(&torture_lock);
	torture_forks++;
	pthread_mutex_unlock(&torture_lock);
}

/* A thread of a wave. */
static void *
torture_thread(void *arg)
{
	struct worker	*w = arg;

	switch (w->role) {
	case 1:
		torture_maps(w);
		break;
	case 2:
		torture_fork(w);
		break;
	default:
		torture_heap(w);
		break;
	}
	pthread_mutex_lock(&torture_lock);
	torture_calls += w->calls;
	torture_allocs += w->allocs;
	torture_bytes += w->bytes;
	if (w->failed)
		torture_failed = 1;
	pthread_mutex_unlock(&torture_lock);
	return (NULL);
}

static int	torture_go;

/* The second thread of the start: wait for the word, then allocate. */
static void *
torture_racer(void *arg)
{
	while (!__atomic_load_n(&torture_go, __ATOMIC_ACQUIRE))
		;
	return (torture_thread(arg));
}

int
main(int argc, char **argv)
{
	struct worker	 race[2];
	pthread_t	 racer;
	struct worker	*w;
	pthread_t	*tid;
	int		 threads = 8, waves = 3, c, i, k;

	while ((c = getopt(argc, argv, "t:w:n:")) != -1) {
		switch (c) {
		case 't':
			threads = atoi(optarg);
			break;
		case 'w':
			waves = atoi(optarg);
			break;
		case 'n':
			torture_ops = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: torture [-t threads] "
			    "[-w waves] [-n ops]\n");
			return (2);
		}
	}
	if (threads < 3 || waves < 1 || torture_ops < 100)
		return (2);
	w = calloc((size_t)threads * (size_t)waves, sizeof *w);
	tid = calloc((size_t)threads * (size_t)waves, sizeof *tid);
	if (w == NULL || tid == NULL)
		return (1);

	memset(race, 0, sizeof race);
	for (i = 0; i < 2; i++) {
		race[i].id = threads * waves + i;
		race[i].seed = (uint64_t)race[i].id * 2654435761u + 1;
	}
	if (pthread_create(&racer, NULL, torture_racer, &race[1]) != 0)
		return (1);
	__atomic_store_n(&torture_go, 1, __ATOMIC_RELEASE);
	torture_thread(&race[0]);
	pthread_join(racer, NULL);

	/*
	 * Waves overlap: the next wave starts before the last one is
	 * joined, so threads start and exit while others allocate.
	 */
	for (k = 0; k < waves; k++) {
		for (i = 0; i < threads; i++) {
			struct worker *x = &w[k * threads + i];

			x->id = k * threads + i;
			x->role = i == 0 ? 1 : (i == 1 ? 2 : 0);
			x->seed = (uint64_t)x->id * 2654435761u + 1;
			if (pthread_create(&tid[k * threads + i], NULL,
			    torture_thread, x) != 0)
				return (1);
		}
		if (k > 0) {
			for (i = 0; i < threads; i++)
				pthread_join(tid[(k - 1) * threads + i], NULL);
		}
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[(waves - 1) * threads + i], NULL);
	free(tid);
	free(w);

	printf("torture: %s calls %llu allocs %llu bytes %llu forks %llu\n",
	    torture_failed ? "FAILED" : "ok",
	    (unsigned long long)torture_calls,
	    (unsigned long long)torture_allocs,
	    (unsigned long long)torture_bytes,
	    (unsigned long long)torture_forks);
	return (torture_failed);
}
