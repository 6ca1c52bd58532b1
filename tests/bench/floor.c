/*
 * floor.c: the least an LD_PRELOAD malloc tracker can do, as a yardstick
 * for `make bench` (columns "forward" and "count").
 *
 * Built twice by `make bench`, never installed.  Only malloc and free are
 * interposed (calloc, realloc and the rest go straight to libc):
 *   floor-forward.so  malloc and free call the real ones, nothing else;
 *   floor-count.so    they also count the bytes and calls of each thread,
 *                     read from glibc's chunk header as memtop's hooks do
 *                     (thread-local counters, no sampling, no stacks).
 *
 * The gap between floor-count and memtop's default mode is what memtop's
 * sampling, peak and filter cost; the gap between floor-count and the
 * plain run is what any tracker that knows the bytes in use pays.
 */

#define _GNU_SOURCE

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

static void	*(*floor_malloc)(size_t);
static void	 (*floor_free)(void *);

#ifdef FLOOR_COUNT
struct floor_counts {
	uint64_t	alloc_bytes, alloc_count, free_bytes, free_count;
};
static __thread struct floor_counts floor_tls
    __attribute__((tls_model("initial-exec")));

/* Usable size of an in-use glibc chunk (flag bits 1, 2 and 4 dropped). */
static inline size_t
floor_usable(const void *p)
{
	size_t	sz = ((const size_t *)p)[-1];

	return ((sz & ~(size_t)7) - 8 - ((sz & 2) << 2));
}
#endif

__attribute__((constructor)) static void
floor_init(void)
{
	floor_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	floor_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
}

void *
malloc(size_t n)
{
	void	*p;

	if (floor_malloc == NULL)
		floor_init();
	p = floor_malloc(n);

#ifdef FLOOR_COUNT
	if (p != NULL) {
		floor_tls.alloc_bytes += floor_usable(p);
		floor_tls.alloc_count++;
	}
#endif
	return (p);
}

void
free(void *p)
{
#ifdef FLOOR_COUNT
	if (p != NULL) {
		floor_tls.free_bytes += floor_usable(p);
		floor_tls.free_count++;
	}
#endif
	if (floor_free == NULL)
		floor_init();
	floor_free(p);
}
