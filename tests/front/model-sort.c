/*
 * model-sort.c: model_sorted (tui/model.c) on models filled by hand.
 *
 * For several sizes and several counts asked for, the stacks it returns
 * must be, in order, those a plain selection gives: repeatedly the stack
 * with the largest value (model_sort_value) not yet taken, the smaller id
 * first among equal values, stacks that never held or allocated anything
 * left out.  Values are drawn from a small range so that ties are common,
 * and every sort key the report and the table use is tried.
 */

#include "config.h"

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "tap.h"

static struct model	m;

/* A model of n stacks with values from a generator seeded with seed. */
static void
fill(uint32_t n, uint32_t range, unsigned seed)
{
	struct model_stack	*st;
	uint32_t		 i;

	memset(&m, 0, sizeof m);
	srand(seed);
	m.nstacks = n + 3;		/* a few empty slots at the end */
	m.stacks = xcalloc(m.nstacks, sizeof *m.stacks);
	for (i = 0; i < n; i++) {
		if (rand() % 7 == 0)
			continue;	/* an id not (yet) published */
		st = xcalloc(1, sizeof *st);
		st->id = i;
		if (rand() % 5 != 0) {	/* else: never held anything */
			st->agg.peak_bytes = rand() % range;
			st->agg.live_bytes = rand() % range;
			st->agg.total_bytes = (uint64_t)(rand() % range) + 1;
			st->agg.live_count = rand() % range;
			st->agg.total_count = (uint64_t)(rand() % range);
		}
		m.stacks[i] = st;
		m.ready++;
	}
}

static void
drop(void)
{
	uint32_t	i;

	for (i = 0; i < m.nstacks; i++)
		free(m.stacks[i]);
	free(m.stacks);
	memset(&m, 0, sizeof m);
}

/* The want stacks a selection takes, one at a time; how many. */
static size_t
select_plain(int key, struct model_stack **out, size_t want)
{
	struct model_stack	*st, *best;
	char			*taken;
	size_t			 n;
	uint32_t		 i;

	taken = xcalloc(m.nstacks, 1);
	for (n = 0; n < want; n++) {
		best = NULL;
		for (i = 0; i < m.nstacks; i++) {
			if ((st = m.stacks[i]) == NULL || taken[i])
				continue;
			if (st->agg.peak_bytes == 0 &&
			    st->agg.live_bytes == 0 &&
			    st->agg.total_bytes == 0)
				continue;
			if (best == NULL || model_sort_value(&m, st, key) >
			    model_sort_value(&m, best, key))
				best = st;	/* ids rise: ties keep the first */
		}
		if (best == NULL)
			break;
		taken[best->id] = 1;
		out[n] = best;
	}
	free(taken);
	return (n);
}

int
main(void)
{
	static const uint32_t	sizes[] = { 1, 2, 9, 100, 3000 };
	static const size_t	asks[] = { 1, 2, 3, 7, 20, 99, 2500, 5000 };
	static const int	keys[] = { MODEL_SORT_PEAK, MODEL_SORT_LIVE,
				    MODEL_SORT_TOTAL, MODEL_SORT_COUNT,
				    MODEL_SORT_ALLOCS };
	struct model_stack	**got, **want;
	size_t			  s, a, k, ng, nw, i, bad;

	tap_plan((int)(sizeof sizes / sizeof sizes[0]));
	got = xcalloc(5000, sizeof *got);
	want = xcalloc(5000, sizeof *want);
	for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		bad = 0;
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			/* A small range makes ties; a large one, none. */
			fill(sizes[s], k % 2 ? 1000000 : 5,
			    (unsigned)(s * 10 + k + 1));
			for (a = 0; a < sizeof asks / sizeof asks[0]; a++) {
				ng = model_sorted(&m, keys[k], got, asks[a]);
				nw = select_plain(keys[k], want, asks[a]);
				if (ng != nw) {
					diag("%u stacks, key %d, %zu asked: "
					    "%zu returned, want %zu", sizes[s],
					    keys[k], asks[a], ng, nw);
					bad++;
					continue;
				}
				for (i = 0; i < ng; i++) {
					if (got[i] == want[i])
						continue;
					diag("%u stacks, key %d, %zu asked: "
					    "place %zu has stack %u, want %u",
					    sizes[s], keys[k], asks[a], i,
					    got[i]->id, want[i]->id);
					bad++;
					break;
				}
			}
			drop();
		}
		ok(bad == 0, "%u stacks: the largest first, ties by id, "
		    "for every key and count asked", sizes[s]);
	}
	free(got);
	free(want);
	return (tap_done());
}
