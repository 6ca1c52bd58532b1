/*
 * table.c: the stacks table, and the stack view (every frame of one stack).
 *
 * On each update the table copies, for every stack that ever held memory,
 * its values for every sort key (a snapshot: the screen holds still while
 * frozen because the table draws only from it).  Nothing is sorted then:
 * drawing orders only the rows it needs, by partial selection (the first
 * top + height rows in O(n), then a sort of those), so 100,000 stacks cost
 * a copy and a selection per refresh, never a full sort.
 *
 * The cursor stays on its row, as in htop: the stack under it changes as
 * the order changes, unless F (follow) is on, when the cursor moves with
 * the selected stack.  A break turns follow on for the stack that crossed.
 *
 * The columns are a table (table_columns): a title, a width, the sort key
 * and a formatter of a value array.  The call tree (tree.c) draws the same
 * columns for its nodes with table_titles and table_values.
 */

#include "config.h"

#include <sys/types.h>

#include <curses.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

/* A stack and its values at the last update. */
struct table_row {
	struct model_stack	*st;
	int64_t			 v[UI_NSORT];
};

/* What the order is decided by: small, so that selection is quick. */
struct table_ord {
	int64_t			 key;		/* the row's value for t->key */
	uint32_t		 id;		/* ties: the smaller id first */
	uint32_t		 row;		/* index in rows */
};

struct table {
	struct table_row	*rows;
	struct table_ord	*ord;		/* rows by position */
	size_t			 n;
	size_t			 cap;
	size_t			 nsorted;	/* ord[0, nsorted) in order */
	int			 key;		/* the order of ord */
	size_t			 cursor;
	size_t			 top;
	int			 height;	/* rows shown by the last draw */
	int64_t			 allocated;	/* for the % column */
};

/* One column of numbers. */
struct table_column {
	const char	*title;
	int		 width;
	int		 sort;		/* MODEL_SORT_*, or -1 */
	int		 min_cols;	/* shown when the screen is this wide */
	void		 (*format)(struct ui *, const int64_t *, char *,
			     size_t);
};

