/*
 * core-usable.c: the usable size read inline from glibc's chunk header
 * must be what malloc_usable_size says, for every kind of block: small and
 * large, mmapped (above the mmap threshold), from calloc, realloc and the
 * aligned allocators, and from a thread's own arena (NON_MAIN_ARENA set).
 */

#include "config.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "tap.h"

struct result {
	long		checked;
	long		wrong;
	size_t		bad_size;
	size_t		bad_got;
	size_t		bad_want;
	long		mmapped;
	long		other_arena;
};

/* Compare one block and free it. */
static void
check(struct result *r, void *p, size_t asked)
{
	size_t	got, want, hdr;

	if (p == NULL)
		return;
	got = core_glibc_usable(p);
	want = malloc_usable_size(p);
	hdr = ((size_t *)p)[-1];
	if (hdr & 2)
		r->mmapped++;
	if (hdr & 4)
		r->other_arena++;
	r->checked++;
	if (got != want) {
		if (r->wrong++ == 0) {
			r->bad_size = asked;
			r->bad_got = got;
			r->bad_want = want;
		}
	}
	free(p);
}

/* Every kind of block, many sizes. */
static void *
run(void *arg)
{
	struct result	*r = arg;
	size_t		 n, a;
	void		*p, *q;

	for (n = 0; n < 70000; n += (n < 2048 ? 1 : 97))
		check(r, malloc(n), n);
	for (n = 100000; n < (size_t)64 << 20; n = n * 3 / 2 + 4093)
		check(r, malloc(n), n);
	for (n = 0; n < 5000; n += 7)
		check(r, calloc(1, n), n);
	for (n = 1; n < 100000; n = n * 2 + 1) {
		p = malloc(n);
		q = realloc(p, n * 3);
		check(r, q, n * 3);
	}
	for (a = 16; a <= 65536; a *= 2) {
		for (n = 1; n < 300000; n = n * 5 + 3) {
			check(r, memalign(a, n), n);
			check(r, aligned_alloc(a, (n + a - 1) / a * a), n);
			if (posix_memalign(&p, a, n) == 0)
				check(r, p, n);
		}
	}
	for (n = 1; n < 200000; n = n * 3 + 1) {
		check(r, valloc(n), n);
		check(r, pvalloc(n), n);
	}
	return (NULL);
}

/* Report one run. */
static void
report(const struct result *r, const char *where)
{
	if (!ok(r->wrong == 0, "%s: %ld blocks, inline size == "
	    "malloc_usable_size", where, r->checked))
		diag("%ld wrong, first: asked %zu, got %zu, want %zu",
		    r->wrong, r->bad_size, r->bad_got, r->bad_want);
}

int
main(void)
{
	struct result	 main_r, thread_r;
	pthread_t	 t;

	tap_plan(5);
	memset(&main_r, 0, sizeof main_r);
	memset(&thread_r, 0, sizeof thread_r);

	run(&main_r);
	report(&main_r, "main thread");
	ok(main_r.mmapped > 10, "mmapped chunks were among them (%ld)",
	    main_r.mmapped);

	pthread_create(&t, NULL, run, &thread_r);
	pthread_join(t, NULL);
	report(&thread_r, "another thread");
	ok(thread_r.other_arena > 100,
	    "chunks of a non-main arena were among them (%ld)",
	    thread_r.other_arena);

	core_glibc_malloc = 1;
	{
		/* Through a volatile, so the compiler sees no bounds. */
		void	*volatile v = malloc(1000);
		void	*p = v;

		ok(core_usable_size(p) == malloc_usable_size(p),
		    "core_usable_size takes the inline path");
		free(p);
	}
	return (tap_done());
}
