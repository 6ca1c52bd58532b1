/*
 * history.c: what every stack held at every past moment of the run, in
 * bounded memory, for the timeline (the stacks as they were at a moment,
 * what grew and shrank between two moments) and the peak view.
 *
 * At each poll, history_record() compares every stack's live bytes, live
 * count, resident and swapped bytes with the values it last recorded and
 * keeps the ones that changed as a frame: the poll's time and a list of
 * (stack id, values) sorted by id.  So a stack that holds still costs
 * nothing, and the state at any moment is the fold of every frame up to
 * it, later values winning.
 *
 * Like the model's time series, the frames of the last HISTORY_RECENT
 * polls are kept as they are (fewer when they would take more than half
 * of HISTORY_BYTES), and older ones are folded into coarse frames
 * of at least width_ns (one second at first): folding two frames keeps
 * each stack's later values, so the state at the end of a coarse frame is
 * still exact, and only the moments inside it are lost.  When there are
 * HISTORY_COARSE coarse frames, or when all frames together hold more than
 * HISTORY_BYTES, neighbours merge and the width doubles.  A merge drops
 * the older entry of every stack that changed in both frames, and a frame
 * never holds more entries than there are stacks, so the memory stays
 * under HISTORY_BYTES (or one entry per stack, if that is more) whatever
 * the length of the run; history_memory() says what it is now.  A run that
 * changes few stacks keeps full resolution for longer.
 *
 * history_moment() chooses what the views show: now (the model as it is),
 * the peak of allocated memory, a past moment, or the difference between
 * two moments.  It folds the frames once into two arrays by stack id (the
 * state at the moment, and five seconds before it or at the first moment
 * of an interval), and history_value() answers model_sort_value() from
 * them.  Nothing here knows about curses.
 */

#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "tui.h"

#define HISTORY_NS	UINT64_C(1000000000)
/* Polls kept as they are: a minute at ten polls a second. */
#define HISTORY_RECENT	600
/* Coarse frames at most before neighbours merge. */
#define HISTORY_COARSE	2048
/* Bytes of entries at most, all frames together. */
#define HISTORY_BYTES	((size_t)32 << 20)
/* Growth at a moment is over this long before it. */
#define HISTORY_GROWTH_NS (5 * HISTORY_NS)

/* What is kept per stack. */
#define HISTORY_LIVE	0
#define HISTORY_COUNT	1
#define HISTORY_RES	2
#define HISTORY_SWP	3
#define HISTORY_NV	4

/* A stack's values in a frame. */
struct history_entry {
	uint32_t	 id;
	uint32_t	 pad;
	int64_t		 v[HISTORY_NV];
};

/* The changes from t0_ns to t1_ns (the state at t1_ns, folded). */
struct history_frame {
	uint64_t		 t0_ns;
	uint64_t		 t1_ns;
	int64_t			 allocated;	/* at t1_ns */
	uint64_t		 scan_ns;	/* the last scan folded in, or 0 */
	struct history_entry	*e;		/* sorted by id */
	uint32_t		 n;
};

struct history {
	struct model		*model;
	uint32_t		 generation;

	struct history_frame	*frames;	/* oldest first */
	u_int			 nframes;
	u_int			 cap;
	u_int			 ncoarse;	/* frames[0, ncoarse) are coarse */
	uint64_t		 width_ns;	/* of a coarse frame, at least */
	size_t			 bytes;		/* entries, all frames */
	uint64_t		 merges;	/* times the width doubled */
	uint64_t		 records;	/* polls recorded */

	int64_t			(*last)[HISTORY_NV];	/* by stack id */
	uint32_t		 nlast;
	int64_t			 last_allocated;
	uint64_t		 last_passes;	/* scans seen */
	struct history_entry	*scratch;	/* the frame being built */
	uint32_t		 nscratch;

