/*
 * reader.c: the front end's only window on the shared segment.
 *
 * The segment is written by the target, and a crashed or hostile target
 * can leave anything in it (invariant 5).  So the section table is checked
 * and copied once, when the reader attaches, and never read again; every
 * count, index, offset and length read later is checked against that
 * private copy before it is used, and what callers get is either a copy or
 * a pointer to a range already checked.  Shared fields are read with
 * relaxed atomic loads, published records after an acquire load of their
 * flag, live shards with the seqlock protocol of shm.h, and the ring with
 * the protocol of event.h.  Nothing here waits for the target.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define LOAD_ACQ(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define STORE_REL(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* The most frames a stack may claim (shm.h: max_frames <= 1024). */
#define READER_MAX_FRAMES	1024
/* Attempts to copy a live shard before giving up for this round. */
#define READER_SHARD_TRIES	4

/* Find a section in the table, checking it fits the segment; NULL if not. */
static void *
reader_section(struct reader *r, const struct memtop_section *sec,
    size_t elsize, uint64_t *count, uint64_t extra, char **cause,
    const char *name)
{
	uint64_t	off = sec->off, size = sec->size, n = sec->count;

	*count = 0;
	if (off > r->size || size > r->size - off) {
		xasprintf(cause, "section %s lies outside the segment", name);
		return (NULL);
	}
	if (off % MEMTOP_CACHELINE != 0) {
		xasprintf(cause, "section %s is misaligned", name);
		return (NULL);
	}
	if (size < extra || n > (size - extra) / elsize) {
		xasprintf(cause, "section %s holds fewer elements than it says",
		    name);
		return (NULL);
	}
	*count = n;
	return ((char *)r->base + off);
}

/* Ring k of the section (k < nrings). */
static struct memtop_ring_header *
reader_ring(struct reader *r, uint64_t k)
{
	return ((struct memtop_ring_header *)((char *)r->ring +
	    k * r->ring_stride));
}

/*
 * Take the rings' shape from the first header (event.h): rings of ring_cap
 * records, both powers of two, that fit in the section.  Positions are
 * masked, so rings of any other shape are left off (ring_cap 0).
 */
static void
reader_rings(struct reader *r, const struct memtop_section *sec)
{
	uint64_t	cap, rings;

	r->ring_cap = r->nrings = 0;
	cap = LOAD(&r->ring->capacity);
	rings = LOAD(&r->ring->rings);
	if (cap < 2 || (cap & (cap - 1)) != 0 || rings < 1 ||
	    rings > MEMTOP_RINGS_MAX || (rings & (rings - 1)) != 0)
		return;
	if (!memtop_rings_fit(sec->size, cap, rings))
		return;
	r->ring_cap = cap;
	r->nrings = rings;
	r->ring_stride = memtop_ring_stride(cap);
}

/*
 * Attach to a segment already mapped at base (size bytes), checking its
 * header and every section.  Returns 0, or -1 with *cause set.
 */
