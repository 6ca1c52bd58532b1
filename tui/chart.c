/*
 * chart.c: allocated, resident and swapped bytes over time.
 *
 * The chart shows a window of time ending at the screen's "now" (the live
 * moment, the frozen one, or the target's end): the whole run by default,
 * or a fixed length chosen with the zoom keys.  The window is cut into
 * slots, two per column in braille on a UTF-8 terminal with colours, one
 * per column in ASCII otherwise; every point or bucket of the model's
 * series that falls in a slot widens the slot's min and max, so a spike
 * shorter than a slot still shows.  Each line is drawn from the previous
 * slot's last value to this slot's range, so steps are joined.  The y axis
 * is scaled to the largest value in view, rounded up to a round size.
 *
 * Three lines in three colours: allocated (yellow), resident (green),
 * swapped (red); where they share a cell the colour of the one drawn last
 * (allocated, then resident, then swapped below them) wins.
 */

#include "config.h"

#include <sys/types.h>

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tui.h"

#define CHART_NS	UINT64_C(1000000000)
#define CHART_AXIS_W	7	/* "12.3M┤" */

/* The zoom levels: window lengths in seconds, 0 = the whole run. */
static const u_int chart_windows[] = {
	0, 86400, 43200, 21600, 10800, 3600, 1800, 600, 300, 120, 60, 30, 10
};
#define CHART_NWINDOWS	(sizeof chart_windows / sizeof chart_windows[0])

/* One slot of the window: the range of each series in it. */
struct chart_slot {
	int		 have;
	int64_t		 min[MODEL_NSERIES];
	int64_t		 max[MODEL_NSERIES];
	int64_t		 last[MODEL_NSERIES];
};

/* What a walk of the series fills. */
struct chart_walk {
	struct chart_slot *slots;
	u_int		 n;
	uint64_t	 t0;
	uint64_t	 span;
};

/* A cell of the plot: braille dots and the series that owns its colour. */
struct chart_cell {
	uint8_t		 dots;
	int8_t		 owner;
};

/* Braille dot bits by column (0, 1) and row from the top (0 to 3). */
static const uint8_t chart_braille[2][4] = {
	{ 0x01, 0x02, 0x04, 0x40 },
	{ 0x08, 0x10, 0x20, 0x80 }
};
static const char chart_ascii[MODEL_NSERIES] = { '*', '+', 'x' };
static const char *const chart_names[MODEL_NSERIES] = {
	"allocated", "resident", "swapped"
};

/*
 * Change the zoom: dir < 0 zooms in.  From the whole run, zooming in goes
 * to the longest window shorter than the run; a window longer than the
 * run zooms out to the whole run.  Returns -1 at either end.
 */
int
chart_zoom(struct ui *ui, int dir)
{
	uint64_t	run;
	int		z = ui->zoom;

	run = (ui_now(ui) - ui->model->start_ns) / CHART_NS;
	if (dir < 0) {
		z++;
		while (z < (int)CHART_NWINDOWS - 1 && chart_windows[z] >= run)
			z++;
		if (z >= (int)CHART_NWINDOWS || chart_windows[z] >= run)
			return (-1);
	} else {
		if (z == 0)
			return (-1);
		z--;
		if (z > 0 && chart_windows[z] > run)
			z = 0;
	}
	ui->zoom = z;
	return (0);
}

/* The window's name: "whole run" or "1m". */
const char *
chart_window_name(struct ui *ui)
{
	static char	buf[32];
	u_int		s = chart_windows[ui->zoom];

	if (s == 0)
		return ("whole run");
	if (s < 60)
		snprintf(buf, sizeof buf, "%us", s);
	else if (s < 3600)
		snprintf(buf, sizeof buf, "%um", s / 60);
	else
		snprintf(buf, sizeof buf, "%uh", s / 3600);
	return (buf);
}

/*
 * The window of time the chart shows: its start and span (ns), and the
 * width of the plot in columns.
 */