	/* The moment the views show. */
	int			 kind;		/* HISTORY_* */
	uint64_t		 t0_ns;		/* interval start */
	uint64_t		 t1_ns;		/* the moment, or interval end */
	uint64_t		 at_ns;		/* state in at[]: last frame <= */
	uint64_t		 before_ns;	/* state in before[] */
	uint64_t		 scan_ns;	/* the scan RES and SWAP are from */
	int64_t			 allocated;	/* allocated bytes at the moment */
	int64_t			(*at)[HISTORY_NV];	/* by stack id */
	int64_t			(*before)[HISTORY_NV];
	uint32_t		 nat;
};

/* Start an empty history of a model. */
struct history *
history_create(struct model *m)
{
	struct history	*h;

	h = xcalloc(1, sizeof *h);
	h->model = m;
	h->width_ns = HISTORY_NS;
	h->kind = HISTORY_NOW;
	return (h);
}

/* Drop every frame (a new image: its stack ids mean other stacks). */
static void
history_clear(struct history *h)
{
	u_int	i;

	for (i = 0; i < h->nframes; i++)
		free(h->frames[i].e);
	h->nframes = h->ncoarse = 0;
	h->bytes = 0;
	h->width_ns = HISTORY_NS;
	h->last_allocated = 0;
	h->last_passes = 0;
	if (h->last != NULL)
		memset(h->last, 0, h->nlast * sizeof *h->last);
	if (h->at != NULL) {
		memset(h->at, 0, h->nat * sizeof *h->at);
		memset(h->before, 0, h->nat * sizeof *h->before);
	}
}

/* Free a history. */
void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	history_clear(h);
	free(h->frames);
	free(h->last);
	free(h->scratch);
	free(h->at);
	free(h->before);
	free(h);
}

/* Bytes the history holds now. */
size_t
history_memory(struct history *h)
{
	return (sizeof *h + h->cap * sizeof *h->frames + h->bytes +
	    (size_t)h->nlast * sizeof *h->last +
	    (size_t)h->nscratch * sizeof *h->scratch +
	    2 * (size_t)h->nat * sizeof *h->at);
}

/* Frames held, and the width of a coarse frame. */
void
history_stats(struct history *h, u_int *frames, u_int *coarse,
    uint64_t *width_ns)
{
	*frames = h->nframes;
	*coarse = h->ncoarse;
	*width_ns = h->width_ns;
}

/* Merge frame b into frame a (b is later): a's entries, b's winning. */
static void
history_merge(struct history *h, struct history_frame *a,
    struct history_frame *b)
{
	struct history_entry	*e;
	uint32_t		 i = 0, j = 0, n = 0;

	e = xreallocarray(NULL, (size_t)a->n + b->n + 1, sizeof *e);
	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->e[i].id < b->e[j].id))
			e[n++] = a->e[i++];
		else {
			if (i < a->n && a->e[i].id == b->e[j].id)
				i++;
			e[n++] = b->e[j++];
		}
	}
	h->bytes -= ((size_t)a->n + b->n) * sizeof *e;
	h->bytes += (size_t)n * sizeof *e;
	free(a->e);
	free(b->e);
	if (n < a->n + b->n)
		e = xreallocarray(e, n + 1, sizeof *e);
	a->e = e;
	a->n = n;
	a->t1_ns = b->t1_ns;
	a->allocated = b->allocated;
	if (b->scan_ns != 0)
		a->scan_ns = b->scan_ns;
	b->e = NULL;
	b->n = 0;
}

/* Remove frame i from the array. */
static void
history_remove(struct history *h, u_int i)
{
	memmove(&h->frames[i], &h->frames[i + 1],
	    (h->nframes - i - 1) * sizeof *h->frames);
	h->nframes--;
}

/* Merge the coarse frames in neighbouring pairs; the width doubles. */
static void
history_halve(struct history *h)
{
	u_int	i, j;

	for (i = 0, j = 0; i < h->ncoarse; i += 2, j++) {
		if (i != j)
			h->frames[j] = h->frames[i];
		if (i + 1 < h->ncoarse)
			history_merge(h, &h->frames[j], &h->frames[i + 1]);
	}
	memmove(&h->frames[j], &h->frames[h->ncoarse],
	    (h->nframes - h->ncoarse) * sizeof *h->frames);
	h->nframes -= h->ncoarse - j;
	h->ncoarse = j;
	h->width_ns *= 2;
	h->merges++;
}