int
reader_attach(struct reader *r, void *base, uint64_t size, char **cause)
{
	struct memtop_header	*hdr = base;
	struct memtop_section	 sec[MEMTOP_SEC_COUNT];
	uint64_t		 n, n2;
	u_int			 i;

	memset(r, 0, sizeof *r);
	r->base = base;
	r->size = size;
	*cause = NULL;

	if (size < sizeof *hdr) {
		*cause = xstrdup("segment smaller than its header");
		return (-1);
	}
	if (memcmp(hdr->magic, MEMTOP_SHM_MAGIC, sizeof hdr->magic) != 0) {
		*cause = xstrdup("not a memtop segment (bad magic)");
		return (-1);
	}
	if (LOAD(&hdr->abi) != MEMTOP_SHM_ABI ||
	    LOAD(&hdr->header_size) != sizeof *hdr) {
		xasprintf(cause, "segment ABI %u, this memtop reads ABI %u",
		    LOAD(&hdr->abi), MEMTOP_SHM_ABI);
		return (-1);
	}
	if (LOAD(&hdr->total_size) != size) {
		*cause = xstrdup("segment size does not match its header");
		return (-1);
	}
	for (i = 0; i < MEMTOP_SEC_COUNT; i++) {
		sec[i].off = LOAD(&hdr->sec[i].off);
		sec[i].size = LOAD(&hdr->sec[i].size);
		sec[i].count = LOAD(&hdr->sec[i].count);
		if (sec[i].off < sizeof *hdr && sec[i].size != 0) {
			xasprintf(cause, "section %u overlaps the header", i);
			return (-1);
		}
	}
	r->hdr = hdr;
	r->sample_mean = LOAD(&hdr->sample_mean);

#define SECTION(field, id, type, countp, extra, name) do {		\
	r->field = reader_section(r, &sec[id], sizeof(type), countp,	\
	    extra, cause, name);					\
	if (r->field == NULL)						\
		goto fail;						\
} while (0)
	SECTION(threads, MEMTOP_SEC_THREADS, struct memtop_thread_slot,
	    &r->nthreads, 0, "threads");
	SECTION(glob, MEMTOP_SEC_GLOBAL, struct memtop_global, &n, 0,
	    "global");
	if (n < 1) {
		*cause = xstrdup("section global is empty");
		goto fail;
	}
	SECTION(ctl, MEMTOP_SEC_CONTROL, struct memtop_control, &n, 0,
	    "control");
	if (n < 1) {
		*cause = xstrdup("section control is empty");
		goto fail;
	}
	SECTION(stacks, MEMTOP_SEC_STACKS, struct memtop_stack, &n, 0,
	    "stacks");
	SECTION(aggs, MEMTOP_SEC_STACK_AGGS, struct memtop_stack_agg, &n2, 0,
	    "stack aggregates");
	r->nstacks = n < n2 ? n : n2;
	/* The target's lanes, k * n + id (shm.h). */
	r->agg_lanes = n != 0 && n2 >= n ? n2 / n : 1;
	if (r->agg_lanes > MEMTOP_AGG_LANES_MAX)
		r->agg_lanes = MEMTOP_AGG_LANES_MAX;
	SECTION(frames, MEMTOP_SEC_FRAMES, uint64_t, &r->nframes, 0,
	    "frames");
	SECTION(codes, MEMTOP_SEC_CODES, struct memtop_code, &r->ncodes, 0,
	    "codes");
	SECTION(modules, MEMTOP_SEC_MODULES, struct memtop_module,
	    &r->nmodules, 0, "modules");
	SECTION(strings, MEMTOP_SEC_STRINGS, char, &r->nstrings, 0,
	    "strings");
	SECTION(shards, MEMTOP_SEC_LIVE_SHARDS, struct memtop_live_shard,
	    &r->nshards, 0, "live shards");
	SECTION(arena, MEMTOP_SEC_LIVE_ARENA, struct memtop_live_entry,
	    &r->narena, 0, "live arena");
	SECTION(ring, MEMTOP_SEC_RING, struct memtop_event, &n,
	    sizeof(struct memtop_ring_header), "ring");
#undef SECTION
	reader_rings(r, &sec[MEMTOP_SEC_RING]);
	for (i = 0; i < r->nrings; i++)
		r->rings[i].tail = LOAD(&reader_ring(r, i)->tail);
	return (0);

fail:
	r->hdr = NULL;
	return (-1);
}

/*
 * Map the segment behind a descriptor and attach to it.  The segment must
 * be sealed against shrinking, or the target could make memtop's reads
 * fault.
 */
