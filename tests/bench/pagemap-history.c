/*
 * pagemap-history.c: the timeline's history (tui/history.c) on a model
 * filled by hand, with simulated time, for the test and the benchmark.
 *
 *	pagemap-history check
 *	pagemap-history bench STACKS CHANGES HOURS
 *
 * check (TAP, run by tests/timeline-history.sh): 60 stacks whose values
 * change at random for 40,000 polls of 100 ms (67 minutes, so that old
 * frames are folded and their width doubles), with every poll's state kept
 * aside; then at 3,000 random moments the history must give every stack's
 * values exactly as they were at the end of the last frame before the
 * moment, no older than one coarse frame, and growth over an interval as
 * the difference of two such states.  Then 20,000 stacks that all change
 * at every poll must stay within the memory bound, and an exec (a new
 * generation) must clear the history.
 *
 * bench: STACKS stacks, CHANGES of them changing at each poll (ten polls a
 * second), for HOURS simulated hours: after each hour, the history's
 * memory, frames and coarse width, and the time to show a moment (fold
 * the frames) at random times, mean and worst of 50.
 */

#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui.h"
#include "tap.h"

#define POLL_NS	UINT64_C(100000000)

static struct model	m;

/* A model of n stacks, all holding nothing. */
static void
sim_model(uint32_t n)
{
	uint32_t	i;

	model_init(&m, NULL, NULL, POLL_NS);
	m.attached = 1;
	m.generation = 1;
	m.nstacks = n;
	m.ready = n;
	m.stacks = xcalloc(n, sizeof *m.stacks);
	for (i = 0; i < n; i++) {
		m.stacks[i] = xcalloc(1, sizeof *m.stacks[i]);
		m.stacks[i]->id = i;
	}
	m.cur[MODEL_ALLOCATED] = 0;
}

/* Free the model's stacks (model_free would want a reader). */
static void
sim_free(void)
{
	uint32_t	i;

	history_free(m.history);
	for (i = 0; i < m.nstacks; i++)
		free(m.stacks[i]);
	free(m.stacks);
	free(m.series.recent);
	free(m.series.buckets);
	memset(&m, 0, sizeof m);
}

/* Set a stack's values from one number. */
static void
sim_set(uint32_t id, int64_t v)
{
	struct model_stack	*st = m.stacks[id];

	m.cur[MODEL_ALLOCATED] += v - st->agg.live_bytes;
	st->agg.live_bytes = v;
	st->agg.live_count = v / 16;
	st->resident = v / 2;
	st->swapped = v / 4;
}

/* Monotonic nanoseconds, for the benchmark. */
static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}