/* The oldest recent frame becomes coarse: alone, or folded into the last. */
static void
history_fold_one(struct history *h)
{
	struct history_frame	*c, *f;

	f = &h->frames[h->ncoarse];
	if (h->ncoarse > 0) {
		c = &h->frames[h->ncoarse - 1];
		if (f->t1_ns - c->t0_ns < h->width_ns) {
			history_merge(h, c, f);
			history_remove(h, h->ncoarse);
			return;
		}
	}
	h->ncoarse++;
}

/* Bytes of the recent frames (those not yet folded). */
static size_t
history_recent_bytes(struct history *h)
{
	size_t	n = 0;
	u_int	i;

	for (i = h->ncoarse; i < h->nframes; i++)
		n += h->frames[i].n;
	return (n * sizeof (struct history_entry));
}

/*
 * Keep the frames within their bounds: at most HISTORY_RECENT recent
 * frames, using at most half of HISTORY_BYTES (a run that changes many
 * stacks at every poll keeps fewer polls as they are, not less of the
 * past), at most HISTORY_COARSE coarse frames, HISTORY_BYTES in all.
 */
static void
history_bound(struct history *h)
{
	while (h->nframes - h->ncoarse > HISTORY_RECENT)
		history_fold_one(h);
	while (h->nframes - h->ncoarse > 1 &&
	    history_recent_bytes(h) > HISTORY_BYTES / 2)
		history_fold_one(h);
	if (h->ncoarse > HISTORY_COARSE)
		history_halve(h);
	while (h->bytes > HISTORY_BYTES) {
		if (h->ncoarse >= 2)
			history_halve(h);
		else if (h->nframes > h->ncoarse)
			history_fold_one(h);
		else
			break;
	}
}

/* Make room for stack ids below n in an array of values. */
static void
history_grow(int64_t (**a)[HISTORY_NV], uint32_t *have, uint32_t n)
{
	if (n <= *have)
		return;
	*a = xreallocarray(*a, n, sizeof **a);
	memset(*a + *have, 0, (n - *have) * sizeof **a);
	*have = n;
}

static void	history_apply(struct history *);

/*
 * Called by model_update at each poll: record what changed since the last
 * poll, as a frame at time now.
 */
void
history_record(struct history *h, uint64_t now)
{
	struct model		*m = h->model;
	struct model_stack	*st;
	struct history_frame	*f;
	int64_t			 v[HISTORY_NV];
	uint32_t		 id, n = 0;

	if (m->generation != h->generation) {
		history_clear(h);
		h->generation = m->generation;
	}
	history_grow(&h->last, &h->nlast, m->nstacks);
	if (h->nscratch < m->nstacks) {
		h->nscratch = m->nstacks;
		h->scratch = xreallocarray(h->scratch, h->nscratch,
		    sizeof *h->scratch);
	}
	for (id = 0; id < m->nstacks; id++) {
		if ((st = m->stacks[id]) == NULL)
			continue;
		v[HISTORY_LIVE] = st->agg.live_bytes;
		v[HISTORY_COUNT] = st->agg.live_count;
		v[HISTORY_RES] = st->resident;
		v[HISTORY_SWP] = st->swapped;
		if (memcmp(v, h->last[id], sizeof v) == 0)
			continue;
		memcpy(h->last[id], v, sizeof v);
		h->scratch[n].id = id;
		h->scratch[n].pad = 0;
		memcpy(h->scratch[n].v, v, sizeof v);
		n++;
	}
	if (n != 0 || m->cur[MODEL_ALLOCATED] != h->last_allocated ||
	    m->pages.passes != h->last_passes) {
		if (h->nframes == h->cap) {
			h->cap = h->cap == 0 ? 256 : h->cap * 2;
			h->frames = xreallocarray(h->frames, h->cap,
			    sizeof *h->frames);
		}
		f = &h->frames[h->nframes++];
		f->t0_ns = f->t1_ns = now;
		f->allocated = m->cur[MODEL_ALLOCATED];
		f->scan_ns = m->pages.passes != h->last_passes ? now : 0;
		h->last_allocated = f->allocated;
		h->last_passes = m->pages.passes;
		f->n = n;
		f->e = xreallocarray(NULL, n + 1, sizeof *f->e);
		memcpy(f->e, h->scratch, n * sizeof *f->e);
		h->bytes += (size_t)n * sizeof *f->e;
		history_bound(h);
	}

	/* What it costs, in the -v log once a minute (at ten polls a second). */
	if (++h->records % 600 == 0)
		log_debug("history: %zu bytes, %u frames (%u coarse, at least "
		    "%.0f s each) after %.0f s", history_memory(h), h->nframes,
		    h->ncoarse, h->width_ns / 1e9,
		    (double)(now - m->start_ns) / 1e9);

	/* The peak view follows the peak. */
	if (h->kind == HISTORY_PEAK &&
	    m->peak_ns[MODEL_ALLOCATED] != h->t1_ns) {
		h->t1_ns = m->peak_ns[MODEL_ALLOCATED];
		history_apply(h);
	}
}

