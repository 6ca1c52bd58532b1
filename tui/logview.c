/*
 * logview.c: the target's output, read from the capture file.
 *
 * The target writes its stdout and stderr to a file (never to the screen);
 * this view reads what was added since the last update and keeps the last
 * LOG_LINES lines.  Lines are cleaned when read: carriage returns and
 * terminal escape sequences dropped, tabs expanded, other control
 * characters shown as '?' when drawn.  A target that writes faster than
 * LOG_READ_MAX bytes per update has the excess skipped, and the view says
 * so (the file keeps everything).  The view follows the end until the user
 * scrolls up, and again after End.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

#define LOG_LINES	10000		/* lines kept */
#define LOG_LINE_MAX	4096		/* longer lines are cut */
#define LOG_READ_MAX	(4 << 20)	/* bytes read per update at most */

struct logview {
	int		 fd;
	char		*path;
	off_t		 off;		/* read so far */
	uint64_t	 skipped;	/* bytes skipped (too fast) */

	char		**lines;	/* ring of LOG_LINES */
	size_t		 first;
	size_t		 n;
	uint64_t	 dropped;	/* lines gone from the ring */
	char		*partial;	/* the last line, no newline yet */
	size_t		 plen;
	int		 esc;		/* inside an escape sequence */

	size_t		 top;		/* first line shown */
	int		 follow;	/* stay at the end */
	int		 height;
	ssize_t		 match;		/* line found by search, or -1 */
};

/* Line i (0 = the oldest kept). */
static const char *
logview_line(struct logview *lv, size_t i)
{
	if (i < lv->n)
		return (lv->lines[(lv->first + i) % LOG_LINES]);
	if (i == lv->n && lv->plen > 0)
		return (lv->partial);
	return (NULL);
}

/* Lines shown, with the partial last line. */
static size_t
logview_count(struct logview *lv)
{
	return (lv->n + (lv->plen > 0 ? 1 : 0));
}

/* The partial line is complete: move it into the ring. */
static void
logview_push(struct logview *lv)
{
	char	*s;
	size_t	 slot;

	s = xstrndup(lv->partial != NULL ? lv->partial : "", lv->plen);
	lv->plen = 0;
	if (lv->partial != NULL)
		lv->partial[0] = '\0';
	if (lv->n == LOG_LINES) {
		free(lv->lines[lv->first]);
		lv->lines[lv->first] = s;
		lv->first = (lv->first + 1) % LOG_LINES;
		lv->dropped++;
		if (lv->top > 0)
			lv->top--;
		if (lv->match > 0)
			lv->match--;
		return;
	}
	slot = (lv->first + lv->n) % LOG_LINES;
	lv->lines[slot] = s;
	lv->n++;
}

/* Add a character to the partial line. */
static void
logview_addc(struct logview *lv, char c)
{
	if (lv->plen + 2 > LOG_LINE_MAX)
		return;
	if (lv->partial == NULL)
		lv->partial = xmalloc(LOG_LINE_MAX);
	lv->partial[lv->plen++] = c;
	lv->partial[lv->plen] = '\0';
}

/* Take bytes read from the file, cleaning as they come. */
static void
logview_feed(struct logview *lv, const char *buf, size_t len)
{
	size_t	i;
	char	c;

	for (i = 0; i < len; i++) {
		c = buf[i];
		if (lv->esc == 1) {
			/* After ESC: CSI takes parameters, others one byte. */
			lv->esc = c == '[' ? 2 : (c == ']' ? 3 : 0);
			continue;
		}
		if (lv->esc == 2) {
			if ((u_char)c >= 0x40 && (u_char)c <= 0x7e)
				lv->esc = 0;
			continue;
		}
		if (lv->esc == 3) {
			/* OSC: up to BEL (or ESC \). */
			if (c == '\a' || c == '\033')
				lv->esc = c == '\033' ? 1 : 0;
			continue;
		}
		switch (c) {
		case '\n':
			logview_push(lv);
			break;
		case '\r':
			break;
		case '\033':
			lv->esc = 1;
			break;
		case '\t':
			do
				logview_addc(lv, ' ');
			while (lv->plen % 8 != 0 && lv->plen + 2 <= LOG_LINE_MAX);
			break;
		default:
			logview_addc(lv, c);
			break;
		}
	}
}

