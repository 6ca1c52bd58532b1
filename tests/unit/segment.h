/*
 * segment.h: lay out a memtop shared segment in the unit tests the way the
 * launcher does (header, then every section page-aligned), so that the
 * engine can be attached to plain memory without LD_PRELOAD.  Header only.
 */

#ifndef MEMTOP_TEST_SEGMENT_H
#define MEMTOP_TEST_SEGMENT_H

#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include "memtop/event.h"
#include "memtop/shm.h"

/* Capacities of a test segment, in elements. */
struct segment_sizes {
	uint64_t	threads;
	uint64_t	stacks;		/* the index gets twice as many, pow2 */
	uint64_t	frames;
	uint64_t	codes;
	uint64_t	modules;
	uint64_t	strings;
	uint64_t	shards;
	uint64_t	arena;
	uint64_t	ring;		/* records a ring, power of two */
	uint64_t	rings;		/* power of two; 0 is 1 */
	uint64_t	agg_lanes;	/* 0 is 1 */
	uint32_t	max_frames;
	uint32_t	config;		/* MEMTOP_CFG_* */
	uint64_t	sample_mean;	/* 0 = exact */
};

/* Sizes good for most tests. */
static inline struct segment_sizes
segment_defaults(void)
{
	struct segment_sizes z = {
		.threads = 64, .stacks = 4096, .frames = 1 << 18,
		.codes = 1024, .modules = 512, .strings = 1 << 20,
		.shards = 16, .arena = 1 << 20, .ring = 1 << 12,
		.max_frames = 128, .config = 0, .sample_mean = 512 * 1024,
	};
	return (z);
}

/* Round up to a page. */
static inline uint64_t
segment_page(uint64_t v)
{
	return ((v + 4095) & ~(uint64_t)4095);
}

/*
 * Fill the header of a segment at base (NULL: only compute) and return its
 * total size.  target_pid is set to the caller's pid.
 */
static inline uint64_t
segment_layout(struct memtop_header *h, const struct segment_sizes *z)
{
	struct memtop_section	 sec[MEMTOP_SEC_COUNT];
	uint64_t		 off, index = 2, n[MEMTOP_SEC_COUNT], rings, k;
	uint64_t		 bytes[MEMTOP_SEC_COUNT];
	int			 i;

	while (index < z->stacks * 2)
		index *= 2;
	n[MEMTOP_SEC_THREADS] = z->threads;
	bytes[MEMTOP_SEC_THREADS] = z->threads * sizeof(struct memtop_thread_slot);
	n[MEMTOP_SEC_GLOBAL] = 1;
	bytes[MEMTOP_SEC_GLOBAL] = sizeof(struct memtop_global);
	n[MEMTOP_SEC_CONTROL] = 1;
	bytes[MEMTOP_SEC_CONTROL] = sizeof(struct memtop_control);
	n[MEMTOP_SEC_STACK_INDEX] = index;
	bytes[MEMTOP_SEC_STACK_INDEX] = index * sizeof(uint32_t);
	n[MEMTOP_SEC_STACKS] = z->stacks;
	bytes[MEMTOP_SEC_STACKS] = z->stacks * sizeof(struct memtop_stack);
	n[MEMTOP_SEC_STACK_AGGS] = z->stacks * (z->agg_lanes ? z->agg_lanes : 1);
	bytes[MEMTOP_SEC_STACK_AGGS] = n[MEMTOP_SEC_STACK_AGGS] *
	    sizeof(struct memtop_stack_agg);
	n[MEMTOP_SEC_FRAMES] = z->frames;
	bytes[MEMTOP_SEC_FRAMES] = z->frames * sizeof(uint64_t);
	n[MEMTOP_SEC_CODES] = z->codes;
	bytes[MEMTOP_SEC_CODES] = z->codes * sizeof(struct memtop_code);
	n[MEMTOP_SEC_MODULES] = z->modules;
	bytes[MEMTOP_SEC_MODULES] = z->modules * sizeof(struct memtop_module);
	n[MEMTOP_SEC_STRINGS] = z->strings;
	bytes[MEMTOP_SEC_STRINGS] = z->strings;
	n[MEMTOP_SEC_LIVE_SHARDS] = z->shards;
	bytes[MEMTOP_SEC_LIVE_SHARDS] = z->shards * sizeof(struct memtop_live_shard);
	n[MEMTOP_SEC_LIVE_ARENA] = z->arena;
	bytes[MEMTOP_SEC_LIVE_ARENA] = z->arena * sizeof(struct memtop_live_entry);
	rings = z->rings ? z->rings : 1;
	n[MEMTOP_SEC_RING] = rings * z->ring;
	bytes[MEMTOP_SEC_RING] = rings * memtop_ring_stride(z->ring);

	off = segment_page(sizeof(struct memtop_header));
	for (i = 0; i < MEMTOP_SEC_COUNT; i++) {
		sec[i].off = off;
		sec[i].size = bytes[i];
		sec[i].count = n[i];
		off = segment_page(off + bytes[i]);
	}
	if (h != NULL) {
		memset(h, 0, sizeof *h);
		memcpy(h->magic, MEMTOP_SHM_MAGIC, sizeof h->magic);
		h->abi = MEMTOP_SHM_ABI;
		h->header_size = sizeof *h;
		h->total_size = off;
		h->config = z->config;
		h->max_frames = z->max_frames;
		h->sample_mean = z->sample_mean;
		h->target_pid = getpid();
		memcpy(h->sec, sec, sizeof sec);
		for (k = 0; k < rings; k++) {
			struct memtop_ring_header *ring = (void *)((char *)h +
			    sec[MEMTOP_SEC_RING].off +
			    k * memtop_ring_stride(z->ring));

			ring->capacity = z->ring;
			ring->rings = rings;
		}
	}
	return (off);
}

/* Map a fresh zeroed segment laid out with z; its size in *size. */
static inline void *
segment_new(const struct segment_sizes *z, uint64_t *size)
{
	uint64_t	 total = segment_layout(NULL, z);
	void		*p;

	p = mmap(NULL, total, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return (NULL);
	segment_layout(p, z);
	*size = total;
	return (p);
}

/* Sum of the thread slots: allocated bytes now (malloc family + maps). */
static inline int64_t
segment_allocated(const struct memtop_header *h)
{
	const struct memtop_thread_slot	*s = (const void *)((const char *)h +
	    h->sec[MEMTOP_SEC_THREADS].off);
	int64_t				 sum = 0;
	uint64_t			 i;

	for (i = 0; i < h->sec[MEMTOP_SEC_THREADS].count; i++)
		sum += (int64_t)(s[i].alloc_bytes - s[i].free_bytes) +
		    (int64_t)(s[i].map_bytes - s[i].unmap_bytes);
	return (sum);
}

#endif /* MEMTOP_TEST_SEGMENT_H */