static int
check(void)
{
	const uint32_t	 nst = 60;
	const u_int	 npoll = 40000, nq = 3000;
	int64_t		*ref;
	uint64_t	 t, at, before, width;
	u_int		 p, q, i, frames, coarse, bad, stale, badg;
	uint32_t	 id;
	int64_t		 v;
	size_t		 mem;

	tap_plan(10);
	srandom(1);
	sim_model(nst);
	m.history = history_create(&m);
	ref = xcalloc((size_t)npoll * nst, sizeof *ref);
	for (p = 0; p < npoll; p++) {
		t = POLL_NS * (p + 1);
		for (i = 0; i < 3; i++) {
			id = (uint32_t)(random() % nst);
			sim_set(id, (int64_t)(random() % 1000000) * 64);
		}
		for (id = 0; id < nst; id++)
			ref[(size_t)p * nst + id] = m.stacks[id]->agg.live_bytes;
		history_record(m.history, t);
	}
	history_stats(m.history, &frames, &coarse, &width);
	diag("%u frames, %u coarse of %.0f s at least, %zu bytes", frames,
	    coarse, width / 1e9, history_memory(m.history));
	ok(coarse > 0 && width > 1000000000,
	    "old frames were folded and their width doubled");

	bad = stale = badg = 0;
	for (q = 0; q < nq; q++) {
		t = POLL_NS * (1 + (uint64_t)(random() % npoll));
		t += (uint64_t)(random() % POLL_NS);
		history_moment(m.history, HISTORY_AT, 0, t);
		at = history_state_ns(m.history, &before);
		if (at > t || t - at > width + POLL_NS)
			stale++;
		if (at == 0)
			continue;
		p = (u_int)(at / POLL_NS - 1);
		for (id = 0; id < nst; id++) {
			v = ref[(size_t)p * nst + id];
			if (history_value(m.history, m.stacks[id],
			    MODEL_SORT_LIVE) != v ||
			    history_value(m.history, m.stacks[id],
			    MODEL_SORT_COUNT) != v / 16 ||
			    history_value(m.history, m.stacks[id],
			    MODEL_SORT_RESIDENT) != v / 2 ||
			    history_value(m.history, m.stacks[id],
			    MODEL_SORT_SWAPPED) != v / 4)
				bad++;
		}
		history_moment(m.history, HISTORY_DIFF, t / 2, t);
		at = history_state_ns(m.history, &before);
		if (at == 0 || before == 0)
			continue;
		for (id = 0; id < nst; id++) {
			v = ref[(size_t)(at / POLL_NS - 1) * nst + id] -
			    ref[(size_t)(before / POLL_NS - 1) * nst + id];
			if (history_value(m.history, m.stacks[id],
			    MODEL_SORT_GROWTH) != v)
				badg++;
		}
	}
	ok(bad == 0, "every stack's values at %u moments are those of the "
	    "end of a frame (%u wrong)", nq, bad);
	ok(stale == 0, "never later than the moment, nor older than one "
	    "coarse frame (%u not)", stale);
	ok(badg == 0, "growth over an interval is the difference of its two "
	    "ends (%u wrong)", badg);
	history_moment(m.history, HISTORY_AT, 0, POLL_NS / 2);
	ok(history_state_ns(m.history, NULL) == 0 &&
	    history_value(m.history, m.stacks[0], MODEL_SORT_LIVE) == 0,
	    "before the first poll, every stack holds nothing");
	history_moment(m.history, HISTORY_NOW, 0, 0);
	ok(history_kind(m.history, NULL, NULL) == HISTORY_NOW &&
	    model_sort_value(&m, m.stacks[5], MODEL_SORT_LIVE) ==
	    m.stacks[5]->agg.live_bytes,
	    "back to now: the model's own values");

	/* An exec: a new image, its ids mean other stacks. */
	m.generation = 2;
	history_record(m.history, POLL_NS * (npoll + 1));
	history_stats(m.history, &frames, &coarse, &width);
	ok(frames <= 1 && coarse == 0, "a new generation clears the history "
	    "(%u frames left)", frames);
	free(ref);
	sim_free();

	/* Everything changes at every poll: the memory bound holds. */
	sim_model(20000);
	m.history = history_create(&m);
	for (p = 0; p < 3000; p++) {
		for (id = 0; id < m.nstacks; id++)
			sim_set(id, (int64_t)(p * 7 + id) * 16);
		history_record(m.history, POLL_NS * (p + 1));
	}
	mem = history_memory(m.history);
	history_stats(m.history, &frames, &coarse, &width);
	diag("20,000 stacks changing at every poll for 5 minutes: %zu bytes, "
	    "%u frames, width %.0f s", mem, frames, width / 1e9);
	ok(mem <= ((size_t)40 << 20), "it stays under 40 MiB (%zu bytes)",
	    mem);
	history_moment(m.history, HISTORY_AT, 0, POLL_NS * 3000);
	ok(history_value(m.history, m.stacks[19999], MODEL_SORT_LIVE) ==
	    (int64_t)(2999 * 7 + 19999) * 16,
	    "and the last poll is still exact");
	history_moment(m.history, HISTORY_AT, 0, POLL_NS * 10);
	at = history_state_ns(m.history, NULL);
	ok(at <= POLL_NS * 10 && (at == 0 || history_value(m.history,
	    m.stacks[3], MODEL_SORT_LIVE) == (int64_t)((at / POLL_NS - 1) *
	    7 + 3) * 16), "an early moment is the state at a frame's end "
	    "(at %.1f s)", at / 1e9);
	sim_free();
	return (tap_done());
}

static int
bench(uint32_t nst, uint32_t changes, u_int hours)
{
	uint64_t	 t = 0, t0, dt, worst, sum, width;
	u_int		 h, p, i, frames, coarse;
	uint32_t	 id;

	srandom(1);
	sim_model(nst);
	m.history = history_create(&m);
	printf("%8s %8s %6s %12s %8s %8s %9s %12s %12s\n", "stacks",
	    "changes", "hours", "bytes", "frames", "coarse", "width_s",
	    "moment_ms", "worst_ms");
	for (h = 1; h <= hours; h++) {
		for (p = 0; p < 36000; p++) {
			t += POLL_NS;
			for (i = 0; i < changes; i++) {
				id = (uint32_t)(random() % nst);
				sim_set(id, (int64_t)(random() % 1000000) * 64);
			}
			history_record(m.history, t);
		}
		worst = sum = 0;
		for (i = 0; i < 50; i++) {
			t0 = now_ns();
			history_moment(m.history, HISTORY_DIFF,
			    (uint64_t)random() % t, (uint64_t)random() % t);
			dt = now_ns() - t0;
			sum += dt;
			if (dt > worst)
				worst = dt;
		}
		history_moment(m.history, HISTORY_NOW, 0, 0);
		history_stats(m.history, &frames, &coarse, &width);
		printf("%8u %8u %6u %12zu %8u %8u %9.0f %12.2f %12.2f\n", nst,
		    changes, h, history_memory(m.history), frames, coarse,
		    width / 1e9, sum / 50 / 1e6, worst / 1e6);
		fflush(stdout);
	}
	sim_free();
	return (0);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return (check());
	if (argc == 5 && strcmp(argv[1], "bench") == 0)
		return (bench((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]),
		    (u_int)atoi(argv[4])));
	fprintf(stderr, "usage: pagemap-history check | bench STACKS CHANGES "
	    "HOURS\n");
	return (2);
}