/* Open the capture file (path may be NULL: nothing to show). */
int
logview_open(struct ui *ui, const char *path)
{
	struct logview	*lv = ui->logview;

	if (path == NULL)
		return (-1);
	free(lv->path);
	lv->path = xstrdup(path);
	lv->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (lv->fd == -1) {
		log_debug("log view: %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

static void
logview_init(struct ui *ui)
{
	struct logview	*lv;

	lv = ui->logview = xcalloc(1, sizeof *ui->logview);
	lv->fd = -1;
	lv->follow = 1;
	lv->match = -1;
	lv->lines = xcalloc(LOG_LINES, sizeof *lv->lines);
}

static void
logview_free(struct ui *ui)
{
	struct logview	*lv = ui->logview;
	size_t		 i;

	for (i = 0; i < lv->n; i++)
		free(lv->lines[(lv->first + i) % LOG_LINES]);
	free(lv->lines);
	free(lv->partial);
	free(lv->path);
	if (lv->fd != -1)
		close(lv->fd);
	free(lv);
	ui->logview = NULL;
}

/* Read what the target wrote since the last update. */
static void
logview_update(struct ui *ui)
{
	struct logview	*lv = ui->logview;
	struct stat	 sb;
	char		 buf[65536];
	ssize_t		 n;
	size_t		 total = 0;
	char		 note[96];

	if (lv->fd == -1 || fstat(lv->fd, &sb) != 0)
		return;
	if (sb.st_size < lv->off)
		lv->off = 0;	/* truncated */
	if (sb.st_size - lv->off > LOG_READ_MAX) {
		snprintf(note, sizeof note, "\n[memtop: %" PRIu64 " bytes of "
		    "output skipped here; the file has them all]\n",
		    (uint64_t)(sb.st_size - lv->off - LOG_READ_MAX / 4));
		lv->skipped += (uint64_t)(sb.st_size - lv->off -
		    LOG_READ_MAX / 4);
		lv->off = sb.st_size - LOG_READ_MAX / 4;
		lv->esc = 0;
		logview_feed(lv, note, strlen(note));
	}
	while (total < LOG_READ_MAX &&
	    (n = pread(lv->fd, buf, sizeof buf, lv->off)) > 0) {
		logview_feed(lv, buf, (size_t)n);
		lv->off += n;
		total += (size_t)n;
	}
}

/* Draw the output, a title line first. */
static void
logview_draw(struct ui *ui, const struct ui_rect *r)
{
	struct logview	*lv = ui->logview;
	const char	*line;
	char		 title[512];
	size_t		 count = logview_count(lv), h, i;
	int		 y;

	lv->height = r->h - 1;
	h = lv->height > 0 ? (size_t)lv->height : 1;
	if (lv->follow || lv->top + h > count)
		lv->top = count > h ? count - h : 0;
	snprintf(title, sizeof title, "Target output: %s  (%zu lines%s; "
	    "End follows, Esc back)", lv->path != NULL ? lv->path : "none",
	    (size_t)(count + lv->dropped), lv->dropped != 0 ?
	    ", the oldest not kept here" : "");
	ui_fill(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE));
	ui_put(ui, r->y, r->x, r->w, ui_attr(ui, UI_A_TITLE), title);
	for (y = 1; y < r->h; y++) {
		i = lv->top + (size_t)y - 1;
		ui_fill(ui, r->y + y, r->x, r->w, A_NORMAL);
		if ((line = logview_line(lv, i)) == NULL) {
			if (i == 0 && y == 1)
				ui_put(ui, r->y + y, r->x + 2, r->w - 2,
				    ui_attr(ui, UI_A_DIM),
				    "(no output from the target yet)");
			continue;
		}
		ui_put(ui, r->y + y, r->x, r->w, (ssize_t)i == lv->match ?
		    ui_attr(ui, UI_A_MATCH) : ui_attr(ui, UI_A_NORMAL), line);
	}
}

/* Scroll. */
static int
logview_move(struct ui *ui, int how, int n)
{
	struct logview	*lv = ui->logview;
	size_t		 count = logview_count(lv);
	size_t		 h = lv->height > 0 ? (size_t)lv->height : 1;
	ssize_t		 top = (ssize_t)lv->top;

	switch (how) {
	case UI_MOVE_LINE:
	case UI_MOVE_SCROLL:
		top += n;
		break;
	case UI_MOVE_PAGE:
		top += (ssize_t)n * (ssize_t)h;
		break;
	case UI_MOVE_HOME:
		top = 0;
		break;
	case UI_MOVE_END:
		top = (ssize_t)count;
		break;
	default:
		return (0);
	}
	if (top + (ssize_t)h >= (ssize_t)count) {
		top = count > h ? (ssize_t)(count - h) : 0;
		lv->follow = 1;
	} else
		lv->follow = 0;
	if (top < 0)
		top = 0;
	lv->top = (size_t)top;
	return (UI_DRAW_MAIN);
}

/* Search lines from the top line shown (dir 0) or past the last match. */
static int
logview_search(struct ui *ui, const char *text, int dir)
{
	struct logview	*lv = ui->logview;
	size_t		 count = logview_count(lv), start, i, k;
	size_t		 h = lv->height > 0 ? (size_t)lv->height : 1;

	if (count == 0)
		return (0);
	start = lv->match >= 0 && dir != 0 ? (size_t)lv->match : lv->top;
	for (k = dir == 0 ? 0 : 1; k <= count; k++) {
		i = dir < 0 ? (start + count - k % count) % count :
		    (start + k) % count;
		if (ui_match(logview_line(lv, i), text)) {
			lv->match = (ssize_t)i;
			lv->follow = 0;
			lv->top = i > h / 2 ? i - h / 2 : 0;
			if (lv->top + h >= count)
				lv->top = count > h ? count - h : 0;
			return (1);
		}
	}
	return (0);
}

struct view log_view = {
	.name = "log",
	.id = UI_VIEW_LOG,
	.init = logview_init,
	.free = logview_free,
	.update = logview_update,
	.draw = logview_draw,
	.cursor = logview_move,
	.search = logview_search,
};
