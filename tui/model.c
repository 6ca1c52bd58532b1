/*
 * model.c: what memtop knows about the run, for the report and the views.
 *
 * model_update() is called once per poll: it reads the exact counters and
 * the global record, picks up new stacks (their frames copied once: ready
 * records never change), refreshes every stack's aggregate (applying the
 * peak_epoch rule, in reader.c), drains the event ring, and appends a point
 * to the time series.
 *
 * Three lines: allocated (the tracker's exact counters), resident and
 * swapped (from /proc/PID/status).  The target's own pages of the shared
 * segment are counted by the kernel in its resident memory (RssShmem); they
 * are memtop's, not the program's, so they are taken out.
 *
 * The time series keeps every point of the last MODEL_RECENT polls, and
 * older points folded into at most MODEL_BUCKETS buckets of min, max and
 * last; when the buckets are full, neighbours merge and the bucket width
 * doubles.  Memory is fixed: model_series_memory() bytes, whatever the
 * length of the run (so zero bytes more per hour); resolution of old
 * history halves each time the run's length doubles past MODEL_BUCKETS
 * seconds.
 *
 * Per stack: live bytes and count, bytes and count at the last peak, total
 * bytes and count, growth over the last MODEL_GROWTH_WINDOW seconds (from a
 * small per-second history), and the resolved frames (on demand, cached).
 * Nothing here knows about curses.
 */

#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

#define MODEL_NS	UINT64_C(1000000000)

/* Start a model of a segment, with time zero at start_ns. */
void
model_init(struct model *m, struct reader *r, struct symbols *sy,
    uint64_t start_ns)
{
	u_int	i;

	memset(m, 0, sizeof *m);
	m->reader = r;
	m->symbols = sy;
	m->start_ns = start_ns;
	m->now_ns = start_ns;
	for (i = 0; i < MODEL_NSERIES; i++) {
		m->cur[i] = -1;
		m->peak[i] = -1;
	}
	m->series.recent = xcalloc(MODEL_RECENT, sizeof *m->series.recent);
	m->series.buckets = xcalloc(MODEL_BUCKETS, sizeof *m->series.buckets);
	m->series.width_ns = MODEL_NS;
}

/*
 * Stack records are never freed one by one, only all together: they are
 * carved from blocks of MODEL_BLOCK bytes, which tens of thousands of
 * stacks (python3 -m compileall under --exact) fill in a few dozen
 * allocations, and which go in as many frees.
 */
#define MODEL_BLOCK	(1024 * 1024)

struct model_block {
	struct model_block	*next;
	size_t			 used;
	size_t			 cap;
	max_align_t		 data[];
};

