/*
 * maps.c: the anonymous private mappings the program made itself, so that
 * munmap and mremap subtract exactly what was counted.
 *
 * The set is a sorted array of disjoint page ranges in private memory
 * (never malloc), under a lock that the hooks hold across the mmap, munmap
 * or mremap system call itself: otherwise another thread could be given a
 * range between the kernel freeing it and the set forgetting it.  Mapping
 * calls are system calls anyway, serialised by the kernel's own lock.
 *
 * Any successful mapping call first takes whatever tracked range it
 * replaces out of the set (MAP_FIXED over a tracked range, or a range the
 * program unmapped behind our back); a tracked mmap then adds its range.
 * munmap removes the overlap, whole ranges or parts of them.  mremap of a
 * tracked range counts as unmapping the old range and mapping the new one,
 * which keeps the counters exact (map_bytes - unmap_bytes is the tracked
 * size) and samples the new size like realloc does.
 *
 * A sampled mapping keeps, in its range, what its stack was charged; a
 * partial unmap takes off a share proportional to the bytes removed, and
 * the last piece takes off all that is left, so the stack returns exactly
 * to zero.  Its live entry (keyed by the piece's start) follows each piece.
 */

#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static struct maps_range	*maps_v;
static size_t			 maps_n;
static size_t			 maps_cap;
static uint64_t			 maps_bytes;
static uint32_t			 maps_lock_word;

/* Start over with an empty set (at attach). */
void
maps_init(void)
{
	maps_n = 0;
	maps_bytes = 0;
	maps_lock_word = 0;
}

/* Take the set's lock. */
void
maps_lock(void)
{
	core_lock(&maps_lock_word);
}

/* Release the set's lock. */
void
maps_unlock(void)
{
	core_unlock(&maps_lock_word);
}

/* Number of tracked ranges (for tests). */
size_t
maps_count(void)
{
	return (maps_n);
}

/* Tracked range i, in address order (for tests). */
const struct maps_range *
maps_get(size_t i)
{
	return (i < maps_n ? &maps_v[i] : NULL);
}

/* Total tracked bytes (for tests). */
uint64_t
maps_tracked_bytes(void)
{
	return (maps_bytes);
}

/* Make room for one more range; 0 on success. */
static int
maps_reserve(void)
{
	struct maps_range	*v;
	size_t			 ncap;

	if (maps_n < maps_cap)
		return (0);
	ncap = maps_cap == 0 ? 256 : maps_cap * 2;
	if ((v = core_private_map(ncap * sizeof *v)) == NULL)
		return (-1);
	if (maps_v != NULL) {
		memcpy(v, maps_v, maps_n * sizeof *v);
		core_private_unmap(maps_v, maps_cap * sizeof *v);
	}
	maps_v = v;
	maps_cap = ncap;
	return (0);
}

