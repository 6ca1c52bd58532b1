/*
 * timeline.c: the live view's keys for the peak view and the timeline, and
 * what the chart and the header show of them.
 *
 *	P	the stacks as they were at the peak of allocated memory
 *	[ ]	move a cursor along the chart, a column back or forward: the
 *		table and the tree show the stacks as they were then
 *	{ }	ten columns
 *	m	mark the cursor's moment: the table and the tree show what
 *		grew and what shrank between the mark and the cursor, sorted
 *		by growth
 *	.	back to now (Esc too, in the table and the tree)
 *
 * The cursor is a moment of the run, not a column: it holds still while
 * the chart's window moves on, and moves by the time one column stands for
 * in the window shown.  The history (history.c) does the work; this file
 * keeps the cursor and the mark, tells the views to take a new snapshot,
 * and gives the chart and the header what they draw.
 */

#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "tui.h"

#define TIMELINE_NS	UINT64_C(1000000000)

/* The cursor and the mark, and the sort to go back to. */
static struct {
	uint64_t	 cursor_ns;
	uint64_t	 mark_ns;
	int		 saved_sort;	/* before the interval view, or -1 */
} timeline = { 0, 0, -1 };

/* The moment shown now (HISTORY_*). */
static int
timeline_kind(struct ui *ui)
{
	if (ui->model->history == NULL)
		return (HISTORY_NOW);
	return (history_kind(ui->model->history, NULL, NULL));
}

/* Show a moment, and have the view on screen take it in at once. */
static int
timeline_show(struct ui *ui, int kind)
{
	struct history	*h = ui->model->history;

	if (h == NULL)
		return (0);
	if (kind == HISTORY_DIFF && timeline.saved_sort < 0) {
		timeline.saved_sort = ui->sort;
		ui->sort = MODEL_SORT_GROWTH;
	} else if (kind != HISTORY_DIFF && timeline.saved_sort >= 0) {
		ui->sort = timeline.saved_sort;
		timeline.saved_sort = -1;
	}
	history_moment(h, kind, timeline.mark_ns, timeline.cursor_ns);
	if (ui->view->update != NULL)
		ui->view->update(ui);
	return (UI_DRAW_HEADER | UI_DRAW_CHART | UI_DRAW_MAIN);
}

/* P: the stacks at the peak of allocated memory; again: now. */
int
timeline_key_peak(struct ui *ui, int key)
{
	if (ui->model->history == NULL)
		return (0);
	if (timeline_kind(ui) == HISTORY_PEAK) {
		ui_message(ui, 0, "now");
		return (timeline_show(ui, HISTORY_NOW));
	}
	if (ui->model->peak[MODEL_ALLOCATED] <= 0) {
		ui_message(ui, 1, "no peak yet");
		return (UI_DRAW_HEADER);
	}
	ui_message(ui, 0, "the stacks at the peak of allocated memory "
	    "(P or . : now)");
	return (timeline_show(ui, HISTORY_PEAK));
}

/* [, ], {, }: move the time cursor by one or ten columns of the chart. */
int
timeline_key_move(struct ui *ui, int key)
{
	struct model	*m = ui->model;
	uint64_t	 t0, span, step, now = ui_now(ui);
	int		 pw, n, kind = timeline_kind(ui);

	if (m->history == NULL)
		return (0);
	chart_window(ui, &t0, &span, &pw);
	step = span / (uint64_t)(pw > 0 ? pw : 1);
	if (step == 0)
		step = 1;
	n = key == '{' || key == '}' ? 10 : 1;
	if (kind != HISTORY_AT && kind != HISTORY_DIFF) {
		/* The cursor appears at the right edge: now. */
		timeline.cursor_ns = now;
		kind = HISTORY_AT;
	}
	if (key == '[' || key == '{') {
		if (timeline.cursor_ns - m->start_ns > step * (uint64_t)n)
			timeline.cursor_ns -= step * (uint64_t)n;
		else
			timeline.cursor_ns = m->start_ns;
	} else {
		timeline.cursor_ns += step * (uint64_t)n;
		if (timeline.cursor_ns > now)
			timeline.cursor_ns = now;
	}
	return (timeline_show(ui, kind));
}

