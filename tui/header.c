/*
 * header.c: the three lines at the top of the live view.
 *
 *	memtop  ./train --epochs 3               pid 1234  running  1:23
 *	allocated 1.21G peak 1.50G  resident 900M peak 1.1G  swapped 0B peak 0B
 *	sampled 256K  stacks 1,234  threads 4  drops 0  refresh 0.1s  message
 *
 * The values come from the snapshot (ui->snap), so they hold still while the
 * screen is frozen; the target's state (running, PAUSED, exited) is always
 * the live one, and FROZEN is shown next to it.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <curses.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

/* Write s at column *x of line y in attribute attr; advance *x. */
static void
header_add(struct ui *ui, int y, int *x, int attr, const char *s)
{
	int	w = ui->sx - *x;

	if (w <= 0)
		return;
	ui_put(ui, y, *x, w, attr, s);
	*x += (int)strlen(s) < w ? (int)strlen(s) : w;
}

/* The target's state as a word, and whether it deserves attention. */
static const char *
header_state(struct ui *ui, char *buf, size_t len, int *warn)
{
	struct launch	*l = ui->launch;

	*warn = 0;
	if (l->exited) {
		if (WIFSIGNALED(l->status))
			snprintf(buf, len, "exited %d (signal %d)",
			    launch_exit_code(l), WTERMSIG(l->status));
		else
			snprintf(buf, len, "exited %d", launch_exit_code(l));
		*warn = launch_exit_code(l) != 0;
		return (buf);
	}
	if (l->stopped) {
		*warn = 1;
		if (ui->model->brk.hit)
			return ("PAUSED at break");
		return ("PAUSED");
	}
	return ("running");
}

/* Line one: the command, pid, state and elapsed time. */
static void
header_line1(struct ui *ui, int y)
{
	struct options	*o = ui->opts;
	char		 right[128], state[64], t[32], *cmd;
	const char	*st, *base;
	size_t		 len = 0, n = 0;
	int		 i, x, warn, rw;

	st = header_state(ui, state, sizeof state, &warn);
	ui_duration(t, sizeof t, ui_now(ui) - ui->model->start_ns);
	snprintf(right, sizeof right, "pid %ld  %s%s  %s",
	    (long)ui->launch->pid, st, ui->frozen ? "  FROZEN" : "", t);
	rw = (int)strlen(right);

	for (i = 0; i < o->argc; i++)
		len += strlen(o->argv[i]) + 1;
	cmd = xmalloc(len + 1);
	cmd[0] = '\0';
	for (i = 0, n = 0; i < o->argc; i++) {
		n += (size_t)snprintf(cmd + n, len + 1 - n, "%s%s",
		    i == 0 ? "" : " ", o->argv[i]);
	}

	ui_fill(ui, y, 0, ui->sx, A_NORMAL);
	x = 0;
	header_add(ui, y, &x, A_BOLD, "memtop ");
	/* A command too long for the line loses its program's directory. */
	if (o->argc > 0 && (int)n > ui->sx - x - rw - 2 &&
	    (base = strrchr(o->argv[0], '/')) != NULL && base[1] != '\0')
		memmove(cmd, cmd + (base + 1 - o->argv[0]),
		    n - (size_t)(base + 1 - o->argv[0]) + 1);
	ui_put(ui, y, x, ui->sx - x - rw - 2, A_NORMAL, cmd);
	free(cmd);

	x = ui->sx - rw;
	if (x < 8)
		x = 8;
	snprintf(right, sizeof right, "pid %ld  ", (long)ui->launch->pid);
	header_add(ui, y, &x, A_NORMAL, right);
	header_add(ui, y, &x, warn ? ui_attr(ui, UI_A_WARN) :
	    ui_attr(ui, UI_A_VALUE), st);
	if (ui->frozen) {
		header_add(ui, y, &x, A_NORMAL, "  ");
		header_add(ui, y, &x, A_REVERSE | A_BOLD, "FROZEN");
	}
	header_add(ui, y, &x, A_NORMAL, "  ");
	header_add(ui, y, &x, A_NORMAL, t);
}

/* One "allocated 1.2G peak 1.5G" group of line two. */
static void
header_series(struct ui *ui, int y, int *x, int i, const char *name)
{
	struct ui_snap	*s = &ui->snap;
	char		 buf[32];

	header_add(ui, y, x, A_NORMAL, name);
	header_add(ui, y, x, A_NORMAL, " ");
	if (s->cur[i] < 0)
		header_add(ui, y, x, ui_attr(ui, UI_A_DIM), "n/a");
	else
		header_add(ui, y, x, ui_attr(ui, UI_A_ALLOCATED + i) | A_BOLD,
		    ui_size(buf, sizeof buf, s->cur[i]));
	header_add(ui, y, x, A_NORMAL, " peak ");
	if (s->peak[i] < 0)
		header_add(ui, y, x, ui_attr(ui, UI_A_DIM), "n/a");
	else
		header_add(ui, y, x, ui_attr(ui, UI_A_ALLOCATED + i),
		    ui_size(buf, sizeof buf, s->peak[i]));
	header_add(ui, y, x, A_NORMAL, "  ");
}