/* Index of the first range that ends after addr. */
static size_t
maps_find(uint64_t addr)
{
	size_t	lo = 0, hi = maps_n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (maps_v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Insert range r at index i (room reserved). */
static void
maps_insert_at(size_t i, const struct maps_range *r)
{
	memmove(&maps_v[i + 1], &maps_v[i], (maps_n - i) * sizeof *maps_v);
	maps_v[i] = *r;
	maps_n++;
}

/* Remove the range at index i. */
static void
maps_delete_at(size_t i)
{
	memmove(&maps_v[i], &maps_v[i + 1], (maps_n - i - 1) * sizeof *maps_v);
	maps_n--;
}

/* Keep a sampled piece in the live table, keyed by its start. */
static void
maps_live_put(const struct maps_range *r)
{
	if (r->sampled)
		live_insert(r->start, r->end - r->start, r->s.stack,
		    MEMTOP_LIVE_MMAP);
}

/* Take a sampled piece out of the live table. */
static void
maps_live_drop(const struct maps_range *r)
{
	struct live_item	e;

	if (r->sampled)
		live_remove(r->start, &e);
}

/*
 * What a sampled piece of len bytes gives back when cut bytes of it go:
 * all that is left for the last bytes, else a share in proportion.  The
 * count goes with the last bytes.
 */
static void
maps_share(struct maps_range *r, uint64_t cut, struct engine_sample *out)
{
	uint64_t	len = r->end - r->start;
	int64_t		b;

	out->stack = r->s.stack;
	out->weight = r->s.weight;
	if (cut >= len) {
		out->est_bytes = r->s.est_bytes;
		out->est_count = r->s.est_count;
	} else {
		b = llround((double)cut * r->s.weight);
		if (b > r->s.est_bytes)
			b = r->s.est_bytes;
		if (b < 0)
			b = 0;
		out->est_bytes = b;
		out->est_count = 0;
	}
	r->s.est_bytes -= out->est_bytes;
	r->s.est_count -= out->est_count;
}

/*
 * Take [a, b) out of the set, counting each removed part as unmapped.
 * Returns the bytes removed.  Called with the lock held.
 */
static uint64_t
maps_remove(uint64_t a, uint64_t b)
{
	struct maps_range	*r, right;
	struct engine_sample	 piece;
	uint64_t		 lo, hi, removed = 0;
	size_t			 i;
	int			 counted = 0, sampled;

	i = maps_find(a);
	while (i < maps_n && maps_v[i].start < b) {
		r = &maps_v[i];
		lo = r->start > a ? r->start : a;
		hi = r->end < b ? r->end : b;
		sampled = r->sampled;
		memset(&piece, 0, sizeof piece);
		maps_live_drop(r);

		if (lo > r->start && hi < r->end) {
			/* A hole in the middle: split in two. */
			if (maps_reserve() != 0) {
				core_disable("no memory for the mapping set");
				return (removed);
			}
			r = &maps_v[i];
			right = *r;
			right.start = hi;
			if (r->sampled) {
				maps_share(r, hi - lo, &piece);
				right.s.est_bytes = llround(
				    (double)(right.end - right.start) *
				    r->s.weight);
				if (right.s.est_bytes > r->s.est_bytes)
					right.s.est_bytes = r->s.est_bytes;
				r->s.est_bytes -= right.s.est_bytes;
				right.s.est_count = 0;
			}
			r->end = lo;
			maps_insert_at(i + 1, &right);
			r = &maps_v[i];
			maps_live_put(r);
			maps_live_put(&maps_v[i + 1]);
			i += 2;
		} else {
			if (r->sampled)
				maps_share(r, hi - lo, &piece);
			if (lo == r->start && hi == r->end) {
				maps_delete_at(i);
			} else {
				if (lo == r->start)
					r->start = hi;
				else
					r->end = lo;
				maps_live_put(r);
				i++;
			}
		}
		engine_map_sub((void *)(uintptr_t)lo, hi - lo, !counted,
		    sampled ? &piece : NULL);
		counted = 1;
		removed += hi - lo;
		maps_bytes -= hi - lo;
	}
	return (removed);
}

/* Add [a, b) as a tracked mapping made now.  Lock held, range free. */
static void
maps_add(uint64_t a, uint64_t b)
{
	struct maps_range	r;

	if (maps_reserve() != 0) {
		core_disable("no memory for the mapping set");
		return;
	}
	memset(&r, 0, sizeof r);
	r.start = a;
	r.end = b;
	r.sampled = engine_map_add((void *)(uintptr_t)a, b - a, &r.s) != 0;
	maps_insert_at(maps_find(a), &r);
	maps_bytes += b - a;
	maps_live_put(&r);
}

/*
 * A mapping call put something at [p, p + len) (len in whole pages): forget
 * tracked ranges it replaced, and track it when track is set (anonymous and
 * private, made by the program).  Lock held.
 */
void
maps_on_map(void *p, size_t len, int track)
{
	uint64_t	a = (uint64_t)(uintptr_t)p;

	if (len == 0)
		return;
	maps_remove(a, a + len);
	if (track && core_active)
		maps_add(a, a + len);
}

/* munmap took [p, p + len) away (len in whole pages).  Lock held. */
void
maps_on_unmap(void *p, size_t len)
{
	uint64_t	a = (uint64_t)(uintptr_t)p;

	if (len != 0)
		maps_remove(a, a + len);
}

/*
 * mremap moved or resized [old, old + oldlen) to [p, p + len) (whole
 * pages); keep_old when the old range stays mapped (MREMAP_DONTUNMAP).
 * The new range is tracked when the old one was.  Lock held.
 */
void
maps_on_remap(void *old, size_t oldlen, void *p, size_t len, int keep_old)
{
	uint64_t	a = (uint64_t)(uintptr_t)old, n = (uint64_t)(uintptr_t)p;
	size_t		i;
	int		tracked;

	i = maps_find(a);
	tracked = i < maps_n && maps_v[i].start < a + oldlen;
	if (!keep_old)
		maps_remove(a, a + oldlen);
	maps_remove(n, n + len);
	if (tracked && len != 0 && core_active)
		maps_add(n, n + len);
}