/* Add a frame's values to a state array. */
static void
history_fold(int64_t (*state)[HISTORY_NV], uint32_t nstate,
    const struct history_frame *f)
{
	uint32_t	i;

	for (i = 0; i < f->n; i++) {
		if (f->e[i].id < nstate)
			memcpy(state[f->e[i].id], f->e[i].v,
			    sizeof state[0]);
	}
}

/*
 * Fold the frames into at[] up to the moment (t1_ns) and into before[] up
 * to the moment before it: five seconds earlier, or the start of an
 * interval.  Resident and swapped bytes change only when a scan of the
 * pages completes: they are taken from the scan nearest to the moment,
 * after it when that one is nearer.
 */
static void
history_apply(struct history *h)
{
	struct model	*m = h->model;
	uint64_t	 before, at = h->t1_ns, prev_scan = 0, next_scan = 0;
	uint32_t	 id, k;
	u_int		 i, j;

	if (h->nat != m->nstacks) {
		h->nat = m->nstacks;
		h->at = xreallocarray(h->at, h->nat, sizeof *h->at);
		h->before = xreallocarray(h->before, h->nat,
		    sizeof *h->before);
	}
	if (h->nat != 0)
		memset(h->at, 0, h->nat * sizeof *h->at);
	if (h->kind == HISTORY_DIFF)
		before = h->t0_ns;
	else
		before = at > HISTORY_GROWTH_NS ? at - HISTORY_GROWTH_NS : 0;
	if (before > at)
		before = at;

	h->at_ns = h->before_ns = 0;
	h->allocated = 0;
	for (i = 0; i < h->nframes && h->frames[i].t1_ns <= before; i++) {
		history_fold(h->at, h->nat, &h->frames[i]);
		h->before_ns = h->frames[i].t1_ns;
		if (h->frames[i].scan_ns != 0)
			prev_scan = h->frames[i].scan_ns;
	}
	if (h->nat != 0)
		memcpy(h->before, h->at, h->nat * sizeof *h->at);
	h->at_ns = h->before_ns;
	for (; i < h->nframes && h->frames[i].t1_ns <= at; i++) {
		history_fold(h->at, h->nat, &h->frames[i]);
		h->at_ns = h->frames[i].t1_ns;
		if (h->frames[i].scan_ns != 0)
			prev_scan = h->frames[i].scan_ns;
	}
	if (i > 0)
		h->allocated = h->frames[i - 1].allocated;
	h->scan_ns = prev_scan;

	/* A later scan nearer to the moment: its resident and swapped. */
	for (j = i; j < h->nframes && h->frames[j].scan_ns == 0; j++)
		/* nothing */;
	if (j < h->nframes)
		next_scan = h->frames[j].scan_ns;
	if (next_scan == 0 || (prev_scan != 0 &&
	    next_scan - at >= at - prev_scan))
		return;
	h->scan_ns = next_scan;
	for (; i <= j; i++) {
		for (k = 0; k < h->frames[i].n; k++) {
			id = h->frames[i].e[k].id;
			if (id >= h->nat)
				continue;
			h->at[id][HISTORY_RES] = h->frames[i].e[k].v[HISTORY_RES];
			h->at[id][HISTORY_SWP] = h->frames[i].e[k].v[HISTORY_SWP];
		}
	}
}