void
chart_window(struct ui *ui, uint64_t *t0, uint64_t *span, int *pw)
{
	uint64_t	t1 = ui_now(ui);

	if (chart_windows[ui->zoom] == 0) {
		*t0 = ui->model->start_ns;
		*span = t1 > *t0 ? t1 - *t0 : 1;
		if (*span < CHART_NS)
			*span = CHART_NS;
	} else {
		*span = (uint64_t)chart_windows[ui->zoom] * CHART_NS;
		*t0 = t1 > *span ? t1 - *span : 0;
	}
	*pw = ui->r_chart.w - CHART_AXIS_W;
}

/* Series walk callback: widen the slot a point or bucket falls in. */
static void
chart_point(uint64_t t, const int64_t *min, const int64_t *max,
    const int64_t *last, void *arg)
{
	struct chart_walk	*w = arg;
	struct chart_slot	*s;
	uint64_t		 i;
	u_int			 k;

	if (t < w->t0)
		return;
	i = (uint64_t)(((double)(t - w->t0) / (double)w->span) * w->n);
	if (i >= w->n)
		i = w->n - 1;
	s = &w->slots[i];
	for (k = 0; k < MODEL_NSERIES; k++) {
		if (!s->have) {
			s->min[k] = min[k];
			s->max[k] = max[k];
		} else {
			if (min[k] >= 0 && (s->min[k] < 0 || min[k] < s->min[k]))
				s->min[k] = min[k];
			if (max[k] > s->max[k])
				s->max[k] = max[k];
		}
		s->last[k] = last[k];
	}
	s->have = 1;
}

/* The smallest round size at or above v. */
static int64_t
chart_round_up(int64_t v)
{
	static const double	steps[] = { 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6,
				    8, 10 };
	double			unit = 1, d;
	u_int			i;

	if (v < 1024)
		return (1024);
	while ((double)v / unit >= 1024)
		unit *= 1024;
	d = (double)v / unit;
	while (d >= 10) {
		d /= 10;
		unit *= 10;
	}
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (steps[i] * unit >= (double)v)
			return ((int64_t)(steps[i] * unit));
	}
	return (v);
}

/* An elapsed time for the time axis: "0s", "45s", "2m", "1m30s", "3h". */
static void
chart_time_label(char *buf, size_t len, uint64_t s)
{
	if (s < 60)
		snprintf(buf, len, "%us", (u_int)s);
	else if (s < 3600 && s % 60 == 0)
		snprintf(buf, len, "%um", (u_int)(s / 60));
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (u_int)(s / 60), (u_int)(s % 60));
	else if (s % 3600 == 0)
		snprintf(buf, len, "%uh", (u_int)(s / 3600));
	else
		snprintf(buf, len, "%uh%02um", (u_int)(s / 3600),
		    (u_int)(s / 60 % 60));
}

/* The legend line: a mark, a name and the current value per series. */
static void
chart_legend(struct ui *ui, const struct ui_rect *r, int braille)
{
	char		 buf[96], size[16], mark[48];
	const char	*win;
	int		 x = r->x, i, wl;

	ui_fill(ui, r->y, r->x, r->w, A_NORMAL);
	for (i = 0; i < MODEL_NSERIES; i++) {
		if (braille)
			snprintf(mark, sizeof mark, "\xe2\x94\x81\xe2\x94\x81");
		else
			snprintf(mark, sizeof mark, "%c%c", chart_ascii[i],
			    chart_ascii[i]);
		ui_put(ui, r->y, x, r->w - (x - r->x),
		    ui_attr(ui, UI_A_ALLOCATED + i) | A_BOLD, mark);
		x += 3;
		if (ui->snap.cur[i] < 0)
			snprintf(buf, sizeof buf, "%s n/a", chart_names[i]);
		else
			snprintf(buf, sizeof buf, "%s %s", chart_names[i],
			    ui_size(size, sizeof size, ui->snap.cur[i]));
		ui_put(ui, r->y, x, r->w - (x - r->x), A_NORMAL, buf);
		x += (int)strlen(buf) + 2;
	}
	win = chart_window_name(ui);
	timeline_label(ui, mark, sizeof mark);
	snprintf(buf, sizeof buf, "%s%swindow %s", mark, *mark != '\0' ?
	    "  " : "", win);
	wl = (int)strlen(buf);
	if (x + wl < r->x + r->w)
		ui_put(ui, r->y, r->x + r->w - wl, wl, ui_attr(ui, UI_A_DIM),
		    buf);
}