int
reader_open(struct reader *r, int fd, char **cause)
{
	struct stat	 sb;
	void		*base;
	int		 seals;

	*cause = NULL;
	if (fstat(fd, &sb) != 0) {
		xasprintf(cause, "fstat: %s", strerror(errno));
		return (-1);
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & F_SEAL_SHRINK) == 0) {
		*cause = xstrdup("segment is not sealed against shrinking");
		return (-1);
	}
	if (sb.st_size <= 0) {
		*cause = xstrdup("segment is empty");
		return (-1);
	}
	base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		xasprintf(cause, "mmap: %s", strerror(errno));
		return (-1);
	}
	if (reader_attach(r, base, (uint64_t)sb.st_size, cause) != 0) {
		munmap(base, (size_t)sb.st_size);
		return (-1);
	}
	r->owned = 1;
	return (0);
}

/* Detach; unmap the segment if reader_open mapped it. */
void
reader_close(struct reader *r)
{
	if (r->owned && r->base != NULL)
		munmap(r->base, r->size);
	memset(r, 0, sizeof *r);
}

/* Forget the ring position: the target re-attached and reset its data. */
void
reader_reset(struct reader *r)
{
	uint64_t	i;

	for (i = 0; i < r->nrings; i++) {
		r->rings[i].tail = LOAD(&reader_ring(r, i)->tail);
		r->rings[i].stuck_pos = 0;
		r->rings[i].stuck_head = 0;
	}
}

/* Sum the per-thread counters into exact totals. */
void
reader_totals(struct reader *r, struct reader_totals *t)
{
	struct memtop_thread_slot	*s;
	uint64_t			 i;

	memset(t, 0, sizeof *t);
	for (i = 0; i < r->nthreads; i++) {
		s = &r->threads[i];
		t->alloc_bytes += LOAD(&s->alloc_bytes);
		t->free_bytes += LOAD(&s->free_bytes);
		t->alloc_count += LOAD(&s->alloc_count);
		t->free_count += LOAD(&s->free_count);
		t->map_bytes += LOAD(&s->map_bytes);
		t->unmap_bytes += LOAD(&s->unmap_bytes);
		t->map_count += LOAD(&s->map_count);
		t->unmap_count += LOAD(&s->unmap_count);
		t->samples += LOAD(&s->samples);
		t->sampled_frees += LOAD(&s->sampled_frees);
		if (i != 0 && LOAD(&s->tid) != 0)
			t->threads++;
	}
	t->allocated = (int64_t)(t->alloc_bytes - t->free_bytes) +
	    (int64_t)(t->map_bytes - t->unmap_bytes);
}

/* Copy a NUL-terminated string out of a fixed field. */
static void
reader_copy_string(char *dst, const char *src, size_t len)
{
	size_t	i;

	for (i = 0; i < len - 1; i++) {
		dst[i] = LOAD(&src[i]);
		if (dst[i] == '\0')
			break;
	}
	dst[i] = '\0';
}

/* Read the header's state and the global record. */
void
reader_global(struct reader *r, struct reader_global *g)
{
	struct memtop_header	*h = r->hdr;
	struct memtop_global	*gl = r->glob;
	uint64_t		 i;
	uint32_t		 n;

	memset(g, 0, sizeof *g);
	g->state = LOAD_ACQ(&h->state);
	g->generation = LOAD(&h->generation);
	g->attach_ns = LOAD(&h->attach_ns);
	g->forks = LOAD(&h->forks);
	g->descendants = LOAD(&h->descendants);
	g->descendant_pid = LOAD(&h->descendant_pid);
	reader_copy_string(g->descendant_exe, h->descendant_exe,
	    sizeof g->descendant_exe);
	reader_copy_string(g->disabled_reason, h->disabled_reason,
	    sizeof g->disabled_reason);
	g->python_state = LOAD(&h->python_state);
	reader_copy_string(g->python_version, h->python_version,
	    sizeof g->python_version);
	reader_copy_string(g->python_note, h->python_note,
	    sizeof g->python_note);

	g->flushed_live = LOAD(&gl->flushed_live);
	g->peak_bytes = LOAD(&gl->peak_bytes);
	g->peak_ns = LOAD(&gl->peak_ns);
	g->peak_epoch = LOAD(&gl->peak_epoch);

	/* Ids start at 1, so stack_count ids means slots up to stack_count. */
	n = LOAD(&gl->stack_count);
	g->stack_count = n < r->nstacks ? n : (r->nstacks > 0 ?
	    (uint32_t)(r->nstacks - 1) : 0);
	n = LOAD(&gl->code_count);
	g->code_count = n < r->ncodes ? n : (r->ncodes > 0 ?
	    (uint32_t)(r->ncodes - 1) : 0);
	n = LOAD(&gl->module_count);
	g->module_count = n <= r->nmodules ? n : (uint32_t)r->nmodules;

	g->stack_table_full = LOAD(&gl->stack_table_full);
	g->frames_truncated = LOAD(&gl->frames_truncated);
	g->live_table_full = LOAD(&gl->live_table_full);
	g->code_table_full = LOAD(&gl->code_table_full);
	g->unwind_failures = LOAD(&gl->unwind_failures);
	/* Drops: threads with a slot of their own count theirs there. */
	g->ring_drops = 0;
	for (i = 0; i < r->nrings; i++)
		g->ring_drops += LOAD(&reader_ring(r, i)->drops);
	for (i = 0; i < r->nthreads; i++)
		g->ring_drops += LOAD(&r->threads[i].ring_drops);
}