/* m: mark the cursor's moment (an interval to the cursor); again: unmark. */
int
timeline_key_mark(struct ui *ui, int key)
{
	int	kind = timeline_kind(ui);

	if (ui->model->history == NULL)
		return (0);
	if (kind == HISTORY_DIFF) {
		ui_message(ui, 0, "mark cleared");
		return (timeline_show(ui, HISTORY_AT));
	}
	if (kind != HISTORY_AT)
		timeline.cursor_ns = ui_now(ui);
	timeline.mark_ns = timeline.cursor_ns;
	ui_message(ui, 0, "marked: move the cursor ([ ]) for what grew and "
	    "shrank since");
	return (timeline_show(ui, HISTORY_DIFF));
}

/* ., and Esc in the table and tree: back to now. */
int
timeline_key_now(struct ui *ui, int key)
{
	if (timeline_kind(ui) == HISTORY_NOW)
		return (0);
	ui_message(ui, 0, "now");
	return (timeline_show(ui, HISTORY_NOW));
}

/* Seconds from the start of the run to t, as "12.34s". */
static void
timeline_seconds(struct ui *ui, char *buf, size_t len, uint64_t t)
{
	uint64_t	start = ui->model->start_ns;

	snprintf(buf, len, "%.2fs", t > start ?
	    (double)(t - start) / TIMELINE_NS : 0.0);
}

/*
 * What the chart's legend says of the moment shown, empty when it is now:
 * "peak 3.21s", "at 1.75s", "0.50s..1.75s".
 */
const char *
timeline_label(struct ui *ui, char *buf, size_t len)
{
	char		a[32], b[32];
	uint64_t	t0, t1;
	int		kind;

	*buf = '\0';
	if (ui->model->history == NULL)
		return (buf);
	kind = history_kind(ui->model->history, &t0, &t1);
	switch (kind) {
	case HISTORY_PEAK:
		timeline_seconds(ui, a, sizeof a, t1);
		snprintf(buf, len, "peak %s", a);
		break;
	case HISTORY_AT:
		timeline_seconds(ui, a, sizeof a, t1);
		snprintf(buf, len, "at %s", a);
		break;
	case HISTORY_DIFF:
		timeline_seconds(ui, a, sizeof a, t0);
		timeline_seconds(ui, b, sizeof b, t1);
		snprintf(buf, len, "%s..%s", a, b);
		break;
	}
	return (buf);
}

/*
 * The chart's columns (0 to pw - 1) of the cursor and of the mark, or -1
 * when not shown or outside the window from t0 for span ns.
 */
void
timeline_columns(struct ui *ui, uint64_t t0, uint64_t span, int pw,
    int *cursor, int *mark)
{
	uint64_t	a, b;
	int		kind;

	*cursor = *mark = -1;
	if (ui->model->history == NULL || span == 0 || pw <= 0)
		return;
	kind = history_kind(ui->model->history, &a, &b);
	if (kind == HISTORY_NOW)
		return;
	if (b >= t0 && b - t0 <= span)
		*cursor = (int)((double)(b - t0) / (double)span * pw);
	if (kind == HISTORY_DIFF && a >= t0 && a - t0 <= span)
		*mark = (int)((double)(a - t0) / (double)span * pw);
	if (*cursor >= pw)
		*cursor = pw - 1;
	if (*mark >= pw)
		*mark = pw - 1;
	if (kind == HISTORY_DIFF && timeline.cursor_ns < timeline.mark_ns) {
		/* history keeps the interval in order; the cursor is t0. */
		int	x = *cursor;

		*cursor = *mark;
		*mark = x;
	}
}