/* Draw the time axis under the plot. */
static void
chart_time_axis(struct ui *ui, int y, int x0, int pw, uint64_t t0,
    uint64_t span, uint64_t start)
{
	static const u_int	steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300,
				    600, 900, 1800, 3600, 7200, 10800, 21600,
				    43200, 86400, 172800, 604800 };
	char			label[32];
	uint64_t		want, step = 0, t, rel0;
	u_int			i;
	int			x, last = -1, len;

	ui_fill(ui, y, 0, ui->sx, A_NORMAL);
	if (pw < 10)
		return;
	/* About one label every 12 columns. */
	want = span / CHART_NS * 12 / (uint64_t)pw;
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		step = steps[i];
		if (step >= want)
			break;
	}
	rel0 = t0 > start ? (t0 - start) / CHART_NS : 0;
	for (t = (rel0 + step - 1) / step * step; ; t += step) {
		if (start + t * CHART_NS < t0)
			continue;
		x = x0 + (int)((double)(start + t * CHART_NS - t0) /
		    (double)span * pw);
		if (x >= x0 + pw)
			break;
		chart_time_label(label, sizeof label, t);
		len = (int)strlen(label);
		if (x <= last || x + len > x0 + pw)
			continue;
		ui_put(ui, y, x, len, ui_attr(ui, UI_A_DIM), label);
		last = x + len;
	}
}

/* Pixel row (0 at the bottom) of a value. */
static int
chart_pixel(int64_t v, int64_t ymax, int npix)
{
	double	p;

	if (v <= 0)
		return (0);
	p = (double)v / (double)ymax * (npix - 1) + 0.5;
	if (p > npix - 1)
		p = npix - 1;
	return ((int)p);
}