/* Read the control block: the break threshold and whether it fired. */
void
reader_control(struct reader *r, struct reader_control *c)
{
	struct memtop_control	*ctl = r->ctl;
	uint32_t		 hit;

	memset(c, 0, sizeof *c);
	c->break_bytes = LOAD(&ctl->break_bytes);
	c->break_seq = LOAD(&ctl->break_seq);
	hit = LOAD_ACQ(&ctl->break_hit_seq);
	c->hit = (hit != 0 && hit == c->break_seq);
	c->break_tid = LOAD(&ctl->break_tid);
	c->break_stack = LOAD(&ctl->break_stack);
	c->break_addr = LOAD(&ctl->break_addr);
	c->break_size = LOAD(&ctl->break_size);
	c->break_allocated = LOAD(&ctl->break_allocated);
	c->break_ns = LOAD(&ctl->break_ns);
}

/*
 * Arm the break at bytes (0 disarms), as shm.h says: threshold, then
 * sequence, then force the target's next flush.
 */
void
reader_arm_break(struct reader *r, uint64_t bytes)
{
	STORE(&r->ctl->break_bytes, bytes);
	__atomic_add_fetch(&r->ctl->break_seq, 1, __ATOMIC_RELEASE);
	STORE(&r->glob->flush_limit, 0);
}

/*
 * Read stack id: 0 with *s filled when the record is ready and its frames
 * lie inside the frames section, -1 otherwise.
 */
int
reader_stack(struct reader *r, uint32_t id, struct reader_stack *s)
{
	struct memtop_stack	*st;
	uint32_t		 idx;
	uint16_t		 n, flags;

	if (id >= r->nstacks)
		return (-1);
	st = &r->stacks[id];
	flags = LOAD_ACQ(&st->flags);
	if ((flags & MEMTOP_STACK_READY) == 0)
		return (-1);
	idx = LOAD(&st->frame_idx);
	n = LOAD(&st->nframes);
	if (n > READER_MAX_FRAMES || idx > r->nframes || n > r->nframes - idx)
		return (-1);
	s->id = id;
	s->nframes = n;
	s->flags = flags;
	s->hash = LOAD(&st->hash);
	s->frames = r->frames + idx;
	return (0);
}

/*
 * Read the aggregate of stack id, summed over its lanes; epoch is the
 * global peak_epoch, used to give the bytes and count at the last peak
 * (the rules in shm.h).
 */
void
reader_agg(struct reader *r, uint32_t id, uint64_t epoch,
    struct reader_agg *a)
{
	struct memtop_stack_agg	*g;
	uint64_t		 lane, lanes = r->agg_lanes ? r->agg_lanes : 1;
	uint64_t		 used;
	int64_t			 lb, lc;