static void	table_fmt_live(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_share(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_count(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_peak(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_total(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_allocs(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_growth(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_res(struct ui *, const int64_t *, char *, size_t);
static void	table_fmt_swap(struct ui *, const int64_t *, char *, size_t);

static const struct table_column table_columns[] = {
	{ "LIVE", 7, MODEL_SORT_LIVE, 0, table_fmt_live },
	{ "%", 5, -1, 0, table_fmt_share },
	{ "RES", 7, MODEL_SORT_RESIDENT, 90, table_fmt_res },
	{ "SWAP", 7, MODEL_SORT_SWAPPED, 90, table_fmt_swap },
	{ "COUNT", 6, MODEL_SORT_COUNT, 0, table_fmt_count },
	{ "PEAK", 7, MODEL_SORT_PEAK, 0, table_fmt_peak },
	{ "TOTAL", 7, MODEL_SORT_TOTAL, 0, table_fmt_total },
	{ "ALLOCS", 7, MODEL_SORT_ALLOCS, 110, table_fmt_allocs },
	{ "GROWTH", 7, MODEL_SORT_GROWTH, 0, table_fmt_growth },
};
#define TABLE_NCOLUMNS	(sizeof table_columns / sizeof table_columns[0])

static const char *const table_sort_names[UI_NSORT] = {
	[MODEL_SORT_LIVE] = "LIVE",
	[MODEL_SORT_PEAK] = "PEAK",
	[MODEL_SORT_TOTAL] = "TOTAL",
	[MODEL_SORT_COUNT] = "COUNT",
	[MODEL_SORT_ALLOCS] = "ALLOCS",
	[MODEL_SORT_GROWTH] = "GROWTH",
	[MODEL_SORT_RESIDENT] = "RES",
	[MODEL_SORT_SWAPPED] = "SWAP",
};

/* ------------------------------------------------------------------------
 * Formatting.
 */

/* A count of allocations (fixed point) in six columns. */
static void
table_count(char *buf, size_t len, int64_t v)
{
	double	d = (double)v / MEMTOP_COUNT_ONE;

	if (d < 0)
		d = 0;
	if (d < 99999.5)
		snprintf(buf, len, "%.0f", d);
	else if (d < 9999.5e3)
		snprintf(buf, len, "%.0fk", d / 1e3);
	else if (d < 9999.5e6)
		snprintf(buf, len, "%.0fM", d / 1e6);
	else
		snprintf(buf, len, "%.0fG", d / 1e9);
}

static void
table_fmt_live(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	ui_size(buf, len, v[MODEL_SORT_LIVE]);
}

static void
table_fmt_share(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	int64_t	all = ui->snap.cur[MODEL_ALLOCATED];
	double	pct;

	/* At a past moment: of what was allocated then. */
	if (ui->model->history != NULL &&
	    history_kind(ui->model->history, NULL, NULL) != HISTORY_NOW)
		all = history_allocated(ui->model->history, NULL);

	if (all <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	pct = 100.0 * (double)v[MODEL_SORT_LIVE] / (double)all;
	if (pct < 0)
		pct = 0;
	if (pct > 999)
		pct = 999;
	snprintf(buf, len, "%.1f", pct);
}

static void
table_fmt_count(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	table_count(buf, len, v[MODEL_SORT_COUNT]);
}

static void
table_fmt_peak(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	ui_size(buf, len, v[MODEL_SORT_PEAK]);
}

static void
table_fmt_total(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	ui_size(buf, len, v[MODEL_SORT_TOTAL]);
}

static void
table_fmt_allocs(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	table_count(buf, len, v[MODEL_SORT_ALLOCS]);
}

static void
table_fmt_growth(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	char	size[16];

	if (v[MODEL_SORT_GROWTH] == 0) {
		snprintf(buf, len, "0");
		return;
	}
	ui_size(size, sizeof size, v[MODEL_SORT_GROWTH]);
	snprintf(buf, len, "%s%s", v[MODEL_SORT_GROWTH] > 0 ? "+" : "", size);
}

/* Resident bytes at the last scan of the pages, "-" before the first. */
static void
table_fmt_res(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	if (!ui->model->pages.valid)
		snprintf(buf, len, "-");
	else
		ui_size(buf, len, v[MODEL_SORT_RESIDENT]);
}

/* Swapped bytes at the last scan of the pages, "-" before the first. */
static void
table_fmt_swap(struct ui *ui, const int64_t *v, char *buf, size_t len)
{
	if (!ui->model->pages.valid)
		snprintf(buf, len, "-");
	else
		ui_size(buf, len, v[MODEL_SORT_SWAPPED]);
}

/* Whether a column is shown on this screen. */
static int
table_column_shown(struct ui *ui, const struct table_column *c)
{
	return (ui->sx >= c->min_cols);
}

/*
 * Draw the column titles on line y, the sorted one highlighted, and last
 * as the title of the rest of the line.  Returns the first column of the
 * rest.
 */
int
table_titles(struct ui *ui, int y, const char *last)
{
	const struct table_column	*c;
	char				 buf[32];
	u_int				 i;
	int				 x = 0;

	ui_fill(ui, y, 0, ui->sx, ui_attr(ui, UI_A_TITLE));
	for (i = 0; i < TABLE_NCOLUMNS; i++) {
		c = &table_columns[i];
		if (!table_column_shown(ui, c))
			continue;
		snprintf(buf, sizeof buf, "%*s", c->width, c->title);
		ui_put(ui, y, x, c->width, c->sort == ui->sort && c->sort >= 0 ?
		    ui_attr(ui, UI_A_CURSOR) | (int)A_BOLD : ui_attr(ui, UI_A_TITLE),
		    buf);
		x += c->width + 1;
	}
	ui_put(ui, y, x, ui->sx - x, ui_attr(ui, UI_A_TITLE), last);
	return (x);
}

/* Draw the number columns of one row; returns where the rest starts. */
int
table_values(struct ui *ui, int y, const int64_t *v, int attr)
{
	const struct table_column	*c;
	char				 val[32], buf[40];
	u_int				 i;
	int				 x = 0;

	for (i = 0; i < TABLE_NCOLUMNS; i++) {
		c = &table_columns[i];
		if (!table_column_shown(ui, c))
			continue;
		c->format(ui, v, val, sizeof val);
		snprintf(buf, sizeof buf, "%*s", c->width, val);
		ui_put(ui, y, x, c->width, attr, buf);
		x += c->width + 1;
	}
	return (x);
}

/* The column under screen column x, or NULL. */
static const struct table_column *
table_column_at(struct ui *ui, int x)
{
	const struct table_column	*c;
	u_int				 i;
	int				 cx = 0;

	for (i = 0; i < TABLE_NCOLUMNS; i++) {
		c = &table_columns[i];
		if (!table_column_shown(ui, c))
			continue;
		if (x >= cx && x < cx + c->width + 1)
			return (c);
		cx += c->width + 1;
	}
	return (NULL);
}

/* F6, >, <: sort table and tree by the next or previous column. */
int
table_key_sort(struct ui *ui, int key)
{
	int	keys[TABLE_NCOLUMNS], n = 0, i, cur = 0;
	u_int	j;

	for (j = 0; j < TABLE_NCOLUMNS; j++) {
		if (table_columns[j].sort >= 0 &&
		    table_column_shown(ui, &table_columns[j]))
			keys[n++] = table_columns[j].sort;
	}
	if (n == 0)
		return (0);
	for (i = 0; i < n; i++) {
		if (keys[i] == ui->sort)
			cur = i;
	}
	cur = key == '<' ? (cur + n - 1) % n : (cur + 1) % n;
	ui->sort = keys[cur];
	ui_message(ui, 0, "sorted by %s", table_sort_names[ui->sort]);
	if (ui->view->update != NULL && !ui->frozen)
		ui->view->update(ui);
	return (UI_DRAW_MAIN | UI_DRAW_HEADER);
}

/* ------------------------------------------------------------------------
 * Ordering.
 */

/* Whether a comes before b: larger first, then by id. */
static inline int
table_before(const struct table_ord *a, const struct table_ord *b)
{
	if (a->key != b->key)
		return (a->key > b->key);
	return (a->id < b->id);
}

/* qsort comparison for table_before. */
static int
table_cmp(const void *a, const void *b)
{
	if (table_before(a, b))
		return (-1);
	return (table_before(b, a) ? 1 : 0);
}

/* Swap two entries. */
static inline void
table_swap(struct table_ord *a, struct table_ord *b)
{
	struct table_ord	t = *a;

	*a = *b;
	*b = t;
}

/*
 * Partial selection: rearrange a[0, n) so that its first k entries are the
 * k first in order (not sorted among themselves).  Entries are all
 * distinct in the order (ties go by id), which the partition relies on.
 */
static void
table_select(struct table_ord *a, size_t n, size_t k)
{
	struct table_ord	 pivot, r;
	size_t			 lo = 0, hi = n, i, j, mid, p;

	if (k == 0 || k >= n)
		return;
	while (hi - lo > 16) {
		/* Median of three: a[lo] <= a[mid] <= a[hi - 1]. */
		mid = lo + (hi - lo) / 2;
		if (table_before(&a[mid], &a[lo]))
			table_swap(&a[mid], &a[lo]);
		if (table_before(&a[hi - 1], &a[lo]))
			table_swap(&a[hi - 1], &a[lo]);
		if (table_before(&a[hi - 1], &a[mid]))
			table_swap(&a[hi - 1], &a[mid]);
		pivot = a[mid];
		i = lo;
		j = hi - 1;
		for (;;) {
			while (table_before(&a[i], &pivot))
				i++;
			while (table_before(&pivot, &a[j]))
				j--;
			if (i >= j)
				break;
			table_swap(&a[i], &a[j]);
			i++;
			j--;
		}
		/* a[lo, p) come before a[p, hi); lo < p < hi. */
		p = j + 1;
		if (k == p)
			return;
		if (k < p)
			hi = p;
		else
			lo = p;
	}
	/* A short range: insertion sort. */
	for (i = lo + 1; i < hi; i++) {
		r = a[i];
		for (j = i; j > lo && table_before(&r, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = r;
	}
}

/* The row at position i of the order (i < nsorted). */
static inline struct table_row *
table_at(struct table *t, size_t i)
{
	return (&t->rows[t->ord[i].row]);
}

/* Make the first k positions the k first, in order. */
static void
table_order(struct ui *ui, struct table *t, size_t k)
{
	size_t	i;

	if (k > t->n)
		k = t->n;
	if (t->key != ui->sort) {
		t->key = ui->sort;
		for (i = 0; i < t->n; i++)
			t->ord[i].key = t->rows[t->ord[i].row].v[t->key];
		t->nsorted = 0;
	}
	if (k <= t->nsorted)
		return;
	table_select(t->ord + t->nsorted, t->n - t->nsorted, k - t->nsorted);
	qsort(t->ord + t->nsorted, k - t->nsorted, sizeof *t->ord, table_cmp);
	t->nsorted = k;
}

/* The position of stack id in the order, or -1 if it has no row. */
static ssize_t
table_rank(struct ui *ui, struct table *t, uint32_t id)
{
	struct table_ord	*o = NULL;
	size_t			 i, rank = 0;

	table_order(ui, t, 0);
	for (i = 0; i < t->n; i++) {
		if (t->ord[i].id == id) {
			o = &t->ord[i];
			break;
		}
	}
	if (o == NULL)
		return (-1);
	for (i = 0; i < t->n; i++) {
		if (table_before(&t->ord[i], o))
			rank++;
	}
	return ((ssize_t)rank);
}

/* Put the cursor in range, and the rows it needs in order. */
static void
table_settle(struct ui *ui, struct table *t, int h)
{
	ssize_t	rank;

	if (ui->follow && ui->selected != 0 &&
	    (rank = table_rank(ui, t, ui->selected)) >= 0)
		t->cursor = (size_t)rank;
	if (t->n == 0)
		t->cursor = t->top = 0;
	else if (t->cursor >= t->n)
		t->cursor = t->n - 1;
	if (h < 1)
		h = 1;
	if (t->cursor < t->top)
		t->top = t->cursor;
	if (t->cursor >= t->top + (size_t)h)
		t->top = t->cursor - (size_t)h + 1;
	if (t->top + (size_t)h > t->n)
		t->top = t->n > (size_t)h ? t->n - (size_t)h : 0;
	table_order(ui, t, t->top + (size_t)h);
	if (t->n != 0)
		ui->selected = t->ord[t->cursor].id;
	else if (!ui->follow)
		ui->selected = 0;
}

/* ------------------------------------------------------------------------
 * The table view.
 */

static void
table_init(struct ui *ui)
{
	ui->table = xcalloc(1, sizeof *ui->table);
	ui->table->key = -1;
}

static void
table_free(struct ui *ui)
{
	free(ui->table->rows);
	free(ui->table->ord);
	free(ui->table);
	ui->table = NULL;
}

/* Take a new snapshot of every stack that ever held memory. */
static void
table_update(struct ui *ui)
{
	struct table		*t = ui->table;
	struct model		*m = ui->model;
	struct model_stack	*st;
	struct table_row	*row;
	uint32_t		 id;
	u_int			 k;
	int			 moment;

	moment = m->history != NULL &&
	    history_kind(m->history, NULL, NULL) != HISTORY_NOW;
	if (t->cap < (size_t)m->ready + 1) {
		t->cap = (size_t)m->ready + 1024;
		t->rows = xreallocarray(t->rows, t->cap, sizeof *t->rows);
		t->ord = xreallocarray(t->ord, t->cap, sizeof *t->ord);
	}
	t->n = 0;
	t->key = ui->sort;
	for (id = 0; id < m->nstacks && t->n < t->cap; id++) {
		if ((st = m->stacks[id]) == NULL)
			continue;
		if (st->agg.total_bytes == 0 && st->agg.live_bytes == 0 &&
		    st->agg.peak_bytes == 0)
			continue;
		row = &t->rows[t->n];
		row->st = st;
		/*
		 * The model's own keys read here, any later ones asked for;
		 * all asked for at a past moment (the timeline, the peak).
		 */
		k = 0;
		if (!moment) {
			row->v[MODEL_SORT_LIVE] = st->agg.live_bytes;
			row->v[MODEL_SORT_PEAK] = st->agg.peak_bytes;
			row->v[MODEL_SORT_TOTAL] = (int64_t)st->agg.total_bytes;
			row->v[MODEL_SORT_COUNT] = st->agg.live_count;
			row->v[MODEL_SORT_ALLOCS] = (int64_t)st->agg.total_count;
			row->v[MODEL_SORT_GROWTH] = st->growth;
			k = MODEL_SORT_GROWTH + 1;
		}
		for (; k < UI_NSORT; k++)
			row->v[k] = model_sort_value(m, st, (int)k);
		t->ord[t->n].key = row->v[t->key];
		t->ord[t->n].id = id;
		t->ord[t->n].row = (uint32_t)t->n;
		t->n++;
	}
	t->nsorted = 0;
	t->allocated = m->cur[MODEL_ALLOCATED];
	table_settle(ui, t, t->height);
}

/* The text of a stack's location: its first interesting frame. */
static void
table_location(struct ui *ui, struct model_stack *st, char *buf, size_t len)
{
	const struct sym_frame	*sf;
	char			 text[512];

	if (st->nframes == 0) {
		snprintf(buf, len, st->id == 0 ? "[not attributed: table full "
		    "or unwinding failed]" : "[no frames]");
		return;
	}
	sf = model_frame(ui->model, st, ui_frame_first(ui->model, st));
	ui_frame_text(sf, text, sizeof text, 1);
	snprintf(buf, len, "%s", text);
}

/* Draw the table: titles and as many rows as fit. */
static void
table_draw(struct ui *ui, const struct ui_rect *r)
{
	struct table		*t = ui->table;
	struct table_row	*row;
	char			 loc[600];
	int			 y, x, attr;
	size_t			 i;

	t->height = r->h - 1;
	table_settle(ui, t, t->height);
	table_titles(ui, r->y, "LOCATION (innermost frame)");
	for (y = 1; y < r->h; y++) {
		i = t->top + (size_t)y - 1;
		ui_fill(ui, r->y + y, r->x, r->w, A_NORMAL);
		if (i >= t->n) {
			if (i == 0 && y == 1)
				ui_put(ui, r->y + y, r->x + 2, r->w - 2,
				    ui_attr(ui, UI_A_DIM), ui->tracked ?
				    "(no stacks yet)" :
				    "(not tracked: no stacks)");
			continue;
		}
		row = table_at(t, i);
		attr = i == t->cursor ? ui_attr(ui, UI_A_CURSOR) : ui_attr(ui, UI_A_NORMAL);
		if (attr != A_NORMAL)
			ui_fill(ui, r->y + y, r->x, r->w, attr);
		x = table_values(ui, r->y + y, row->v, attr);
		table_location(ui, row->st, loc, sizeof loc);
		ui_put(ui, r->y + y, x, r->w - x, attr, loc);
	}
}

/* The detail pane: the selected stack's values and frames. */
static void
table_detail(struct ui *ui, const struct ui_rect *r)
{
	struct table		*t = ui->table;
	struct model		*m = ui->model;
	struct model_stack	*st = NULL;
	struct table_row	*row = NULL;
	struct ui_rect		 fr;
	char			 buf[256], a[16], b[16], c[16], d[16];

	if (t->cursor < t->nsorted)
		row = table_at(t, t->cursor);
	if (row != NULL)
		st = row->st;
	ui_fill(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE));
	if (st == NULL) {
		ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE),
		    "No stack selected");
		for (fr.y = 1; fr.y < r->h; fr.y++)
			ui_fill(ui, r->y + fr.y, r->x, r->w, A_NORMAL);
		return;
	}
	table_count(d, sizeof d, row->v[MODEL_SORT_ALLOCS]);
	snprintf(buf, sizeof buf, "Stack %u: %u frames%s  live %s  peak %s  "
	    "total %s in %s allocations  (Enter: all frames)", st->id,
	    st->nframes, (st->flags & MEMTOP_STACK_TRUNCATED) ?
	    " (truncated)" : "", ui_size(a, sizeof a, row->v[MODEL_SORT_LIVE]),
	    ui_size(b, sizeof b, row->v[MODEL_SORT_PEAK]),
	    ui_size(c, sizeof c, row->v[MODEL_SORT_TOTAL]), d);
	ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE), buf);
	fr = *r;
	fr.y++;
	fr.h--;
	ui_draw_frames(ui, &fr, st, ui_frame_first(m, st), 0);
}

/* Move the cursor. */
static int
table_move(struct ui *ui, int how, int n)
{
	struct table	*t = ui->table;
	ssize_t		 c = (ssize_t)t->cursor;
	int		 h = t->height > 0 ? t->height : 1;

	switch (how) {
	case UI_MOVE_LINE:
		c += n;
		break;
	case UI_MOVE_PAGE:
		c += (ssize_t)n * h;
		break;
	case UI_MOVE_HOME:
		c = 0;
		break;
	case UI_MOVE_END:
		c = (ssize_t)t->n - 1;
		break;
	case UI_MOVE_ROW:
		c = (ssize_t)t->top + n - 1;
		break;
	case UI_MOVE_SCROLL:
		c += n;
		if ((ssize_t)t->top + n >= 0)
			t->top = (size_t)((ssize_t)t->top + n);
		break;
	}
	if (c >= (ssize_t)t->n)
		c = (ssize_t)t->n - 1;
	if (c < 0)
		c = 0;
	t->cursor = (size_t)c;
	if (ui->follow) {
		table_order(ui, t, t->cursor + 1);
		if (t->cursor < t->n)
			ui->selected = t->ord[t->cursor].id;
	}
	table_settle(ui, t, h);
	return (UI_DRAW_MAIN);
}

/* A click: on the titles sorts, on a row selects it. */
static int
table_click(struct ui *ui, int y, int x)
{
	const struct table_column	*c;

	if (y == 0) {
		c = table_column_at(ui, x);
		if (c == NULL || c->sort < 0)
			return (0);
		ui->sort = c->sort;
		ui_message(ui, 0, "sorted by %s", table_sort_names[ui->sort]);
		return (UI_DRAW_MAIN | UI_DRAW_HEADER);
	}
	if (ui->table->top + (size_t)y - 1 >= ui->table->n)
		return (0);
	return (table_move(ui, UI_MOVE_ROW, y));
}

/* Whether any frame of a stack matches the search text. */
static int
table_stack_matches(struct ui *ui, struct model_stack *st, const char *text)
{
	const struct sym_frame	*sf;
	u_int			 i;

	for (i = 0; i < st->nframes; i++) {
		sf = model_frame(ui->model, st, i);
		if (sf != NULL && (ui_match(sf->function, text) ||
		    ui_match(sf->file, text) || ui_match(sf->module, text)))
			return (1);
	}
	return (0);
}

/* Search rows from the cursor (dir 0: from it, 1: after, -1: before). */
static int
table_search(struct ui *ui, const char *text, int dir)
{
	struct table	*t = ui->table;
	size_t		 i, k, n = t->n;

	if (n == 0)
		return (0);
	table_order(ui, t, n);
	for (k = dir == 0 ? 0 : 1; k <= n; k++) {
		if (dir < 0)
			i = (t->cursor + n - k % n) % n;
		else
			i = (t->cursor + k) % n;
		if (table_stack_matches(ui, table_at(t, i)->st, text)) {
			t->cursor = i;
			if (ui->follow)
				ui->selected = t->ord[i].id;
			table_settle(ui, t, t->height);
			return (1);
		}
	}
	return (0);
}

/* Put the cursor on a stack (and follow it). Returns 0, or -1. */
static int
table_select_stack(struct ui *ui, uint32_t id)
{
	struct table	*t = ui->table;
	ssize_t		 rank;

	if ((rank = table_rank(ui, t, id)) < 0)
		return (-1);
	t->cursor = (size_t)rank;
	ui->selected = id;
	table_settle(ui, t, t->height);
	return (0);
}

/* The stack under the cursor, as of the last update or move. */
uint32_t
table_selected(struct ui *ui)
{
	return (ui->selected);
}

struct view table_view = {
	.name = "stacks table",
	.id = UI_VIEW_TABLE,
	.init = table_init,
	.free = table_free,
	.update = table_update,
	.draw = table_draw,
	.detail = table_detail,
	.cursor = table_move,
	.click = table_click,
	.search = table_search,
	.select = table_select_stack,
};

/* ------------------------------------------------------------------------
 * The stack view: every frame of one stack, scrollable.
 */

/* The stack the stack view shows, or NULL. */
static struct model_stack *
stack_get(struct ui *ui)
{
	struct model	*m = ui->model;

	if (ui->stack_id >= m->nstacks)
		return (NULL);
	return (m->stacks[ui->stack_id]);
}

/* Draw the stack view: a title, then one frame per line. */
static void
stack_draw(struct ui *ui, const struct ui_rect *r)
{
	struct model_stack	*st = stack_get(ui);
	struct ui_rect		 fr;
	char			 buf[256], a[16], b[16], c[16];
	int			 max;

	ui_fill(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE));
	if (st == NULL) {
		ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE),
		    "No stack");
		return;
	}
	max = (int)st->nframes - (r->h - 1);
	if (ui->stack_top > max)
		ui->stack_top = max;
	if (ui->stack_top < 0)
		ui->stack_top = 0;
	snprintf(buf, sizeof buf, "Stack %u, innermost frame first: %u "
	    "frames%s  live %s  peak %s  total %s  (Esc: back)", st->id,
	    st->nframes, (st->flags & MEMTOP_STACK_TRUNCATED) ?
	    " (truncated)" : "", ui_size(a, sizeof a, st->agg.live_bytes),
	    ui_size(b, sizeof b, st->agg.peak_bytes),
	    ui_size(c, sizeof c, (int64_t)st->agg.total_bytes));
	ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE), buf);
	fr = *r;
	fr.y++;
	fr.h--;
	ui_draw_frames(ui, &fr, st, 0, (u_int)ui->stack_top);
}