/* Zeroed room for len bytes that lasts until model_clear_stacks. */
static void *
model_carve(struct model *m, size_t len)
{
	struct model_block	*b = m->blocks;
	size_t			 cap;
	void			*p;

	len = (len + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (b == NULL || b->cap - b->used < len) {
		cap = len > MODEL_BLOCK ? len : MODEL_BLOCK;
		b = xcalloc(1, sizeof *b + cap);
		b->cap = cap;
		b->next = m->blocks;
		m->blocks = b;
	}
	p = (char *)b->data + b->used;
	b->used += len;
	return (p);
}

/* Drop every stack (the target exec'd: a new image, new stacks). */
static void
model_clear_stacks(struct model *m)
{
	struct model_block	*b;
	uint32_t		 i;

	for (i = 0; i < m->nstacks; i++) {
		if (m->stacks[i] != NULL)
			free(m->stacks[i]->sym);
	}
	while ((b = m->blocks) != NULL) {
		m->blocks = b->next;
		free(b);
	}
	free(m->stacks);
	m->stacks = NULL;
	m->nstacks = 0;
	m->ready = 0;
	m->scan_from = 0;
}

/* Free everything the model holds. */
void
model_free(struct model *m)
{
	pagemap_free(m->pagemap);
	history_free(m->history);
	model_clear_stacks(m);
	free(m->series.recent);
	free(m->series.buckets);
	memset(m, 0, sizeof *m);
}

/* Fold a point into a bucket. */
static void
model_bucket_add(struct model_bucket *b, const struct model_point *p)
{
	u_int	i;

	b->t1_ns = p->t_ns;
	for (i = 0; i < MODEL_NSERIES; i++) {
		b->last[i] = p->v[i];
		if (p->v[i] < 0)
			continue;
		if (b->min[i] < 0 || p->v[i] < b->min[i])
			b->min[i] = p->v[i];
		if (b->max[i] < 0 || p->v[i] > b->max[i])
			b->max[i] = p->v[i];
	}
}

/* Merge bucket b into bucket a (b is later). */
static void
model_bucket_merge(struct model_bucket *a, const struct model_bucket *b)
{
	u_int	i;

	a->t1_ns = b->t1_ns;
	for (i = 0; i < MODEL_NSERIES; i++) {
		a->last[i] = b->last[i];
		if (b->min[i] >= 0 && (a->min[i] < 0 || b->min[i] < a->min[i]))
			a->min[i] = b->min[i];
		if (b->max[i] > a->max[i])
			a->max[i] = b->max[i];
	}
}

/* Move a point that left the recent window into the buckets. */
static void
model_series_fold(struct model_series *s, const struct model_point *p)
{
	struct model_bucket	*b;
	u_int			 i, j;

	if (s->nbuckets > 0) {
		b = &s->buckets[s->nbuckets - 1];
		if (p->t_ns - b->t0_ns < s->width_ns) {
			model_bucket_add(b, p);
			return;
		}
	}
	if (s->nbuckets == MODEL_BUCKETS) {
		for (i = 0, j = 0; i + 1 < s->nbuckets; i += 2, j++) {
			s->buckets[j] = s->buckets[i];
			model_bucket_merge(&s->buckets[j], &s->buckets[i + 1]);
		}
		if (i < s->nbuckets)
			s->buckets[j++] = s->buckets[i];
		s->nbuckets = j;
		s->width_ns *= 2;
	}
	b = &s->buckets[s->nbuckets++];
	b->t0_ns = b->t1_ns = p->t_ns;
	for (i = 0; i < MODEL_NSERIES; i++)
		b->min[i] = b->max[i] = b->last[i] = p->v[i];
}

/* Append a point to the series. */
static void
model_series_add(struct model_series *s, uint64_t t, const int64_t *v)
{
	struct model_point	*p;
	u_int			 i;

	if (s->recent_n == MODEL_RECENT) {
		model_series_fold(s, &s->recent[s->recent_first]);
		s->recent_first = (s->recent_first + 1) % MODEL_RECENT;
		s->recent_n--;
	}
	p = &s->recent[(s->recent_first + s->recent_n) % MODEL_RECENT];
	s->recent_n++;
	p->t_ns = t;
	for (i = 0; i < MODEL_NSERIES; i++)
		p->v[i] = v[i];
}

/*
 * Call cb for every point or bucket that overlaps [t0, t1] (ns), oldest
 * first, with min, max and last values (equal for a single point).
 */
void
model_series_walk(struct model *m, uint64_t t0, uint64_t t1,
    model_point_cb cb, void *arg)
{
	struct model_series	*s = &m->series;
	struct model_bucket	*b;
	struct model_point	*p;
	u_int			 i;

	for (i = 0; i < s->nbuckets; i++) {
		b = &s->buckets[i];
		if (b->t1_ns < t0 || b->t0_ns > t1)
			continue;
		cb(b->t1_ns, b->min, b->max, b->last, arg);
	}
	for (i = 0; i < s->recent_n; i++) {
		p = &s->recent[(s->recent_first + i) % MODEL_RECENT];
		if (p->t_ns < t0 || p->t_ns > t1)
			continue;
		cb(p->t_ns, p->v, p->v, p->v, arg);
	}
}

/* Bytes the time series uses, fixed for any length of run. */
size_t
model_series_memory(void)
{
	return (MODEL_RECENT * sizeof(struct model_point) +
	    MODEL_BUCKETS * sizeof(struct model_bucket));
}

/* Make room for stack ids up to id. */
static void
model_grow(struct model *m, uint32_t id)
{
	uint32_t	n;

	if (id < m->nstacks)
		return;
	n = m->nstacks == 0 ? 1024 : m->nstacks;
	while (n <= id)
		n *= 2;
	m->stacks = xreallocarray(m->stacks, n, sizeof *m->stacks);
	memset(m->stacks + m->nstacks, 0,
	    (n - m->nstacks) * sizeof *m->stacks);
	m->nstacks = n;
}

/* Pick up stacks published since the last update. */
static void
model_scan_stacks(struct model *m)
{
	struct reader_stack	 rs;
	struct model_stack	*st;
	uint32_t		 id, first_missing = UINT32_MAX;

	for (id = m->scan_from; id <= m->glob.stack_count; id++) {
		if (id < m->nstacks && m->stacks[id] != NULL)
			continue;
		if (reader_stack(m->reader, id, &rs) != 0) {
			/* Not published yet (or broken): look again later. */
			if (first_missing == UINT32_MAX)
				first_missing = id;
			continue;
		}
		model_grow(m, id);
		/* The record and its frames in one allocation. */
		st = model_carve(m, sizeof *st +
		    rs.nframes * sizeof *st->frames);
		st->id = id;
		st->nframes = rs.nframes;
		st->flags = rs.flags;
		if (rs.nframes > 0) {
			st->frames = (uint64_t *)(st + 1);
			memcpy(st->frames, rs.frames,
			    rs.nframes * sizeof *st->frames);
		}
		m->stacks[id] = st;
		m->ready++;
	}
	m->scan_from = first_missing != UINT32_MAX ? first_missing : id;
}

/* Count an event from the ring and pass it on to the views. */
static void
model_event(const struct memtop_event *ev, void *arg)
{
	struct model	*m = arg;

	switch (ev->type) {
	case MEMTOP_EV_ALLOC:
		m->ev_allocs++;
		break;
	case MEMTOP_EV_FREE:
		m->ev_frees++;
		break;
	case MEMTOP_EV_BREAK:
		m->ev_breaks++;
		break;
	}
	if (m->event_cb != NULL)
		m->event_cb(ev, m->event_arg);
}

/* Raise a peak if v is above it. */
static void
model_peak(struct model *m, u_int i, int64_t v, uint64_t t)
{
	if (v >= 0 && v > m->peak[i]) {
		m->peak[i] = v;
		m->peak_ns[i] = t;
	}
}

/*
 * Move a stack's per-second history on by shift seconds (at most
 * MODEL_GROWTH_SLOTS): the seconds between two reads of the stacks hold
 * the older value, the newest slot what it holds now.
 */
static void
model_shift(struct model_stack *st, u_int shift)
{
	int64_t	old = st->hist[0];
	u_int	i;

	memmove(st->hist + shift, st->hist,
	    (MODEL_GROWTH_SLOTS - shift) * sizeof st->hist[0]);
	for (i = 1; i < shift; i++)
		st->hist[i] = old;
	st->hist[0] = st->agg.live_bytes;
}

/*
 * Update the model: status is the target's /proc status (NULL or invalid
 * when unknown), segres the segment's resident bytes, now the time.
 */
void
model_update(struct model *m, const struct procfs_status *status,
    uint64_t segres, uint64_t now)
{
	struct reader_control	 c;
	struct model_stack	*st;
	uint64_t		 shm, tick, t0, t1;
	uint32_t		 id;
	u_int			 k, shift;
	int			 stacks = 0;

	m->now_ns = now;
	reader_global(m->reader, &m->glob);
	if (m->glob.generation != m->generation) {
		if (m->generation != 0) {
			/* An exec in the same process: a fresh image. */
			log_debug("generation %u -> %u: new image",
			    m->generation, m->glob.generation);
			model_clear_stacks(m);
			symbols_reset(m->symbols);
			reader_reset(m->reader);
			m->peak[MODEL_ALLOCATED] = -1;
			m->peak_ns[MODEL_ALLOCATED] = 0;
		}
		m->generation = m->glob.generation;
		/* Attaches so far, even those between two polls. */
		m->generations = m->generation;
	}
	if (m->glob.state & MEMTOP_ST_ATTACHED)
		m->attached = 1;

	/* Allocated: exact counters; the peak from the segment. */
	reader_totals(m->reader, &m->totals);
	if (m->attached) {
		m->cur[MODEL_ALLOCATED] = m->totals.allocated;
		model_peak(m, MODEL_ALLOCATED, m->totals.allocated, now);
		if (m->glob.peak_bytes > m->peak[MODEL_ALLOCATED]) {
			m->peak[MODEL_ALLOCATED] = m->glob.peak_bytes;
			m->peak_ns[MODEL_ALLOCATED] = m->glob.peak_ns;
		}
	}

	/* Resident and swapped: the kernel's, less the segment. */
	m->segment_resident = segres;
	if (status != NULL && status->valid) {
		m->status = *status;
		shm = segres < status->rss_shmem ? segres : status->rss_shmem;
		m->cur[MODEL_RESIDENT] = (int64_t)(status->vm_rss - shm);
		m->cur[MODEL_SWAPPED] = (int64_t)status->vm_swap;
		model_peak(m, MODEL_RESIDENT, m->cur[MODEL_RESIDENT], now);
		model_peak(m, MODEL_SWAPPED, m->cur[MODEL_SWAPPED], now);
		/*
		 * The high-water mark catches what happened between polls;
		 * less today's segment pages it is a lower bound of the
		 * program's peak.  When it is higher, the time is unknown.
		 */
		if (status->vm_hwm > segres &&
		    (int64_t)(status->vm_hwm - segres) > m->peak[MODEL_RESIDENT]) {
			m->peak[MODEL_RESIDENT] = (int64_t)(status->vm_hwm - segres);
			m->peak_ns[MODEL_RESIDENT] = 0;
		}
	}

	if (m->attached) {
		reader_drain(m->reader, SIZE_MAX, model_event, m);
		reader_control(m->reader, &c);
		/* A break shows its stack at once: read the stacks now. */
		stacks = !m->brk.hit && c.hit;
		if (m->stacks_duty == 0 || now >= m->stacks_next_ns)
			stacks = 1;
	}

	/*
	 * Stacks: new ones, then every aggregate, and the timeline's record
	 * of them.  With a duty set (the live view), this work, which grows
	 * with the number of stacks, takes at most 1/duty of the time: with
	 * many stacks it is done every few polls, while the totals, the
	 * chart and the header are read at every poll.
	 */
	if (stacks) {
		t0 = format_now_ns();
		symbols_update(m->symbols);
		model_scan_stacks(m);
		tick = (now - m->start_ns) / MODEL_NS;
		/* Seconds since the last round (more than one when slow). */
		shift = tick - m->tick < MODEL_GROWTH_SLOTS ?
		    (u_int)(tick - m->tick) : MODEL_GROWTH_SLOTS;
		for (id = 0; id < m->nstacks; id++) {
			if ((st = m->stacks[id]) == NULL)
				continue;
			reader_agg(m->reader, id, m->glob.peak_epoch, &st->agg);
			if (shift != 0)
				model_shift(st, shift);
			k = MODEL_GROWTH_WINDOW - 1;
			st->growth = st->agg.live_bytes - st->hist[k];
		}
		m->tick = tick;
		/* What every stack holds, for the timeline. */
		if (m->history != NULL)
			history_record(m->history, now);
		t1 = format_now_ns();
		m->stacks_cost_ns = t1 - t0;
		m->stacks_next_ns = t1 + m->stacks_cost_ns *
		    (m->stacks_duty > 1 ? m->stacks_duty - 1 : 0);
		m->stacks_rounds++;
	}
	/* How often the stacks are read, in the -v log once a minute. */
	if (++m->polls % 600 == 0)
		log_debug("stacks: %u read in %.1f ms, %" PRIu64 " times in %"
		    PRIu64 " polls", m->ready, m->stacks_cost_ns / 1e6,
		    m->stacks_rounds, m->polls);

	if (m->attached) {
		if (c.hit && !m->brk.hit) {
			m->brk.hit = 1;
			m->brk.bytes = c.break_bytes;
			m->brk.tid = c.break_tid;
			m->brk.stack = c.break_stack;
			m->brk.addr = c.break_addr;
			m->brk.size = c.break_size;
			m->brk.allocated = c.break_allocated;
			m->brk.t_ns = c.break_ns;
		}
	}

	/* Resident and swapped per stack: part of a pass, on a budget. */
	if (m->pagemap != NULL && m->attached)
		pagemap_update(m->pagemap, now);

	model_series_add(&m->series, now, m->cur);
}

/*
 * The last word once the target has exited: its rusage (maximum resident
 * size) and the time it ended.
 */
void
model_final(struct model *m, const struct rusage *ru, uint64_t end)
{
	int64_t	maxrss;

	m->now_ns = end;
	if (ru == NULL || ru->ru_maxrss <= 0)
		return;
	/* ru_maxrss is in KiB and includes the segment's pages. */
	maxrss = (int64_t)ru->ru_maxrss * 1024 - (int64_t)m->segment_resident;
	if (maxrss > m->peak[MODEL_RESIDENT]) {
		m->peak[MODEL_RESIDENT] = maxrss;
		m->peak_ns[MODEL_RESIDENT] = 0;
	}
}

/* Frame i of a stack, resolved on first use. */
const struct sym_frame *
model_frame(struct model *m, struct model_stack *st, u_int i)
{
	if (i >= st->nframes)
		return (NULL);
	if (st->sym == NULL)
		st->sym = xcalloc(st->nframes, sizeof *st->sym);
	if (st->sym[i] == NULL || !st->sym[i]->resolved)
		st->sym[i] = symbols_resolve(m->symbols, st->frames[i]);
	return (st->sym[i]);
}

/*
 * A stack's resident or swapped bytes as of the last scan of its pages, no
 * more than it holds now: what it freed since is neither (a stack that
 * holds nothing, after the target exited say, shows 0).
 */
static int64_t
model_pages_value(const struct model_stack *st, int key)
{
	int64_t	live = st->agg.live_bytes > 0 ? st->agg.live_bytes : 0;
	int64_t	res = st->resident < live ? st->resident : live;

	if (key == MODEL_SORT_RESIDENT)
		return (res);
	return (st->swapped < live - res ? st->swapped : live - res);
}

/*
 * The value a stack is sorted by for key (MODEL_SORT_*), at the moment the
 * history shows (now, unless the timeline or the peak view is on).
 */
int64_t
model_sort_value(struct model *m, const struct model_stack *st, int key)
{
	if (m->history != NULL &&
	    history_kind(m->history, NULL, NULL) != HISTORY_NOW)
		return (history_value(m->history, st, key));
	switch (key) {
	case MODEL_SORT_LIVE:
		return (st->agg.live_bytes);
	case MODEL_SORT_PEAK:
		return (st->agg.peak_bytes);
	case MODEL_SORT_TOTAL:
		return ((int64_t)st->agg.total_bytes);
	case MODEL_SORT_COUNT:
		return (st->agg.live_count);
	case MODEL_SORT_ALLOCS:
		return ((int64_t)st->agg.total_count);
	case MODEL_SORT_GROWTH:
		return (st->growth);
	case MODEL_SORT_RESIDENT:
	case MODEL_SORT_SWAPPED:
		return (model_pages_value(st, key));
	}
	return (0);
}

/* A stack with the value it is sorted by, read once. */
struct model_keyed {
	int64_t			 v;
	uint32_t		 id;
	struct model_stack	*st;
};

/* Nonzero when a sorts before b: larger value first, then smaller id. */
static inline int
model_keyed_before(const struct model_keyed *a, const struct model_keyed *b)
{
	return (a->v != b->v ? a->v > b->v : a->id < b->id);
}

/* qsort comparison of model_keyed entries. */
static int
model_keyed_cmp(const void *a, const void *b)
{
	const struct model_keyed	*ka = a, *kb = b;

	if (ka->v == kb->v && ka->id == kb->id)
		return (0);
	return (model_keyed_before(ka, kb) ? -1 : 1);
}

/*
 * Restore the heap order of h (n entries, the one sorting last at the
 * root) below position i.
 */
static void
model_keyed_sift(struct model_keyed *h, size_t n, size_t i)
{
	struct model_keyed	t;
	size_t			c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && model_keyed_before(&h[c], &h[c + 1]))
			c++;
		if (!model_keyed_before(&h[i], &h[c]))
			return;
		t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

/*
 * Fill out with the max stacks with the largest values for key, largest
 * first, skipping stacks that never held or allocated anything.  Returns
 * how many were written.  Each stack's value is read once; when fewer
 * are wanted than there are stacks (the report's top 20 of tens of
 * thousands), a heap of max keeps the best seen so far and only those are
 * sorted.
 */
size_t
model_sorted(struct model *m, int key, struct model_stack **out, size_t max)
{
	struct model_keyed	*k, e;
	struct model_stack	*st;
	size_t			 n = 0, cap, i;
	uint32_t		 id;

	if (m->ready == 0 || max == 0)
		return (0);
	cap = max < m->ready ? max : m->ready;
	k = xreallocarray(NULL, cap, sizeof *k);
	for (id = 0; id < m->nstacks; id++) {
		if ((st = m->stacks[id]) == NULL)
			continue;
		if (st->agg.total_bytes == 0 && st->agg.live_bytes == 0 &&
		    st->agg.peak_bytes == 0)
			continue;
		e.v = model_sort_value(m, st, key);
		e.id = id;
		e.st = st;
		if (n < cap) {
			k[n++] = e;
			if (n == cap) {
				for (i = cap / 2; i-- > 0;)
					model_keyed_sift(k, cap, i);
			}
		} else if (model_keyed_before(&e, &k[0])) {
			k[0] = e;
			model_keyed_sift(k, cap, 0);
		}
	}
	qsort(k, n, sizeof *k, model_keyed_cmp);
	for (i = 0; i < n; i++)
		out[i] = k[i].st;
	free(k);
	return (n);
}