	memset(a, 0, sizeof *a);
	if (id >= r->nstacks)
		return;
	/* Lanes never charged are skipped; lane 0 is always read. */
	used = LOAD_ACQ(&r->glob->agg_lanes_used) | 1;
	for (lane = 0; lane < lanes; lane++) {
		if ((used & (UINT64_C(1) << lane)) == 0)
			continue;
		g = &r->aggs[lane * r->nstacks + id];
		lb = LOAD(&g->live_bytes);
		lc = LOAD(&g->live_count);
		a->live_bytes += lb;
		a->live_count += lc;
		a->total_bytes += LOAD(&g->total_bytes);
		a->total_count += LOAD(&g->total_count);
		if (LOAD_ACQ(&g->peak_epoch) == epoch) {
			a->peak_bytes += LOAD(&g->peak_bytes);
			a->peak_count += LOAD(&g->peak_count);
		} else {
			a->peak_bytes += lb;
			a->peak_count += lc;
		}
	}
}

/* Check that [off, off + len) lies in the strings section. */
static int
reader_string_ok(struct reader *r, uint32_t off, uint32_t len)
{
	return (off <= r->nstrings && len <= r->nstrings - off);
}

/* Read Python code record id: 0 when ready and its strings are in bounds. */
int
reader_code(struct reader *r, uint32_t id, struct reader_code *c)
{
	struct memtop_code	*cr;
	uint32_t		 foff, flen, noff, nlen;

	if (id == 0 || id >= r->ncodes)
		return (-1);
	cr = &r->codes[id];
	if ((LOAD_ACQ(&cr->flags) & MEMTOP_CODE_READY) == 0)
		return (-1);
	foff = LOAD(&cr->file_off);
	flen = LOAD(&cr->file_len);
	noff = LOAD(&cr->name_off);
	nlen = LOAD(&cr->name_len);
	if (!reader_string_ok(r, foff, flen) || !reader_string_ok(r, noff, nlen))
		return (-1);
	c->file = r->strings + foff;
	c->file_len = flen;
	c->name = r->strings + noff;
	c->name_len = nlen;
	c->firstlineno = LOAD(&cr->firstlineno);
	return (0);
}

/* Module records handed out so far, capped at the section's capacity. */
uint32_t
reader_module_count(struct reader *r)
{
	uint32_t	n = LOAD(&r->glob->module_count);

	return (n <= r->nmodules ? n : (uint32_t)r->nmodules);
}

/* Read module record idx (from 0): 0 when ready and sane. */
int
reader_module(struct reader *r, uint32_t idx, struct reader_module *m)
{
	struct memtop_module	*mr;
	uint32_t		 flags, off, len;

	if (idx >= r->nmodules)
		return (-1);
	mr = &r->modules[idx];
	flags = LOAD_ACQ(&mr->flags);
	if ((flags & MEMTOP_MODULE_READY) == 0)
		return (-1);
	off = LOAD(&mr->path_off);
	len = LOAD(&mr->path_len);
	if (!reader_string_ok(r, off, len))
		return (-1);
	m->bias = LOAD(&mr->bias);
	m->start = LOAD(&mr->start);
	m->end = LOAD(&mr->end);
	if (m->end < m->start)
		return (-1);
	m->path = r->strings + off;
	m->path_len = len;
	m->flags = flags;
	return (0);
}

/* Copy one ring record out with relaxed loads. */
static void
reader_copy_event(const struct memtop_event *src, struct memtop_event *dst)
{
	dst->seq = LOAD(&src->seq);
	dst->time_ns = LOAD(&src->time_ns);
	dst->addr = LOAD(&src->addr);
	dst->size = LOAD(&src->size);
	dst->est_bytes = LOAD(&src->est_bytes);
	dst->est_count = LOAD(&src->est_count);
	dst->stack = LOAD(&src->stack);
	dst->tid = LOAD(&src->tid);
	dst->type = LOAD(&src->type);
	dst->flags = LOAD(&src->flags);
	dst->pad = 0;
}