/*
 * The end of line two: how much of the kernel's anonymous resident memory
 * (and swap) the live allocations explain, from the last scan of their
 * pages: "heap 70.0M of 72.5M anon RSS, 1.0M of 1.2M swap".  Shorter forms
 * when the line is short; nothing before the first scan.
 */
static void
header_pages(struct ui *ui, int y, int *x)
{
	struct model_pages	*p = &ui->snap.pages;
	char			 buf[128], a[16], b[16], c[16], d[16];
	int			 left = ui->sx - *x;

	if (!p->valid || p->rss_anon < 0)
		return;
	ui_size(a, sizeof a, p->resident);
	ui_size(b, sizeof b, p->rss_anon);
	ui_size(c, sizeof c, p->swapped);
	ui_size(d, sizeof d, p->vm_swap);
	if (p->vm_swap > 0)
		snprintf(buf, sizeof buf, "heap %s of %s anon RSS, %s of %s "
		    "swap", a, b, c, d);
	else
		snprintf(buf, sizeof buf, "heap %s of %s anon RSS", a, b);
	if ((int)strlen(buf) > left) {
		snprintf(buf, sizeof buf, "heap %s/%s", a, b);
		if ((int)strlen(buf) > left)
			return;
	}
	header_add(ui, y, x, ui_attr(ui, UI_A_RESIDENT), buf);
}

/* Line three: the mode, counts, drops, refresh, and the message. */
static void
header_line3(struct ui *ui, int y)
{
	struct model	*m = ui->model;
	struct ui_snap	*s = &ui->snap;
	char		 buf[128], size[32];
	int		 x = 0;

	ui_fill(ui, y, 0, ui->sx, A_NORMAL);
	if (!ui->tracked)
		header_add(ui, y, &x, ui_attr(ui, UI_A_WARN), "untracked");
	else if (m->attached && (m->glob.state & MEMTOP_ST_DISABLED))
		header_add(ui, y, &x, ui_attr(ui, UI_A_WARN),
		    "tracking stopped");
	else if (ui->opts->exact)
		header_add(ui, y, &x, A_NORMAL, "exact");
	else {
		snprintf(buf, sizeof buf, "sampled 1/%s", ui_size(size,
		    sizeof size, (int64_t)ui->opts->sample_bytes));
		header_add(ui, y, &x, A_NORMAL, buf);
	}
	if (m->glob.python_state == MEMTOP_PY_ACTIVE) {
		snprintf(buf, sizeof buf, "  python %.16s",
		    m->glob.python_version);
		header_add(ui, y, &x, A_NORMAL, buf);
	}
	if (ui->message[0] != '\0') {
		/* The message matters more than the counts. */
		if (s->drops != 0) {
			snprintf(buf, sizeof buf, "  drops %" PRIu64, s->drops);
			header_add(ui, y, &x, A_NORMAL, buf);
		}
		header_add(ui, y, &x, A_NORMAL, "  ");
		header_add(ui, y, &x, ui->message_warn ?
		    ui_attr(ui, UI_A_WARN) : ui_attr(ui, UI_A_VALUE),
		    ui->message);
		return;
	}
	snprintf(buf, sizeof buf, "  stacks %u  threads %u", s->stacks,
	    s->totals.threads);
	header_add(ui, y, &x, A_NORMAL, buf);
	if (m->glob.forks != 0 || m->glob.descendants != 0) {
		/* A fork that exec'd counts once in each: show the larger. */
		snprintf(buf, sizeof buf, "  children %" PRIu64 " untracked",
		    m->glob.forks > m->glob.descendants ? m->glob.forks :
		    (uint64_t)m->glob.descendants);
		header_add(ui, y, &x, ui_attr(ui, UI_A_WARN), buf);
	}
	/*
	 * Samples without their stack (the stack table full, unwinding
	 * failed) or not kept (the live table full): the totals still count
	 * them, the stacks do not, so a warning when there are any.
	 */
	header_add(ui, y, &x, A_NORMAL, "  drops ");
	snprintf(buf, sizeof buf, "%" PRIu64, s->drops);
	header_add(ui, y, &x, s->drops != 0 ? ui_attr(ui, UI_A_WARN) :
	    ui_attr(ui, UI_A_NORMAL), buf);
	if (ui->opts->break_at != 0 && !m->brk.hit) {
		snprintf(buf, sizeof buf, "  break %s", ui_size(size,
		    sizeof size, (int64_t)ui->opts->break_at));
		header_add(ui, y, &x, A_NORMAL, buf);
	}
	snprintf(buf, sizeof buf, "  refresh %.1fs", ui->delay / 10.0);
	header_add(ui, y, &x, ui_attr(ui, UI_A_DIM), buf);
}

/* Draw the header in its rectangle (three lines). */
void
header_draw(struct ui *ui, const struct ui_rect *r)
{
	int	x = 0;

	header_line1(ui, r->y);
	ui_fill(ui, r->y + 1, 0, ui->sx, A_NORMAL);
	header_series(ui, r->y + 1, &x, MODEL_ALLOCATED, "allocated");
	header_series(ui, r->y + 1, &x, MODEL_RESIDENT, "resident");
	header_series(ui, r->y + 1, &x, MODEL_SWAPPED, "swapped");
	header_pages(ui, r->y + 1, &x);
	header_line3(ui, r->y + 2);
}