/* Draw the chart in its rectangle: legend, plot, time axis. */
void
chart_draw(struct ui *ui, const struct ui_rect *r)
{
	struct model		*m = ui->model;
	struct chart_walk	 w;
	struct chart_slot	*s, *prev;
	struct chart_cell	*cells, *c;
	struct ui_rect		 plot;
	uint64_t		 t0, t1, span;
	int64_t			 ymax = 0;
	int			 braille, spc, npix, ph, pw, i, k, p, lo, hi;
	int			 prevpix[MODEL_NSERIES], y, x, row, dy;
	int			 tcur, tmark, tattr, cw;
	char			 label[16], ch[8];
	wchar_t			 wc[2];
	cchar_t			 cc;

	braille = ui->utf8 && ui->color;
	chart_legend(ui, r, braille);
	if (r->h < 3)
		return;
	plot.y = r->y + 1;
	plot.x = r->x + CHART_AXIS_W;
	plot.h = r->h - 2;
	plot.w = r->w - CHART_AXIS_W;
	ph = plot.h;
	pw = plot.w;
	spc = braille ? 2 : 1;
	npix = ph * (braille ? 4 : 1);

	t1 = ui_now(ui);
	chart_window(ui, &t0, &span, &cw);
	timeline_columns(ui, t0, span, pw, &tcur, &tmark);

	w.n = (u_int)(pw * spc);
	w.slots = xcalloc(w.n, sizeof *w.slots);
	w.t0 = t0;
	w.span = span;
	model_series_walk(m, t0, t1, chart_point, &w);

	/* Carry values across empty slots between two points. */
	for (i = 0, prev = NULL; i < (int)w.n; i++) {
		s = &w.slots[i];
		if (s->have) {
			prev = s;
			continue;
		}
		if (prev == NULL)
			continue;
		for (k = i + 1; k < (int)w.n && !w.slots[k].have; k++)
			/* nothing */;
		if (k == (int)w.n)
			break;
		for (p = 0; p < MODEL_NSERIES; p++)
			s->min[p] = s->max[p] = s->last[p] = prev->last[p];
		s->have = 1;
		prev = s;
	}
	for (i = 0; i < (int)w.n; i++) {
		for (k = 0; k < MODEL_NSERIES && w.slots[i].have; k++) {
			if (w.slots[i].max[k] > ymax)
				ymax = w.slots[i].max[k];
		}
	}
	ymax = chart_round_up(ymax);

	/* Plot into cells, swapped first so allocated ends on top. */
	cells = xcalloc((size_t)ph * pw, sizeof *cells);
	for (i = 0; i < ph * pw; i++)
		cells[i].owner = -1;
	for (k = MODEL_NSERIES - 1; k >= 0; k--) {
		prevpix[k] = -1;
		for (i = 0; i < (int)w.n; i++) {
			s = &w.slots[i];
			if (!s->have || s->max[k] < 0) {
				prevpix[k] = -1;
				continue;
			}
			lo = chart_pixel(s->min[k] < 0 ? s->max[k] : s->min[k],
			    ymax, npix);
			hi = chart_pixel(s->max[k], ymax, npix);
			if (prevpix[k] >= 0 && prevpix[k] < lo)
				lo = prevpix[k];
			if (prevpix[k] > hi)
				hi = prevpix[k];
			prevpix[k] = chart_pixel(s->last[k] < 0 ? s->max[k] :
			    s->last[k], ymax, npix);
			x = i / spc;
			for (p = lo; p <= hi; p++) {
				if (braille) {
					row = ph - 1 - p / 4;
					dy = 3 - p % 4;
				} else {
					row = ph - 1 - p;
					dy = 0;
				}
				c = &cells[row * pw + x];
				c->dots |= chart_braille[i % spc][dy];
				c->owner = (int8_t)k;
			}
		}
	}

	/* The y axis and the cells. */
	for (y = 0; y < ph; y++) {
		label[0] = '\0';
		if (y == 0)
			ui_size(label, sizeof label, ymax);
		else if (y == ph - 1)
			snprintf(label, sizeof label, "0");
		else if (ph >= 5 && y == ph / 2 && ph % 2 == 1)
			ui_size(label, sizeof label, ymax / 2);
		snprintf(ch, sizeof ch, "%6.6s", label);
		ui_fill(ui, plot.y + y, r->x, r->w, A_NORMAL);
		ui_put(ui, plot.y + y, r->x, 6, ui_attr(ui, UI_A_DIM), ch);
		if (ui->utf8)
			ui_put(ui, plot.y + y, r->x + 6, 1,
			    ui_attr(ui, UI_A_DIM), label[0] != '\0' ?
			    "\xe2\x94\xa4" : "\xe2\x94\x82");
		else
			ui_put(ui, plot.y + y, r->x + 6, 1,
			    ui_attr(ui, UI_A_DIM), label[0] != '\0' ? "+" : "|");
		for (x = 0; x < pw; x++) {
			c = &cells[y * pw + x];
			/* The timeline's cursor and mark: reversed columns. */
			tattr = x == tcur || x == tmark ? A_REVERSE : 0;
			if (c->owner < 0) {
				if (tattr != 0)
					ui_put(ui, plot.y + y, plot.x + x, 1,
					    (x == tcur ? ui_attr(ui, UI_A_CURSOR) :
					    ui_attr(ui, UI_A_DIM)) | tattr, " ");
				continue;
			}
			if (braille) {
				wc[0] = (wchar_t)(0x2800 + c->dots);
				wc[1] = L'\0';
				setcchar(&cc, wc, 0, 0, NULL);
				attrset(ui_attr(ui, UI_A_ALLOCATED + c->owner) |
				    tattr);
				mvadd_wch(plot.y + y, plot.x + x, &cc);
				attrset(A_NORMAL);
			} else {
				attrset(ui_attr(ui, UI_A_ALLOCATED + c->owner) |
				    tattr);
				mvaddch(plot.y + y, plot.x + x,
				    (u_char)chart_ascii[c->owner]);
				attrset(A_NORMAL);
			}
		}
	}
	chart_time_axis(ui, r->y + r->h - 1, plot.x, pw, t0, span,
	    m->start_ns);
	free(cells);
	free(w.slots);
}