/* Drain ring k: at most max events passed to cb; returns how many. */
static size_t
reader_drain_ring(struct reader *r, uint64_t k, size_t max,
    reader_event_cb cb, void *arg)
{
	struct memtop_ring_header	*ring = reader_ring(r, k);
	struct reader_ring		*rs = &r->rings[k];
	struct memtop_event		*events, *rec, ev;
	uint64_t			 head, tail, seq;
	size_t				 n = 0;

	events = (struct memtop_event *)(ring + 1);
	head = LOAD_ACQ(&ring->head);
	while (n < max) {
		tail = rs->tail;
		if ((int64_t)(head - tail) <= 0)
			break;
		if (head - tail > r->ring_cap)
			head = tail + r->ring_cap;	/* impossible: clamp */
		rec = &events[tail & (r->ring_cap - 1)];
		seq = LOAD_ACQ(&rec->seq);
		if (seq != tail + 1) {
			if (rs->stuck_pos != tail + 1) {
				rs->stuck_pos = tail + 1;
				rs->stuck_head = head;
			}
			if (LOAD(&ring->head) - rs->stuck_head <
			    r->ring_cap / 2)
				break;
			r->ring_skipped++;
		} else {
			reader_copy_event(rec, &ev);
			if (cb != NULL)
				cb(&ev, arg);
			n++;
		}
		rs->tail = tail + 1;
		STORE_REL(&ring->tail, tail + 1);
	}
	return (n);
}

/*
 * Consume up to max published ring records, ring after ring, calling cb
 * (may be NULL) on a private copy of each.  A record left unpublished
 * while its ring's head moved half the ring further on is skipped (its
 * writer died).  Returns the number of records consumed.  Within a ring
 * they come in order; across rings, their time_ns orders them (event.h).
 */
size_t
reader_drain(struct reader *r, size_t max, reader_event_cb cb, void *arg)
{
	uint64_t	k;
	size_t		n = 0;

	for (k = 0; k < r->nrings && n < max; k++)
		n += reader_drain_ring(r, k, max - n, cb, arg);
	return (n);
}

/*
 * Copy the live entries of shard idx into out (at most max of them) with
 * the seqlock protocol.  Returns the number of entries in use (which may
 * be more than max: only max are copied), or -1 if the shard is being
 * changed or is not sane.
 */
ssize_t
reader_shard(struct reader *r, uint64_t idx, struct reader_live *out,
    size_t max)
{
	struct memtop_live_shard	*sh;
	struct memtop_live_entry	*e;
	uint64_t			 table, cap, i, addr, info;
	uint32_t			 s1, s2;
	size_t				 n;
	u_int				 try;

	if (idx >= r->nshards)
		return (-1);
	sh = &r->shards[idx];
	for (try = 0; try < READER_SHARD_TRIES; try++) {
		s1 = LOAD_ACQ(&sh->seq);
		if (s1 & 1)
			continue;
		table = LOAD(&sh->table);
		cap = LOAD(&sh->capacity);
		if (cap != 0 && ((cap & (cap - 1)) != 0 || table > r->narena ||
		    cap > r->narena - table)) {
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (LOAD(&sh->seq) == s1)
				return (-1);
			continue;
		}
		n = 0;
		for (i = 0; i < cap; i++) {
			e = &r->arena[table + i];
			if ((addr = LOAD(&e->addr)) == 0)
				continue;
			if (n < max) {
				info = LOAD(&e->info);
				out[n].addr = addr;
				out[n].size = memtop_live_size(info);
				out[n].weight = memtop_sample_weight(
				    out[n].size, r->sample_mean);
				out[n].stack = memtop_live_stack(info);
				out[n].flags = memtop_live_flags(info);
			}
			n++;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = LOAD(&sh->seq);
		if (s1 == s2)
			return ((ssize_t)n);
	}
	return (-1);
}