/* Scroll the stack view. */
static int
stack_move(struct ui *ui, int how, int n)
{
	int	h = ui->r_main.h - 1;

	switch (how) {
	case UI_MOVE_LINE:
	case UI_MOVE_SCROLL:
		ui->stack_top += n;
		break;
	case UI_MOVE_PAGE:
		ui->stack_top += n * (h > 1 ? h : 1);
		break;
	case UI_MOVE_HOME:
		ui->stack_top = 0;
		break;
	case UI_MOVE_END:
		ui->stack_top = 1 << 20;
		break;
	}
	return (UI_DRAW_MAIN);
}

/* Search the frames of the stack. */
static int
stack_search(struct ui *ui, const char *text, int dir)
{
	struct model_stack	*st = stack_get(ui);
	const struct sym_frame	*sf;
	int			 i, k, n;

	if (st == NULL || (n = st->nframes) == 0)
		return (0);
	for (k = dir == 0 ? 0 : 1; k <= n; k++) {
		i = dir < 0 ? (ui->stack_top + n - k % n) % n :
		    (ui->stack_top + k) % n;
		sf = model_frame(ui->model, st, (u_int)i);
		if (sf != NULL && (ui_match(sf->function, text) ||
		    ui_match(sf->file, text))) {
			ui->stack_top = i;
			return (1);
		}
	}
	return (0);
}

struct view stack_view = {
	.name = "stack",
	.id = UI_VIEW_STACK,
	.draw = stack_draw,
	.cursor = stack_move,
	.search = stack_search,
};