/*
 * Show the stacks at a moment: HISTORY_NOW (as they are), HISTORY_PEAK (at
 * the peak of allocated memory), HISTORY_AT (at t1), HISTORY_DIFF (between
 * t0 and t1).
 */
void
history_moment(struct history *h, int kind, uint64_t t0, uint64_t t1)
{
	struct model	*m = h->model;

	h->kind = kind;
	if (kind == HISTORY_NOW)
		return;
	if (kind == HISTORY_PEAK)
		t1 = m->peak_ns[MODEL_ALLOCATED];
	if (kind == HISTORY_DIFF && t0 > t1) {
		h->t0_ns = t1;
		t1 = t0;
	} else
		h->t0_ns = t0;
	h->t1_ns = t1;
	history_apply(h);
}

/*
 * Allocated bytes at the moment shown (at the peak, the peak), and when
 * the scan its resident and swapped bytes come from ended (0: none).
 */
int64_t
history_allocated(struct history *h, uint64_t *scan_ns)
{
	if (scan_ns != NULL)
		*scan_ns = h->scan_ns;
	if (h->kind == HISTORY_PEAK)
		return (h->model->peak[MODEL_ALLOCATED]);
	return (h->allocated);
}

/*
 * When the state shown was true: the end of the last frame folded for the
 * moment (at), and for the moment before it (before); 0 is the start.
 */
uint64_t
history_state_ns(struct history *h, uint64_t *before)
{
	if (before != NULL)
		*before = h->before_ns;
	return (h->at_ns);
}

/* The moment shown: its kind, and its times (ns). */
int
history_kind(struct history *h, uint64_t *t0, uint64_t *t1)
{
	if (t0 != NULL)
		*t0 = h->t0_ns;
	if (t1 != NULL)
		*t1 = h->t1_ns;
	return (h->kind);
}

/*
 * A stack's value for a sort key at the moment shown (not HISTORY_NOW).
 * Live bytes and count are those at the moment (at the end of an
 * interval; at the peak, the segment's exact bytes at the peak); resident
 * and swapped are those of the last scan before it; growth is the change
 * of live bytes over the five seconds before the moment, or over the
 * interval.  Peak, total and allocations are the run's, as now.  Resident
 * and swapped bytes are those of the scan nearest to the moment.
 */
int64_t
history_value(struct history *h, const struct model_stack *st, int key)
{
	static const int64_t	 zero[HISTORY_NV];
	const int64_t		*at = zero, *before = zero;
	int64_t			 live;

	if (st->id < h->nat) {
		at = h->at[st->id];
		before = h->before[st->id];
	}
	live = h->kind == HISTORY_PEAK ? st->agg.peak_bytes :
	    at[HISTORY_LIVE];
	switch (key) {
	case MODEL_SORT_LIVE:
		return (live);
	case MODEL_SORT_COUNT:
		return (h->kind == HISTORY_PEAK ? st->agg.peak_count :
		    at[HISTORY_COUNT]);
	case MODEL_SORT_PEAK:
		return (st->agg.peak_bytes);
	case MODEL_SORT_TOTAL:
		return ((int64_t)st->agg.total_bytes);
	case MODEL_SORT_ALLOCS:
		return ((int64_t)st->agg.total_count);
	case MODEL_SORT_GROWTH:
		return (live - before[HISTORY_LIVE]);
	case MODEL_SORT_RESIDENT:
		return (at[HISTORY_RES]);
	case MODEL_SORT_SWAPPED:
		return (at[HISTORY_SWP]);
	}
	return (0);
}
