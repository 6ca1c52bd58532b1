/*
 * ui.c: the live view's terminal, loop, keys and dialogs.
 *
 * All curses setup and teardown is here.  One loop owns time: it polls the
 * terminal, the launcher's signalfd (the target exits, stops, continues;
 * SIGTERM and SIGHUP to memtop) and memtop's own signalfd (SIGINT,
 * SIGWINCH), and wakes on the refresh tick, when the model is updated and
 * the views take a new snapshot unless the screen is frozen.  Only the
 * parts of the screen marked dirty are drawn again.
 *
 * One key table (ui_keys) drives the dispatch, the help screen, the
 * function-key bar and `memtop --list-keys` (which a test compares with
 * the man page).  Handlers return UI_* bits saying what to draw next.
 *
 * The terminal is restored on every way out: quit, a fatal error (through
 * fatal_set_cleanup), the signals memtop handles, and a crash (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT: restore, then die of the same signal).
 * memtop's own stderr goes to a temporary file while curses is up and is
 * printed after.  The target's output goes to a capture file, never to the
 * screen: the log view shows it and its path is printed on exit.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "tui.h"

#ifndef MEMTOP_PKGLIBDIR
#define MEMTOP_PKGLIBDIR "/usr/local/lib/memtop"
#endif

#define UI_NS		UINT64_C(1000000000)
#define UI_MS		UINT64_C(1000000)
/* How long a message stays in the header, and how long a kill waits. */
#define UI_MESSAGE_NS	(5 * UI_NS)
#define UI_KILL_NS	(3 * UI_NS)
/*
 * A view's update on the refresh tick may take at most one part in this
 * many of the time: a view that costs more (a call tree of 100,000
 * stacks) is updated less often; keys that change it update it at once.
 */
#define UI_VIEW_DUTY	40
/* Reading every stack's aggregate takes at most 1/UI_STACKS_DUTY. */
#define UI_STACKS_DUTY	40
/* Keys not in curses. */
#define UI_CTRL(c)	((c) & 0x1f)
#define UI_ESC		27

/* A dialog: a prompt on the bar line, or the quit question. */
#define UI_DIALOG_NONE	0
#define UI_DIALOG_PROMPT 1
#define UI_DIALOG_QUIT	2
struct ui_dialog {
	int		 kind;
	char		 title[128];
	char		 buf[128];
	size_t		 len;
	int		 (*done)(struct ui *, const char *);
};

/* How the run is going, beyond the launcher's own state. */
struct ui_run {
	int		 quit_on_exit;	/* a signal was passed on: quit at end */
	int		 signals;	/* signals passed on to the target */
	uint64_t	 kill_ns;	/* when we asked it to die, or 0 */
	int		 detached;	/* left running */
	int		 break_seen;	/* the break hit was shown */
	int		 final;		/* the model had its last update */
	int		 tty_gone;	/* the terminal hung up */
	char		*capture;	/* the target's output */
	int		 capture_temp;	/* a file memtop named */
};

static struct ui_dialog	 ui_dialog;
static struct ui_run	 ui_run;
static int		 ui_curses;	/* curses is up */
static int		 ui_stderr = -1;	/* the real stderr while up */
static int		 ui_errfile = -1;	/* where stderr goes meanwhile */
static int		 ui_sigfd = -1;

static struct view *const ui_views[] = {
	&table_view, &tree_view, &stack_view, &log_view, NULL
};

static int	ui_help_draw_lines(struct ui *, const struct ui_rect *);
static void	ui_snapshot(struct ui *, int);

/* ------------------------------------------------------------------------
 * Small helpers the views share.
 */

/* The moment the screen shows: frozen, the end of the run, or now. */
uint64_t
ui_now(struct ui *ui)
{
	if (ui->frozen)
		return (ui->snap.now_ns);
	if (ui->launch->exited && ui->launch->end_ns != 0)
		return (ui->launch->end_ns);
	return (ui->model->now_ns);
}

/* A size in at most six columns: "512B", "1.23K", "12.3M", "132G". */
const char *
ui_size(char *buf, size_t len, int64_t v)
{
	static const char	 units[] = "BKMGTPE";
	double			 d;
	u_int			 u = 0;
	const char		*sign = "";

	if (v < 0) {
		sign = "-";
		v = v == INT64_MIN ? INT64_MAX : -v;
	}
	if (v < 1024) {
		snprintf(buf, len, "%s%dB", sign, (int)v);
		return (buf);
	}
	d = (double)v;
	while (d >= 1024 && u < sizeof units - 2) {
		d /= 1024;
		u++;
	}
	if (d >= 999.5 && u < sizeof units - 2) {
		d /= 1024;
		u++;
	}
	if (d < 9.995)
		snprintf(buf, len, "%s%.2f%c", sign, d, units[u]);
	else if (d < 99.95)
		snprintf(buf, len, "%s%.1f%c", sign, d, units[u]);
	else
		snprintf(buf, len, "%s%.0f%c", sign, d, units[u]);
	return (buf);
}

/* A duration: "12.3s", "4:05", "1:02:03", "3d04h". */
const char *
ui_duration(char *buf, size_t len, uint64_t ns)
{
	uint64_t	s = ns / UI_NS;

	if (s < 60)
		snprintf(buf, len, "%.1fs", (double)ns / UI_NS);
	else if (s < 3600)
		snprintf(buf, len, "%u:%02u", (u_int)(s / 60), (u_int)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%u:%02u:%02u", (u_int)(s / 3600),
		    (u_int)(s / 60 % 60), (u_int)(s % 60));
	else
		snprintf(buf, len, "%ud%02uh", (u_int)(s / 86400),
		    (u_int)(s / 3600 % 24));
	return (buf);
}

/* The curses attribute for one of the UI_A_* roles. */
int
ui_attr(struct ui *ui, int which)
{
	if (ui->color) {
		switch (which) {
		case UI_A_NORMAL:
			return (A_NORMAL);
		case UI_A_VALUE:
			return (COLOR_PAIR(which) | A_BOLD);
		case UI_A_WARN:
			return (COLOR_PAIR(which) | A_BOLD);
		case UI_A_DIM:
			return (A_DIM);
		default:
			return (COLOR_PAIR(which));
		}
	}
	switch (which) {
	case UI_A_TITLE:
	case UI_A_CURSOR:
	case UI_A_BARLABEL:
		return (A_REVERSE);
	case UI_A_WARN:
	case UI_A_VALUE:
	case UI_A_BARKEY:
	case UI_A_MATCH:
		return (A_BOLD);
	case UI_A_DIM:
		return (A_DIM);
	}
	return (A_NORMAL);
}

/*
 * Write s at (y, x) in at most w columns with attribute attr, replacing
 * what cannot be shown (control characters, invalid UTF-8, anything but
 * ASCII on a terminal that is not UTF-8) with '?'.
 */
void
ui_put(struct ui *ui, int y, int x, int w, int attr, const char *s)
{
	mbstate_t	ps;
	wchar_t		wc;
	size_t		n;
	int		cw, used = 0;
	char		c;

	if (w <= 0 || y < 0 || y >= ui->sy || x >= ui->sx)
		return;
	if (x + w > ui->sx)
		w = ui->sx - x;
	attrset(attr);
	move(y, x);
	memset(&ps, 0, sizeof ps);
	while (*s != '\0' && used < w) {
		if (ui->utf8) {
			n = mbrtowc(&wc, s, strlen(s), &ps);
			if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
				memset(&ps, 0, sizeof ps);
				wc = L'?';
				n = 1;
			}
			if (wc < 32 || wc == 127)
				wc = L'?';
			cw = wcwidth(wc);
			if (cw < 0) {
				wc = L'?';
				cw = 1;
			}
			if (used + cw > w)
				break;
			addnwstr(&wc, 1);
		} else {
			c = *s;
			if ((u_char)c < 32 || (u_char)c > 126)
				c = '?';
			addch((u_char)c);
			n = 1;
			cw = 1;
		}
		s += n;
		used += cw;
	}
	attrset(A_NORMAL);
}

/* Fill w columns at (y, x) with spaces in attribute attr. */
void
ui_fill(struct ui *ui, int y, int x, int w, int attr)
{
	if (w <= 0 || y < 0 || y >= ui->sy || x >= ui->sx)
		return;
	if (x + w > ui->sx)
		w = ui->sx - x;
	attrset(attr);
	mvhline(y, x, ' ', w);
	attrset(A_NORMAL);
}

/* Whether text contains pattern, ignoring ASCII case. */
int
ui_match(const char *text, const char *pattern)
{
	size_t	n = strlen(pattern);

	if (text == NULL || n == 0)
		return (0);
	for (; *text != '\0'; text++) {
		if (strncasecmp(text, pattern, n) == 0)
			return (1);
	}
	return (0);
}

/* Whether a function is an allocator's own frame (not worth showing). */
static int
ui_allocator_frame(const struct sym_frame *sf)
{
	static const char *const names[] = {
		"malloc", "calloc", "realloc", "free", "reallocarray",
		"posix_memalign", "aligned_alloc", "memalign", "valloc",
		"pvalloc", "strdup", "strndup", "__libc_malloc",
		"__libc_calloc", "__libc_realloc", NULL
	};
	u_int	i;

	if (sf == NULL || sf->kind != SYM_NATIVE || !sf->resolved)
		return (0);
	if (strncmp(sf->function, "operator new", 12) == 0)
		return (1);
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(sf->function, names[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * The first frame of a stack worth naming it by: in a Python program the
 * innermost Python frame (the interpreter's own C frames below it say
 * little), else the innermost frame past the allocator's own (operator
 * new, strdup); 0 when there is no such frame.
 */
u_int
ui_frame_first(struct model *m, struct model_stack *st)
{
	u_int	i;

	if (st->flags & MEMTOP_STACK_PYTHON) {
		for (i = 0; i < st->nframes; i++) {
			if (MEMTOP_FRAME_IS_PYTHON(st->frames[i]))
				return (i);
		}
	}
	/* symbols_resolve, not model_frame: no per-stack cache to fill. */
	for (i = 0; i < st->nframes && i < 8; i++) {
		if (!ui_allocator_frame(symbols_resolve(m->symbols,
		    st->frames[i])))
			return (i);
	}
	return (0);
}

/*
 * A frame as text: "function file:line", with only the file's base name
 * when short is set.
 */
void
ui_frame_text(const struct sym_frame *sf, char *buf, size_t len, int shortname)
{
	const char	*file;

	if (sf == NULL) {
		snprintf(buf, len, "[no frames]");
		return;
	}
	file = sf->file;
	if (file != NULL && shortname && strrchr(file, '/') != NULL)
		file = strrchr(file, '/') + 1;
	if (file != NULL && sf->line != 0)
		snprintf(buf, len, "%s %s:%u", sf->function, file, sf->line);
	else if (file != NULL)
		snprintf(buf, len, "%s %s", sf->function, file);
	else if (sf->module != NULL && !sf->resolved)
		snprintf(buf, len, "%s", sf->function);
	else if (sf->module != NULL)
		snprintf(buf, len, "%s (%s)", sf->function, sf->module);
	else
		snprintf(buf, len, "%s", sf->function);
}

/*
 * Draw the frames of a stack from frame first + top on, one a line:
 * "#3  function  file:line  module".  The frames below the one the stack
 * is named by (ui_frame_first) are dimmed.
 */
void
ui_draw_frames(struct ui *ui, const struct ui_rect *r, struct model_stack *st,
    u_int first, u_int top)
{
	const struct sym_frame	*sf;
	char			 line[1024], text[900];
	u_int			 i, named;
	int			 y, attr;

	named = st != NULL ? ui_frame_first(ui->model, st) : 0;
	for (y = 0; y < r->h; y++) {
		ui_fill(ui, r->y + y, r->x, r->w, A_NORMAL);
		i = first + top + (u_int)y;
		if (st == NULL || i >= st->nframes)
			continue;
		sf = model_frame(ui->model, st, i);
		ui_frame_text(sf, text, sizeof text, 0);
		if (sf != NULL && sf->module != NULL && sf->file != NULL)
			snprintf(line, sizeof line, "#%-3u %s  %s", i, text,
			    sf->module);
		else
			snprintf(line, sizeof line, "#%-3u %s", i, text);
		if (i < named)
			attr = ui_attr(ui, UI_A_DIM);
		else if (sf != NULL && sf->kind == SYM_PYTHON)
			attr = ui_attr(ui, UI_A_VALUE);
		else
			attr = ui_attr(ui, UI_A_NORMAL);
		ui_put(ui, r->y + y, r->x, r->w, attr, line);
	}
}

/* Set the message on the header's last line; warn makes it stand out. */
void
ui_message(struct ui *ui, int warn, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(ui->message, sizeof ui->message, fmt, ap);
	va_end(ap);
	ui->message_warn = warn;
	ui->message_ns = warn ? 0 : format_now_ns();
	ui->dirty |= UI_DRAW_HEADER;
	log_debug("message: %s", ui->message);
}

/* ------------------------------------------------------------------------
 * The terminal: start, stop, restore on every path.
 */

/* Put stderr back and print what memtop wrote to it meanwhile. */
static void
ui_stderr_restore(void)
{
	char	buf[4096];
	ssize_t	n;

	if (ui_stderr == -1)
		return;
	dup2(ui_stderr, STDERR_FILENO);
	close(ui_stderr);
	ui_stderr = -1;
	if (ui_errfile == -1)
		return;
	if (lseek(ui_errfile, 0, SEEK_SET) == 0) {
		while ((n = read(ui_errfile, buf, sizeof buf)) > 0) {
			if (write(STDERR_FILENO, buf, (size_t)n) != n)
				break;
		}
	}
	close(ui_errfile);
	ui_errfile = -1;
}

/* Leave curses and restore stderr; safe to call twice. */
static void
ui_term_stop(void)
{
	if (ui_curses) {
		ui_curses = 0;
		mousemask(0, NULL);
		endwin();
		/* Turn mouse reporting off even if endwin did not. */
		fputs("\033[?1000l\033[?1002l\033[?1006l", stdout);
		fflush(stdout);
	}
	ui_stderr_restore();
}

/* A crash of memtop: restore the terminal, then die of the same signal. */
static void
ui_crash(int sig)
{
	static const char	msg[] = "memtop: crashed; the target may still be "
				    "running\n";

	ui_term_stop();
	if (write(STDERR_FILENO, msg, sizeof msg - 1) == -1) {
		/* nothing to do */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* fatal() and fatalx() restore the terminal before they print. */
static void
ui_fatal_cleanup(void)
{
	ui_term_stop();
}

/* Send memtop's stderr to a temporary file while curses is up. */
static void
ui_stderr_capture(void)
{
	const char	*dir = getenv("TMPDIR");
	char		 path[4096];
	int		 fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(path, sizeof path, "%s/memtop-err.XXXXXX", dir);
		if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
			return;
		unlink(path);
	}
	ui_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (ui_stderr == -1) {
		close(fd);
		return;
	}
	ui_errfile = fd;
	dup2(fd, STDERR_FILENO);
}

/* Start curses: colours, keys, mouse, the crash handlers. */
static void
ui_term_start(struct ui *ui)
{
	struct sigaction	sa;
	const char		*cs;

	ui->utf8 = (cs = nl_langinfo(CODESET)) != NULL &&
	    strcasecmp(cs, "UTF-8") == 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ui_crash;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	fatal_set_cleanup(ui_fatal_cleanup);

	ui_stderr_capture();
	if (initscr() == NULL)
		fatalx("cannot start curses");
	ui_curses = 1;
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	intrflush(stdscr, FALSE);
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED |
	    BUTTON5_PRESSED, NULL);
	mouseinterval(0);

	ui->color = has_colors();
	if (ui->color) {
		start_color();
		use_default_colors();
		init_pair(UI_A_ALLOCATED, COLOR_YELLOW, -1);
		init_pair(UI_A_RESIDENT, COLOR_GREEN, -1);
		init_pair(UI_A_SWAPPED, COLOR_RED, -1);
		init_pair(UI_A_TITLE, COLOR_BLACK, COLOR_GREEN);
		init_pair(UI_A_CURSOR, COLOR_BLACK, COLOR_CYAN);
		init_pair(UI_A_BARKEY, -1, -1);
		init_pair(UI_A_BARLABEL, COLOR_BLACK, COLOR_CYAN);
		init_pair(UI_A_WARN, COLOR_RED, -1);
		init_pair(UI_A_VALUE, COLOR_CYAN, -1);
		init_pair(UI_A_MATCH, COLOR_BLACK, COLOR_YELLOW);
	}
}

/* ------------------------------------------------------------------------
 * Layout and drawing.
 */

/* Place the header, chart, main area, detail pane and bar. */
static void
ui_layout(struct ui *ui)
{
	int	rest, ch, dh;

	getmaxyx(stdscr, ui->sy, ui->sx);
	ui->small = ui->sx < UI_MIN_COLS || ui->sy < UI_MIN_LINES;
	memset(&ui->r_header, 0, sizeof ui->r_header);
	memset(&ui->r_chart, 0, sizeof ui->r_chart);
	memset(&ui->r_main, 0, sizeof ui->r_main);
	memset(&ui->r_detail, 0, sizeof ui->r_detail);
	memset(&ui->r_bar, 0, sizeof ui->r_bar);
	if (ui->small)
		return;

	ui->r_header = (struct ui_rect){ 0, 0, 3, ui->sx };
	ui->r_bar = (struct ui_rect){ ui->sy - 1, 0, 1, ui->sx };
	rest = ui->sy - 4;
	ch = rest * 3 / 10;
	if (ch < 5)
		ch = 5;
	if (ch > 24)
		ch = 24;
	ui->r_chart = (struct ui_rect){ 3, 0, ch, ui->sx };
	rest -= ch;
	ui->r_main = (struct ui_rect){ 3 + ch, 0, rest, ui->sx };
	if (ui->detail && ui->view->detail != NULL) {
		dh = rest / 3;
		if (dh < 3)
			dh = 3;
		if (dh > 14)
			dh = 14;
		ui->r_main.h -= dh;
		ui->r_detail = (struct ui_rect){ ui->r_main.y + ui->r_main.h,
		    0, dh, ui->sx };
	}
}

/*
 * The bar's items for the current view: the entries with a label, by key
 * (F1 to F10), and where each starts; xs[n] is where the last one ends.
 */
static void
ui_bar_items(struct ui *ui, int *xs, const struct ui_key **items, int *n)
{
	const struct ui_key	*k, *t;
	int			 x = 0, i, j;

	*n = 0;
	for (k = ui_keys; k->name != NULL && *n < 16; k++) {
		if (k->bar != NULL && (k->views & ui->view->id) != 0)
			items[(*n)++] = k;
	}
	for (i = 1; i < *n; i++) {
		t = items[i];
		for (j = i; j > 0 && items[j - 1]->key > t->key; j--)
			items[j] = items[j - 1];
		items[j] = t;
	}
	for (i = 0; i < *n; i++) {
		xs[i] = x;
		x += (int)strlen(items[i]->name) + 6;
	}
	xs[*n] = x;
}

/* The function-key bar, or the prompt when one is open. */
static void
ui_draw_bar(struct ui *ui)
{
	const struct ui_key	*items[17];
	int			 xs[17], n, i, y = ui->r_bar.y;
	char			 label[16];

	ui_fill(ui, y, 0, ui->sx, A_NORMAL);
	if (ui_dialog.kind == UI_DIALOG_PROMPT) {
		ui_put(ui, y, 0, ui->sx, ui_attr(ui, UI_A_VALUE),
		    ui_dialog.title);
		i = (int)strlen(ui_dialog.title);
		ui_put(ui, y, i, ui->sx - i - 1, A_NORMAL, ui_dialog.buf);
		i += (int)ui_dialog.len;
		if (i < ui->sx)
			ui_fill(ui, y, i, 1, A_REVERSE);
		return;
	}
	ui_bar_items(ui, xs, items, &n);
	for (i = 0; i < n; i++) {
		ui_put(ui, y, xs[i], ui->sx - xs[i], ui_attr(ui, UI_A_BARKEY),
		    items[i]->name);
		snprintf(label, sizeof label, "%-6.6s", items[i]->bar);
		ui_put(ui, y, xs[i] + (int)strlen(items[i]->name),
		    ui->sx - xs[i] - (int)strlen(items[i]->name),
		    ui_attr(ui, UI_A_BARLABEL), label);
	}
	if (xs[n] < ui->sx)
		ui_fill(ui, y, xs[n], ui->sx - xs[n], ui_attr(ui, UI_A_BARLABEL));
}

/* The quit question, in a box in the middle of the screen. */
static void
ui_draw_quit(struct ui *ui)
{
	static const char *const text[] = {
		"",
		"  k  kill it and quit",
		"  l  leave it running and quit (its output still",
		"     goes to the capture file)",
		"  c  cancel (Esc)",
		"",
	};
	char	 title[128];
	int	 w = 56, h = 8, y0, x0, i;

	snprintf(title, sizeof title, " The target (pid %ld) is still "
	    "running. ", (long)ui->launch->pid);
	if (w > ui->sx)
		w = ui->sx;
	y0 = (ui->sy - h) / 2;
	x0 = (ui->sx - w) / 2;
	for (i = 0; i < h; i++)
		ui_fill(ui, y0 + i, x0, w, ui_attr(ui, UI_A_CURSOR));
	ui_put(ui, y0, x0 + 1, w - 2, ui_attr(ui, UI_A_CURSOR) | A_BOLD,
	    title);
	for (i = 0; i < (int)(sizeof text / sizeof text[0]); i++)
		ui_put(ui, y0 + 1 + i, x0 + 1, w - 2, ui_attr(ui, UI_A_CURSOR),
		    text[i]);
}

/* Draw whatever is dirty, then send it to the terminal. */
static void
ui_draw(struct ui *ui)
{
	char	msg[64];
	int	d = ui->dirty;

	ui->dirty = 0;
	if (d & UI_LAYOUT) {
		ui_layout(ui);
		erase();
		d |= UI_DRAW_ALL;
	}
	if (ui->small) {
		erase();
		snprintf(msg, sizeof msg, "memtop needs at least %dx%d",
		    UI_MIN_COLS, UI_MIN_LINES);
		ui_put(ui, 0, 0, ui->sx, ui_attr(ui, UI_A_WARN), msg);
		snprintf(msg, sizeof msg, "(now %dx%d; q quits)", ui->sx,
		    ui->sy);
		ui_put(ui, 1, 0, ui->sx, A_NORMAL, msg);
		refresh();
		return;
	}
	if (d & UI_DRAW_HEADER)
		header_draw(ui, &ui->r_header);
	if (d & UI_DRAW_CHART)
		chart_draw(ui, &ui->r_chart);
	if (d & UI_DRAW_MAIN) {
		if (ui->view->id == UI_VIEW_HELP)
			ui_help_draw_lines(ui, &ui->r_main);
		else
			ui->view->draw(ui, &ui->r_main);
		if (ui->r_detail.h > 0)
			ui->view->detail(ui, &ui->r_detail);
	}
	if (d & UI_DRAW_BAR)
		ui_draw_bar(ui);
	if (ui_dialog.kind == UI_DIALOG_QUIT)
		ui_draw_quit(ui);
	refresh();
}

/* Switch the main area to another view. */
static int
ui_switch(struct ui *ui, struct view *v)
{
	if (ui->view == v)
		return (0);
	if (ui->view->id & (UI_VIEW_TABLE | UI_VIEW_TREE))
		ui->back = ui->view;
	ui->view = v;
	ui->view_next_ns = 0;
	if (v->update != NULL && !ui->frozen)
		ui_snapshot(ui, 1);
	return (UI_LAYOUT);
}

/*
 * Take a new snapshot for the header and the view on screen (the view only
 * when its budget allows, unless force is set).
 */
static void
ui_snapshot(struct ui *ui, int force)
{
	struct model	*m = ui->model;
	struct ui_snap	*s = &ui->snap;
	uint64_t	 t0, t1;

	s->now_ns = m->now_ns;
	if (ui->launch->exited && ui->launch->end_ns != 0)
		s->now_ns = ui->launch->end_ns;
	memcpy(s->cur, m->cur, sizeof s->cur);
	memcpy(s->peak, m->peak, sizeof s->peak);
	memcpy(s->peak_ns, m->peak_ns, sizeof s->peak_ns);
	s->totals = m->totals;
	s->drops = m->glob.stack_table_full + m->glob.unwind_failures +
	    m->glob.live_table_full;
	s->stacks = m->ready;
	s->pages = m->pages;
	/* Only the view on screen: the others catch up when shown. */
	if (ui->view->update == NULL)
		return;
	t0 = format_now_ns();
	if (!force && t0 < ui->view_next_ns)
		return;
	ui->view->update(ui);
	t1 = format_now_ns();
	ui->view_cost_ns = t1 - t0;
	ui->view_next_ns = t0 + ui->view_cost_ns * UI_VIEW_DUTY;

}

/* ------------------------------------------------------------------------
 * The target: polling, break, pause, kill.
 */

/* Read the target's /proc status and update the model. */
static void
ui_poll_target(struct ui *ui)
{
	struct procfs_status	 st;
	struct launch		*l = ui->launch;

	if (ui_run.final)
		return;
	if (l->exited || procfs_read_status(l->pid, &st) != 0)
		st.valid = 0;
	if (l->exited)
		ui->model->stacks_next_ns = 0;	/* the final state, whole */
	model_update(ui->model, &st, segment_resident(ui->segment),
	    format_now_ns());
	if (l->exited) {
		model_final(ui->model, &l->rusage, l->end_ns);
		ui_run.final = 1;
	}
}

/* Show a break that was hit: its stack, selected, and a message. */
static void
ui_check_break(struct ui *ui)
{
	struct model_break	*b = &ui->model->brk;
	char			 a[16], t[16], s[16];

	if (!b->hit || ui_run.break_seen)
		return;
	ui_run.break_seen = 1;
	ui->frozen = 0;
	ui_snapshot(ui, 1);
	ui_switch(ui, &table_view);
	ui->follow = 1;
	if (table_view.select(ui, b->stack) != 0)
		log_debug("break stack %u not in the table", b->stack);
	ui_message(ui, 1, "BREAK: allocated %s >= %s at a %s allocation "
	    "(stack %u, selected); p resumes", ui_size(a, sizeof a,
	    (int64_t)b->allocated), ui_size(t, sizeof t, (int64_t)b->bytes),
	    ui_size(s, sizeof s, (int64_t)b->size), b->stack);
	ui->dirty |= UI_LAYOUT;
}

/* What the launcher said happened to the target. */
static void
ui_target_event(struct ui *ui, int event)
{
	struct launch	*l = ui->launch;
	char		 buf[64];

	switch (event) {
	case LAUNCH_EVENT_EXITED:
		ui_poll_target(ui);
		if (!ui->frozen)
			ui_snapshot(ui, 1);
		if (WIFSIGNALED(l->status))
			snprintf(buf, sizeof buf, "killed by signal %d",
			    WTERMSIG(l->status));
		else
			snprintf(buf, sizeof buf, "exited with status %d",
			    launch_exit_code(l));
		ui_message(ui, 0, "the target %s; q quits", buf);
		ui->message_ns = 0;
		/*
		 * l->forwarded: a SIGTERM or SIGHUP forwarded in the same
		 * launch_poll that found the target dead of it (the exit
		 * took the place of LAUNCH_EVENT_SIGNAL).
		 */
		if (ui->opts->exit_with_target || ui_run.quit_on_exit ||
		    ui_run.kill_ns != 0 || l->forwarded != 0)
			ui->dirty |= UI_QUIT;
		ui->dirty |= UI_DRAW_ALL;
		break;
	case LAUNCH_EVENT_STOPPED:
		ui_poll_target(ui);
		ui_check_break(ui);
		ui->dirty |= UI_DRAW_HEADER;
		break;
	case LAUNCH_EVENT_CONTINUED:
		if (ui_run.break_seen && ui->message_ns == 0 &&
		    strncmp(ui->message, "BREAK", 5) == 0)
			ui->message[0] = '\0';
		ui->dirty |= UI_DRAW_HEADER;
		break;
	case LAUNCH_EVENT_SIGNAL:
		ui_run.signals++;
		ui_run.quit_on_exit = 1;
		if (ui_run.signals > 1) {
			kill(l->pid, SIGKILL);
			ui_message(ui, 1, "second signal: target killed");
		} else {
			ui_message(ui, 1, "signal %d passed to the target; "
			    "memtop quits when it exits", l->forwarded);
			if (l->stopped)
				kill(l->pid, SIGCONT);
		}
		break;
	}
}

/* Signals to memtop itself: SIGINT from outside, SIGWINCH. */
static void
ui_signals(struct ui *ui)
{
	struct signalfd_siginfo	si;
	struct launch		*l = ui->launch;
	struct winsize		ws;

	while (read(ui_sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
			    ws.ws_row > 0 && ws.ws_col > 0)
				resizeterm(ws.ws_row, ws.ws_col);
			ui->dirty |= UI_LAYOUT;
			break;
		case SIGINT:
			if (l->exited) {
				ui->dirty |= UI_QUIT;
				break;
			}
			l->forwarded = SIGINT;
			kill(l->pid, SIGINT);
			ui_target_event(ui, LAUNCH_EVENT_SIGNAL);
			break;
		}
	}
}

/* After the target exited, the launcher's signals: quit on TERM or HUP. */
static void
ui_signals_after(struct ui *ui)
{
	struct signalfd_siginfo	si;

	while (read(ui->launch->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
			ui->dirty |= UI_QUIT;
	}
}

/* Ask the target to end: SIGTERM (and SIGCONT if stopped), SIGKILL later. */
static void
ui_kill_target(struct ui *ui)
{
	struct launch	*l = ui->launch;

	if (l->exited)
		return;
	kill(l->pid, SIGTERM);
	kill(l->pid, SIGCONT);
	ui_run.kill_ns = format_now_ns();
	ui_message(ui, 1, "terminating the target (SIGTERM, then SIGKILL in "
	    "%u s)", (u_int)(UI_KILL_NS / UI_NS));
}

/* ------------------------------------------------------------------------
 * Dialogs.
 */

/* Open a prompt on the bar line; done gets the text on Enter. */
static int
ui_prompt(struct ui *ui, const char *title, const char *initial,
    int (*done)(struct ui *, const char *))
{
	memset(&ui_dialog, 0, sizeof ui_dialog);
	ui_dialog.kind = UI_DIALOG_PROMPT;
	snprintf(ui_dialog.title, sizeof ui_dialog.title, "%s", title);
	snprintf(ui_dialog.buf, sizeof ui_dialog.buf, "%s", initial);
	ui_dialog.len = strlen(ui_dialog.buf);
	ui_dialog.done = done;
	return (UI_DRAW_BAR);
}

/* A key while a dialog is open. */
static int
ui_dialog_key(struct ui *ui, int key)
{
	char	buf[sizeof ui_dialog.buf];
	int	(*done)(struct ui *, const char *);

	if (ui_dialog.kind == UI_DIALOG_QUIT) {
		switch (key) {
		case 'k':
		case 'K':
		case UI_CTRL('c'):
			ui_dialog.kind = UI_DIALOG_NONE;
			ui_kill_target(ui);
			return (UI_DRAW_ALL);
		case 'l':
		case 'L':
			ui_dialog.kind = UI_DIALOG_NONE;
			ui_run.detached = 1;
			return (UI_QUIT);
		case 'c':
		case 'C':
		case UI_ESC:
		case 'q':
			ui_dialog.kind = UI_DIALOG_NONE;
			return (UI_LAYOUT);
		}
		return (0);
	}

	switch (key) {
	case UI_ESC:
	case UI_CTRL('c'):
	case UI_CTRL('g'):
		ui_dialog.kind = UI_DIALOG_NONE;
		return (UI_DRAW_BAR);
	case '\r':
	case '\n':
	case KEY_ENTER:
		ui_dialog.kind = UI_DIALOG_NONE;
		memcpy(buf, ui_dialog.buf, sizeof buf);
		done = ui_dialog.done;
		return (UI_DRAW_BAR | done(ui, buf));
	case KEY_BACKSPACE:
	case 127:
	case UI_CTRL('h'):
		if (ui_dialog.len > 0)
			ui_dialog.buf[--ui_dialog.len] = '\0';
		return (UI_DRAW_BAR);
	case UI_CTRL('u'):
		ui_dialog.len = 0;
		ui_dialog.buf[0] = '\0';
		return (UI_DRAW_BAR);
	}
	if (key >= 32 && key < 127 && ui_dialog.len + 1 < sizeof ui_dialog.buf) {
		ui_dialog.buf[ui_dialog.len++] = (char)key;
		ui_dialog.buf[ui_dialog.len] = '\0';
		return (UI_DRAW_BAR);
	}
	return (0);
}

/* ------------------------------------------------------------------------
 * Key handlers.
 */

/* q, F10: quit at once after the target ended, else ask. */
static int
ui_key_quit(struct ui *ui, int key)
{
	if (ui->launch->exited)
		return (UI_QUIT);
	if (ui_run.kill_ns != 0)
		return (0);
	memset(&ui_dialog, 0, sizeof ui_dialog);
	ui_dialog.kind = UI_DIALOG_QUIT;
	return (UI_DRAW_ALL);
}

/* Esc: back from the help, log or stack view, or from a past moment. */
static int
ui_key_back(struct ui *ui, int key)
{
	if (ui->view->id & (UI_VIEW_TABLE | UI_VIEW_TREE))
		return (timeline_key_now(ui, key));
	return (ui_switch(ui, ui->back != NULL ? ui->back : &table_view));
}

/* F1, h, ?: the help screen (again: back). */
static int
ui_key_help(struct ui *ui, int key)
{
	static struct view	help_view = {
		.name = "help",
		.id = UI_VIEW_HELP,
	};

	if (ui->view->id == UI_VIEW_HELP)
		return (ui_key_back(ui, key));
	ui->help_top = 0;
	return (ui_switch(ui, &help_view));
}

/* F2, l: the log view of the target's output (again: back). */
static int
ui_key_log(struct ui *ui, int key)
{
	if (ui->view == &log_view)
		return (ui_key_back(ui, key));
	return (ui_switch(ui, &log_view));
}

/* F5, t: the call tree or the table. */
static int
ui_key_tree(struct ui *ui, int key)
{
	if (ui->view == &tree_view)
		return (ui_switch(ui, &table_view));
	return (ui_switch(ui, &tree_view));
}

/* Tab: cycle table, tree, log. */
static int
ui_key_cycle(struct ui *ui, int key)
{
	if (ui->view == &table_view)
		return (ui_switch(ui, &tree_view));
	if (ui->view == &tree_view)
		return (ui_switch(ui, &log_view));
	return (ui_switch(ui, &table_view));
}

/* Enter in the table: every frame of the selected stack. */
static int
ui_key_stack(struct ui *ui, int key)
{
	uint32_t	id = table_selected(ui);

	if (id == 0 && (ui->model->stacks == NULL ||
	    ui->model->nstacks == 0 || ui->model->stacks[0] == NULL))
		return (0);
	ui->stack_id = id;
	ui->stack_top = 0;
	return (ui_switch(ui, &stack_view));
}

/* i: the detail pane on or off. */
static int
ui_key_detail(struct ui *ui, int key)
{
	ui->detail = !ui->detail;
	return (UI_LAYOUT);
}

/* Cursor keys: passed to the view as moves. */
static int
ui_key_move(struct ui *ui, int key)
{
	struct ui_rect	*r = &ui->r_main;

	if (ui->view->id == UI_VIEW_HELP) {
		switch (key) {
		case KEY_UP:
		case 'k':
			ui->help_top--;
			break;
		case KEY_DOWN:
		case 'j':
			ui->help_top++;
			break;
		case KEY_PPAGE:
			ui->help_top -= r->h;
			break;
		case KEY_NPAGE:
		case ' ':
			ui->help_top += r->h;
			break;
		case KEY_HOME:
		case 'g':
			ui->help_top = 0;
			break;
		case KEY_END:
		case 'G':
			ui->help_top = 1 << 20;
			break;
		}
		return (UI_DRAW_MAIN);
	}
	if (ui->view->cursor == NULL)
		return (0);
	switch (key) {
	case KEY_UP:
	case 'k':
		return (ui->view->cursor(ui, UI_MOVE_LINE, -1));
	case KEY_DOWN:
	case 'j':
		return (ui->view->cursor(ui, UI_MOVE_LINE, 1));
	case KEY_PPAGE:
	case UI_CTRL('b'):
		return (ui->view->cursor(ui, UI_MOVE_PAGE, -1));
	case KEY_NPAGE:
	case UI_CTRL('f'):
		return (ui->view->cursor(ui, UI_MOVE_PAGE, 1));
	case KEY_HOME:
	case 'g':
		return (ui->view->cursor(ui, UI_MOVE_HOME, 0));
	case KEY_END:
	case 'G':
		return (ui->view->cursor(ui, UI_MOVE_END, 0));
	}
	return (0);
}

/* Space: freeze the screen, or go back to live. */
static int
ui_key_freeze(struct ui *ui, int key)
{
	ui->frozen = !ui->frozen;
	if (!ui->frozen)
		ui_snapshot(ui, 1);
	return (UI_DRAW_ALL);
}

/* p, F9: stop the target (every thread), or let it continue. */
static int
ui_key_pause(struct ui *ui, int key)
{
	struct launch	*l = ui->launch;

	if (l->exited)
		return (0);
	if (l->stopped) {
		launch_resume(l);
		ui_message(ui, 0, "resumed the target");
	} else {
		kill(l->pid, SIGSTOP);
		ui_message(ui, 0, "paused the target (SIGSTOP); p resumes");
	}
	return (UI_DRAW_HEADER);
}

/* Prompt callback: the break threshold. */
static int
ui_break_done(struct ui *ui, const char *text)
{
	const char	*errstr;
	uint64_t	 bytes = 0;
	char		 buf[16];

	while (*text == ' ')
		text++;
	if (*text != '\0' && strcmp(text, "0") != 0 &&
	    format_parse_size(text, &bytes, &errstr) != 0) {
		ui_message(ui, 1, "break: %s: %s", text, errstr);
		return (UI_DRAW_HEADER);
	}
	if (!ui->tracked) {
		ui_message(ui, 1, "break: the target is not tracked");
		return (UI_DRAW_HEADER);
	}
	reader_arm_break(ui->reader, bytes);
	ui->model->brk.hit = 0;
	ui->model->brk.bytes = bytes;
	ui_run.break_seen = 0;
	ui->opts->break_at = bytes;
	if (bytes == 0)
		ui_message(ui, 0, "break cleared");
	else
		ui_message(ui, 0, "break armed: the target stops when "
		    "allocated memory reaches %s", ui_size(buf, sizeof buf,
		    (int64_t)bytes));
	return (UI_DRAW_HEADER);
}

/* b, F4: set or clear the break threshold. */
static int
ui_key_break(struct ui *ui, int key)
{
	char	buf[32] = "";

	if (ui->opts->break_at != 0)
		ui_size(buf, sizeof buf, (int64_t)ui->opts->break_at);
	return (ui_prompt(ui, "Break at (size, e.g. 512M; empty clears): ",
	    buf, ui_break_done));
}

/* Prompt callback: the refresh interval. */
static int
ui_delay_done(struct ui *ui, const char *text)
{
	char		*end;
	double		 d;

	d = strtod(text, &end);
	while (*end == ' ')
		end++;
	if (end == text || *end != '\0' || d < 0.1 || d > 60) {
		ui_message(ui, 1, "refresh: give seconds from 0.1 to 60");
		return (UI_DRAW_HEADER);
	}
	ui->delay = (u_int)(d * 10 + 0.5);
	ui_message(ui, 0, "refresh every %.1f s", ui->delay / 10.0);
	return (UI_DRAW_HEADER);
}

/* d: set the refresh interval. */
static int
ui_key_delay(struct ui *ui, int key)
{
	char	buf[16];

	snprintf(buf, sizeof buf, "%.1f", ui->delay / 10.0);
	return (ui_prompt(ui, "Refresh every (seconds): ", buf,
	    ui_delay_done));
}

/* ( and ): refresh faster or slower. */
static int
ui_key_speed(struct ui *ui, int key)
{
	static const u_int	steps[] = { 1, 2, 5, 10, 20, 50, 100, 600 };
	u_int			i, n = sizeof steps / sizeof steps[0];

	if (key == ')') {
		for (i = 0; i < n - 1 && steps[i] <= ui->delay; i++)
			/* nothing */;
	} else {
		for (i = n - 1; i > 0 && steps[i] >= ui->delay; i--)
			/* nothing */;
	}
	ui->delay = steps[i];
	ui_message(ui, 0, "refresh every %.1f s", ui->delay / 10.0);
	return (UI_DRAW_HEADER);
}

/* Prompt callback: search. */
static int
ui_search_done(struct ui *ui, const char *text)
{
	if (*text == '\0')
		return (0);
	snprintf(ui->search, sizeof ui->search, "%s", text);
	if (ui->view->search == NULL)
		return (0);
	if (!ui->view->search(ui, ui->search, 0)) {
		ui_message(ui, 1, "not found: %s", ui->search);
		return (UI_DRAW_HEADER);
	}
	return (UI_DRAW_MAIN);
}

/* /, F3: search in the current view. */
static int
ui_key_search(struct ui *ui, int key)
{
	if (ui->view->search == NULL)
		return (0);
	return (ui_prompt(ui, "Search: ", "", ui_search_done));
}

/* n, N: the next or previous match. */
static int
ui_key_search_next(struct ui *ui, int key)
{
	if (ui->view->search == NULL || ui->search[0] == '\0')
		return (0);
	if (!ui->view->search(ui, ui->search, key == 'N' ? -1 : 1)) {
		ui_message(ui, 1, "not found: %s", ui->search);
		return (UI_DRAW_HEADER);
	}
	return (UI_DRAW_MAIN);
}

/* +, -, F7, F8: zoom the chart in or out in time. */
static int
ui_key_zoom(struct ui *ui, int key)
{
	int	dir = (key == '+' || key == '=' || key == KEY_F(8)) ? -1 : 1;

	if (chart_zoom(ui, dir) != 0)
		return (0);
	ui_message(ui, 0, "chart window: %s", chart_window_name(ui));
	return (UI_DRAW_CHART | UI_DRAW_HEADER);
}

/* F: the cursor follows the selected stack (or stops following). */
static int
ui_key_follow(struct ui *ui, int key)
{
	ui->follow = !ui->follow;
	if (ui->follow)
		ui->selected = table_selected(ui);
	ui_message(ui, 0, ui->follow ? "following the selected stack" :
	    "not following");
	return (UI_DRAW_HEADER | UI_DRAW_MAIN);
}

/* Ctrl-L: draw everything again. */
static int
ui_key_redraw(struct ui *ui, int key)
{
	clearok(curscr, TRUE);
	return (UI_LAYOUT);
}

/* Ctrl-Z: suspend memtop (the target runs on). */
static int
ui_key_suspend(struct ui *ui, int key)
{
	def_prog_mode();
	endwin();
	kill(getpid(), SIGTSTP);
	reset_prog_mode();
	return (UI_LAYOUT);
}

/*
 * The key table.  Entries are tried in order; the first whose key matches
 * and whose view mask has the current view wins.  Adjacent entries with
 * the same help text are one line of the help screen.
 */
const struct ui_key ui_keys[] = {
	/* Everywhere. */
	{ 'q', "q", UI_VIEW_ANY, ui_key_quit,
	  "quit (asks first while the target runs: kill it or leave it)", NULL },
	{ KEY_F(10), "F10", UI_VIEW_ANY, ui_key_quit,
	  "quit (asks first while the target runs: kill it or leave it)",
	  "Quit" },
	{ UI_CTRL('c'), "Ctrl-C", UI_VIEW_ANY, ui_key_quit,
	  "quit, as q; Ctrl-C again in the question kills the target", NULL },
	{ KEY_F(1), "F1", UI_VIEW_ANY, ui_key_help,
	  "this help (again: back)", "Help" },
	{ 'h', "h", UI_VIEW_ANY, ui_key_help,
	  "this help (again: back)", NULL },
	{ '?', "?", UI_VIEW_ANY, ui_key_help,
	  "this help (again: back)", NULL },
	{ ' ', "Space", UI_VIEW_ANY & ~UI_VIEW_HELP, ui_key_freeze,
	  "freeze the screen (data is still collected); again: live", NULL },
	{ 'p', "p", UI_VIEW_ANY, ui_key_pause,
	  "pause the target (SIGSTOP, every thread) or resume it", NULL },
	{ KEY_F(9), "F9", UI_VIEW_ANY, ui_key_pause,
	  "pause the target (SIGSTOP, every thread) or resume it", "Pause" },
	{ 'b', "b", UI_VIEW_ANY, ui_key_break,
	  "break: stop the target when allocated memory reaches a size "
	  "(empty clears)", NULL },
	{ KEY_F(4), "F4", UI_VIEW_ANY, ui_key_break,
	  "break: stop the target when allocated memory reaches a size "
	  "(empty clears)", "Break" },
	{ KEY_F(2), "F2", UI_VIEW_ANY, ui_key_log,
	  "the target's output (log view; again: back)", "Log" },
	{ 'l', "l", UI_VIEW_ANY, ui_key_log,
	  "the target's output (log view; again: back)", NULL },
	{ KEY_F(5), "F5", UI_VIEW_ANY, ui_key_tree,
	  "switch between the stacks table and the call tree", "Tree" },
	{ 't', "t", UI_VIEW_ANY, ui_key_tree,
	  "switch between the stacks table and the call tree", NULL },
	{ '\t', "Tab", UI_VIEW_ANY, ui_key_cycle,
	  "next view: table, tree, log", NULL },
	{ UI_ESC, "Esc", UI_VIEW_ANY, ui_key_back,
	  "back from the help, log or stack view, or from a past moment",
	  NULL },
	{ '+', "+", UI_VIEW_ANY, ui_key_zoom,
	  "chart: zoom in (a shorter window of time)", NULL },
	{ '=', "=", UI_VIEW_ANY, ui_key_zoom,
	  "chart: zoom in (a shorter window of time)", NULL },
	{ KEY_F(8), "F8", UI_VIEW_ANY, ui_key_zoom,
	  "chart: zoom in (a shorter window of time)", "Zoom+" },
	{ '-', "-", UI_VIEW_ANY, ui_key_zoom,
	  "chart: zoom out (up to the whole run)", NULL },
	{ KEY_F(7), "F7", UI_VIEW_ANY, ui_key_zoom,
	  "chart: zoom out (up to the whole run)", "Zoom-" },
	{ 'd', "d", UI_VIEW_ANY, ui_key_delay,
	  "set the refresh interval (seconds)", NULL },
	{ '(', "(", UI_VIEW_ANY, ui_key_speed,
	  "refresh more often", NULL },
	{ ')', ")", UI_VIEW_ANY, ui_key_speed,
	  "refresh less often", NULL },
	{ UI_CTRL('l'), "Ctrl-L", UI_VIEW_ANY, ui_key_redraw,
	  "draw the screen again", NULL },
	{ UI_CTRL('z'), "Ctrl-Z", UI_VIEW_ANY, ui_key_suspend,
	  "suspend memtop (the target runs on)", NULL },

	/* Moving in a list. */
	{ KEY_UP, "Up", UI_VIEW_LISTS, ui_key_move,
	  "move up", NULL },
	{ 'k', "k", UI_VIEW_LISTS, ui_key_move,
	  "move up", NULL },
	{ KEY_DOWN, "Down", UI_VIEW_LISTS, ui_key_move,
	  "move down", NULL },
	{ 'j', "j", UI_VIEW_LISTS, ui_key_move,
	  "move down", NULL },
	{ KEY_PPAGE, "PgUp", UI_VIEW_LISTS, ui_key_move,
	  "a page up", NULL },
	{ UI_CTRL('b'), "Ctrl-B", UI_VIEW_LISTS, ui_key_move,
	  "a page up", NULL },
	{ KEY_NPAGE, "PgDn", UI_VIEW_LISTS, ui_key_move,
	  "a page down", NULL },
	{ UI_CTRL('f'), "Ctrl-F", UI_VIEW_LISTS, ui_key_move,
	  "a page down", NULL },
	{ KEY_HOME, "Home", UI_VIEW_LISTS, ui_key_move,
	  "to the top", NULL },
	{ 'g', "g", UI_VIEW_LISTS, ui_key_move,
	  "to the top", NULL },
	{ KEY_END, "End", UI_VIEW_LISTS, ui_key_move,
	  "to the bottom", NULL },
	{ 'G', "G", UI_VIEW_LISTS, ui_key_move,
	  "to the bottom", NULL },
	{ '/', "/", UI_VIEW_LISTS & ~UI_VIEW_HELP, ui_key_search,
	  "search (function, file or text)", NULL },
	{ KEY_F(3), "F3", UI_VIEW_LISTS & ~UI_VIEW_HELP, ui_key_search,
	  "search (function, file or text)", "Search" },
	{ 'n', "n", UI_VIEW_LISTS & ~UI_VIEW_HELP, ui_key_search_next,
	  "next match", NULL },
	{ 'N', "N", UI_VIEW_LISTS & ~UI_VIEW_HELP, ui_key_search_next,
	  "previous match", NULL },

	/* The stacks table and the call tree. */
	{ KEY_F(6), "F6", UI_VIEW_STACKS, table_key_sort,
	  "sort by the next column", "SortBy" },
	{ '>', ">", UI_VIEW_STACKS, table_key_sort,
	  "sort by the next column", NULL },
	{ '<', "<", UI_VIEW_STACKS, table_key_sort,
	  "sort by the previous column", NULL },
	{ 'i', "i", UI_VIEW_STACKS, ui_key_detail,
	  "the detail pane (frames of the selection) on or off", NULL },
	/* The peak view and the timeline (timeline.c). */
	{ 'P', "P", UI_VIEW_STACKS, timeline_key_peak,
	  "the stacks at the peak of allocated memory (again: now)", NULL },
	{ '[', "[", UI_VIEW_STACKS, timeline_key_move,
	  "timeline: cursor a column back on the chart: the stacks as they "
	  "were then", NULL },
	{ ']', "]", UI_VIEW_STACKS, timeline_key_move,
	  "timeline: cursor a column forward", NULL },
	{ '{', "{", UI_VIEW_STACKS, timeline_key_move,
	  "timeline: cursor ten columns back", NULL },
	{ '}', "}", UI_VIEW_STACKS, timeline_key_move,
	  "timeline: cursor ten columns forward", NULL },
	{ 'm', "m", UI_VIEW_STACKS, timeline_key_mark,
	  "timeline: mark the cursor's moment: what grew and shrank since "
	  "(again: unmark)", NULL },
	{ '.', ".", UI_VIEW_STACKS, timeline_key_now,
	  "timeline: back to now", NULL },

	{ 'F', "F", UI_VIEW_TABLE, ui_key_follow,
	  "the cursor follows the selected stack as the order changes", NULL },
	{ '\r', "Enter", UI_VIEW_TABLE, ui_key_stack,
	  "every frame of the selected stack", NULL },

	/* The call tree. */
	{ '\r', "Enter", UI_VIEW_TREE, tree_key_fold,
	  "expand or collapse the node", NULL },
	{ KEY_RIGHT, "Right", UI_VIEW_TREE, tree_key_fold,
	  "expand the node", NULL },
	{ KEY_LEFT, "Left", UI_VIEW_TREE, tree_key_fold,
	  "collapse the node, or go to its parent", NULL },
	{ '*', "*", UI_VIEW_TREE, tree_key_fold,
	  "expand everything under the node", NULL },
	{ 'r', "r", UI_VIEW_TREE, tree_key_reverse,
	  "reverse the tree: top-down from main, or bottom-up from the "
	  "allocating functions", NULL },

	{ 0, NULL, 0, NULL, NULL, NULL }
};

/* Find the handler for a key in the current view and run it. */
static int
ui_dispatch(struct ui *ui, int key)
{
	const struct ui_key	*k;

	if (ui_dialog.kind != UI_DIALOG_NONE)
		return (ui_dialog_key(ui, key));
	if (key == KEY_ENTER || key == '\n')
		key = '\r';
	if (ui->small && key != 'q' && key != KEY_F(10) &&
	    key != UI_CTRL('c') && key != UI_CTRL('l'))
		return (0);
	for (k = ui_keys; k->name != NULL; k++) {
		if (k->key == key && (k->views & ui->view->id) != 0)
			return (k->handler(ui, key));
	}
	return (0);
}

/* A mouse event: wheel scrolls, a click selects or presses a bar key. */
static int
ui_mouse(struct ui *ui)
{
	const struct ui_key	*items[17];
	MEVENT			 ev;
	int			 xs[17], n, i;
	struct ui_rect		*r = &ui->r_main;

	if (getmouse(&ev) != OK || ui->small)
		return (0);
	if (ui_dialog.kind != UI_DIALOG_NONE)
		return (0);
	if (ev.bstate & BUTTON4_PRESSED) {
		if (ui->view->id == UI_VIEW_HELP) {
			ui->help_top -= 3;
			return (UI_DRAW_MAIN);
		}
		return (ui->view->cursor != NULL ?
		    ui->view->cursor(ui, UI_MOVE_SCROLL, -3) : 0);
	}
	if (ev.bstate & BUTTON5_PRESSED) {
		if (ui->view->id == UI_VIEW_HELP) {
			ui->help_top += 3;
			return (UI_DRAW_MAIN);
		}
		return (ui->view->cursor != NULL ?
		    ui->view->cursor(ui, UI_MOVE_SCROLL, 3) : 0);
	}
	if ((ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) == 0)
		return (0);
	if (ev.y == ui->r_bar.y) {
		ui_bar_items(ui, xs, items, &n);
		for (i = 0; i < n; i++) {
			if (ev.x >= xs[i] && ev.x < xs[i + 1])
				return (items[i]->handler(ui, items[i]->key));
		}
		return (0);
	}
	if (ev.y >= r->y && ev.y < r->y + r->h && ui->view->click != NULL)
		return (ui->view->click(ui, ev.y - r->y, ev.x - r->x));
	return (0);
}

/* ------------------------------------------------------------------------
 * The help screen and the key list, both from the key table.
 */

/* Whether two entries make one help line. */
static int
ui_keys_same(const struct ui_key *a, const struct ui_key *b)
{
	return (a->views == b->views && a->handler == b->handler &&
	    strcmp(a->help, b->help) == 0);
}

/* The section heading for a view mask. */
static const char *
ui_keys_section(u_int views)
{
	if (views == UI_VIEW_ANY)
		return ("Everywhere");
	if (views == (UI_VIEW_ANY & ~UI_VIEW_HELP))
		return ("Everywhere");
	if (views == UI_VIEW_LISTS || views == (UI_VIEW_LISTS & ~UI_VIEW_HELP))
		return ("In a list (table, tree, stack, log, help)");
	if (views == UI_VIEW_STACKS)
		return ("Stacks table and call tree");
	if (views == UI_VIEW_TABLE)
		return ("Stacks table");
	if (views == UI_VIEW_TREE)
		return ("Call tree");
	if (views == UI_VIEW_LOG)
		return ("Log view");
	return ("Other");
}

/*
 * Call cb for every help line: a section heading (keys NULL) or a key
 * line ("q, F10" and its help).
 */
static void
ui_keys_walk(void (*cb)(const char *, const char *, void *), void *arg)
{
	const struct ui_key	*k, *j;
	const char		*section = NULL, *s;
	char			 keys[128];
	size_t			 len;

	for (k = ui_keys; k->name != NULL; k = j) {
		s = ui_keys_section(k->views);
		if (section == NULL || strcmp(s, section) != 0) {
			section = s;
			cb(NULL, section, arg);
		}
		keys[0] = '\0';
		for (j = k; j->name != NULL && ui_keys_same(j, k); j++) {
			len = strlen(keys);
			snprintf(keys + len, sizeof keys - len, "%s%s",
			    len == 0 ? "" : ", ", j->name);
		}
		cb(keys, k->help, arg);
	}
}

/* --list-keys: one line per key group, tab-separated, with headings. */
static void
ui_list_keys_cb(const char *keys, const char *help, void *arg)
{
	FILE	*f = arg;

	if (keys == NULL)
		fprintf(f, "%s:\n", help);
	else
		fprintf(f, "%s\t%s\n", keys, help);
}

/* Print the key table (memtop --list-keys). */
void
ui_list_keys(FILE *f)
{
	ui_keys_walk(ui_list_keys_cb, f);
}

/* Where the help screen is being drawn (or only counted, when r is NULL). */
struct ui_help {
	struct ui		*ui;
	const struct ui_rect	*r;
	int			 line;	/* lines so far */
};

/* Draw one help line if it is in the window. */
static void
ui_help_line(struct ui_help *h, int attr, int kattr, const char *keys,
    const char *text)
{
	struct ui		*ui = h->ui;
	const struct ui_rect	*r = h->r;
	int			 y = h->line++ - ui->help_top;

	if (r == NULL || y < 0 || y >= r->h)
		return;
	if (keys != NULL) {
		ui_put(ui, r->y + y, r->x + 2, 16, kattr, keys);
		ui_put(ui, r->y + y, r->x + 19, r->w - 19, attr, text);
	} else
		ui_put(ui, r->y + y, r->x, r->w, attr, text);
}

/* Key table callback for the help screen. */
static void
ui_help_cb(const char *keys, const char *help, void *arg)
{
	struct ui_help	*h = arg;

	if (keys == NULL) {
		ui_help_line(h, A_NORMAL, 0, NULL, "");
		ui_help_line(h, ui_attr(h->ui, UI_A_VALUE), 0, NULL, help);
	} else
		ui_help_line(h, A_NORMAL, A_BOLD, keys, help);
}

/* The help screen's lines, drawn in h->r (or counted). */
static void
ui_help_walk(struct ui_help *h)
{
	static const char *const intro[] = {
		"memtop " PACKAGE_VERSION ": what the program's memory is "
		"doing, and who holds it.",
		"",
		"The chart has three lines:",
		"  allocated  what the program asked for (malloc, new, mmap) "
		"and still holds;",
		"  resident   what of its memory is in RAM now (the kernel's "
		"count);",
		"  swapped    what of its memory the kernel moved to swap.",
		"Allocated above resident: memory asked for but never touched, "
		"or swapped out.",
		"Resident above allocated: memory not from the allocator "
		"(code, stacks, caches).",
		"",
		"The table lists the callstacks holding the most memory: LIVE "
		"bytes now, % of",
		"allocated, COUNT of live blocks, bytes at the PEAK of "
		"allocated, TOTAL ever",
		"allocated, GROWTH over the last 5 seconds, and where they "
		"were allocated.",
		"Sampled runs estimate per-stack numbers; the header's totals "
		"are exact.",
	};
	u_int	i;

	h->line = 0;
	for (i = 0; i < sizeof intro / sizeof intro[0]; i++)
		ui_help_line(h, A_NORMAL, 0, NULL, intro[i]);
	ui_keys_walk(ui_help_cb, h);
	ui_help_line(h, A_NORMAL, 0, NULL, "");
	ui_help_line(h, ui_attr(h->ui, UI_A_DIM), 0, NULL,
	    "Press Esc or F1 to go back.");
}

/* Draw the help screen; returns its length in lines. */
static int
ui_help_draw_lines(struct ui *ui, const struct ui_rect *r)
{
	struct ui_help	h;
	int		y;

	h.ui = ui;
	h.r = NULL;
	ui_help_walk(&h);
	if (ui->help_top > h.line - r->h)
		ui->help_top = h.line - r->h;
	if (ui->help_top < 0)
		ui->help_top = 0;
	for (y = 0; y < r->h; y++)
		ui_fill(ui, r->y + y, r->x, r->w, A_NORMAL);
	h.r = r;
	ui_help_walk(&h);
	return (h.line);
}

/* ------------------------------------------------------------------------
 * Starting the run and the loop.
 */

/* Open the capture file for the target's output. */
static int
ui_open_capture(struct options *o, char **path)
{
	const char	*dir = getenv("TMPDIR"), *base;
	char		*p;
	int		 fd;

	if (o->capture != NULL) {
		fd = open(o->capture, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
		    O_CLOEXEC, 0666);
		if (fd == -1) {
			fprintf(stderr, "memtop: cannot write %s: %s\n",
			    o->capture, strerror(errno));
			return (-1);
		}
		*path = xstrdup(o->capture);
		return (fd);
	}
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	base = strrchr(o->argv[0], '/');
	base = base != NULL ? base + 1 : o->argv[0];
	xasprintf(&p, "%s/memtop-%.32s-XXXXXX", dir, base);
	for (fd = (int)strlen(dir) + 8; p[fd] != '\0' && p[fd] != '-'; fd++) {
		if (!isalnum((u_char)p[fd]) && p[fd] != '.' && p[fd] != '_')
			p[fd] = '_';
	}
	fd = mkostemp(p, O_APPEND | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "memtop: cannot create a file in %s for the "
		    "target's output: %s (set TMPDIR or use --capture)\n", dir,
		    strerror(errno));
		free(p);
		return (-1);
	}
	ui_run.capture_temp = 1;
	*path = p;
	return (fd);
}

/* Check the terminal before starting anything: 0, or an exit status. */
static int
ui_check_terminal(void)
{
	struct winsize	ws;
	int		err;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "memtop: the live view needs a terminal "
		    "(use --report to print a report instead)\n");
		return (1);
	}
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
		fprintf(stderr, "memtop: cannot use the terminal type "
		    "\"%s\" (set TERM, or use --report)\n",
		    getenv("TERM") != NULL ? getenv("TERM") : "");
		return (1);
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    (ws.ws_col < UI_MIN_COLS || ws.ws_row < UI_MIN_LINES)) {
		fprintf(stderr, "memtop: the terminal is %ux%u, the live view "
		    "needs at least %dx%d (or use --report)\n", ws.ws_col,
		    ws.ws_row, UI_MIN_COLS, UI_MIN_LINES);
		return (1);
	}
	return (0);
}

/* Block SIGINT and SIGWINCH and read them from a signalfd instead. */
static void
ui_signals_start(void)
{
	struct sigaction	sa;
	sigset_t		mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
		fatal("sigprocmask");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	ui_sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ui_sigfd == -1)
		fatal("signalfd");
}

/* The loop: poll, keys, ticks, drawing, until something says quit. */
static void
ui_loop(struct ui *ui)
{
	struct launch	*l = ui->launch;
	struct pollfd	 pfd[3];
	uint64_t	 now, next = 0, wait, key_ns = 0;
	int		 key, timeout, quit = 0;

	ui->dirty = UI_LAYOUT;
	while (!quit) {
		now = format_now_ns();
		/* Keys first: a due tick waits until their answer is drawn. */
		if (now >= next && key_ns == 0) {
			if (!l->exited)
				ui_poll_target(ui);
			ui_check_break(ui);
			if (!ui->frozen) {
				ui_snapshot(ui, 0);
				ui->dirty |= UI_DRAW_HEADER | UI_DRAW_CHART |
				    UI_DRAW_MAIN;
			}
			if (ui->message_ns != 0 &&
			    now - ui->message_ns > UI_MESSAGE_NS) {
				ui->message[0] = '\0';
				ui->message_ns = 0;
				ui->dirty |= UI_DRAW_HEADER;
			}
			if (ui_run.kill_ns != 0 && !l->exited &&
			    now - ui_run.kill_ns > UI_KILL_NS) {
				kill(l->pid, SIGKILL);
				ui_run.kill_ns = now;
			}
			next = now + (uint64_t)ui->delay * 100 * UI_MS;
		}
		if (ui->dirty & UI_QUIT)
			break;
		if (ui->dirty != 0)
			ui_draw(ui);
		if (key_ns != 0) {
			/* The benchmark reads this from the -v log. */
			log_debug("key answered in %.1f ms",
			    (format_now_ns() - key_ns) / 1e6);
			key_ns = 0;
			continue;
		}

		pfd[0].fd = ui_run.tty_gone ? -1 : STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = ui_sigfd;
		pfd[1].events = POLLIN;
		pfd[2].fd = l->sigfd;
		pfd[2].events = POLLIN;
		wait = next > now ? next - now : 0;
		timeout = (int)((wait + UI_MS - 1) / UI_MS);
		if (poll(pfd, 3, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents & POLLIN)
			ui_signals(ui);
		if (pfd[2].revents & POLLIN) {
			if (l->exited)
				ui_signals_after(ui);
			else
				ui_target_event(ui, launch_poll(l, 0));
		}
		if (pfd[0].revents & (POLLHUP | POLLERR)) {
			/*
			 * The terminal is gone: do what its SIGHUP does (it
			 * may come later, or not at all): pass SIGHUP on and
			 * quit when the target exits.
			 */
			log_debug("terminal gone");
			ui_run.tty_gone = 1;
			if (l->exited)
				break;
			if (!ui_run.quit_on_exit) {
				l->forwarded = SIGHUP;
				kill(l->pid, SIGHUP);
				ui_target_event(ui, LAUNCH_EVENT_SIGNAL);
			}
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			key_ns = format_now_ns();
			while ((key = getch()) != ERR) {
				if (key == KEY_RESIZE)
					ui->dirty |= UI_LAYOUT;
				else if (key == KEY_MOUSE)
					ui->dirty |= ui_mouse(ui);
				else
					ui->dirty |= ui_dispatch(ui, key);
			}
		}
		if (ui->dirty & UI_QUIT)
			quit = 1;
	}
}

/* The target's output: say where it is, or remove an empty file. */
static void
ui_capture_done(struct launch *l)
{
	struct stat	sb;

	if (ui_run.capture == NULL)
		return;
	if (ui_run.detached) {
		fprintf(stderr, "memtop: left pid %ld running; its output goes "
		    "to %s\n", (long)l->pid, ui_run.capture);
		return;
	}
	if (ui_run.capture_temp && stat(ui_run.capture, &sb) == 0 &&
	    sb.st_size == 0) {
		unlink(ui_run.capture);
		return;
	}
	fprintf(stderr, "memtop: target output saved to %s\n", ui_run.capture);
}

/*
 * The live view: start the command under tracking and show it until the
 * user quits.  Returns memtop's exit status: the target's, or 0 when it
 * was left running.
 */
int
ui_main(struct options *o)
{
	struct ui		 ui;
	struct launch		 l;
	struct segment		 seg;
	struct reader		 r;
	struct symbols		*sy;
	struct model		 m;
	char			*library = NULL, *cause = NULL;
	int			 code, in_fd, out_fd;
	u_int			 i;

	setlocale(LC_ALL, "");
	if ((code = ui_check_terminal()) != 0)
		return (code);

	memset(&l, 0, sizeof l);
	l.sigfd = -1;
	memset(&ui_run, 0, sizeof ui_run);
	if ((code = launch_resolve(&l, o->argv[0], &cause)) != 0) {
		fprintf(stderr, "memtop: %s\n", cause);
		return (code);
	}
	if (!l.untracked) {
		if (launch_find_library(MEMTOP_PKGLIBDIR, &library,
		    &cause) != 0) {
			fprintf(stderr, "memtop: %s\n", cause);
			return (1);
		}
		l.library = library;
	}
	if (o->stdin_path != NULL) {
		in_fd = open(o->stdin_path, O_RDONLY | O_CLOEXEC);
		if (in_fd == -1) {
			fprintf(stderr, "memtop: cannot read %s: %s\n",
			    o->stdin_path, strerror(errno));
			return (1);
		}
	} else if ((in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	if ((out_fd = ui_open_capture(o, &ui_run.capture)) == -1)
		return (1);

	launch_segment(o, &seg, &r, 0);	/* no view reads events */
	sy = symbols_create(&r);

	l.redirect = 1;
	l.in_fd = in_fd;
	l.out_fd = out_fd;
	if ((code = launch_start(&l, &seg, o, &cause)) != 0) {
		fprintf(stderr, "memtop: %s\n", cause);
		if (ui_run.capture_temp)
			unlink(ui_run.capture);
		return (code);
	}
	close(in_fd);
	close(out_fd);
	model_init(&m, &r, sy, l.start_ns);
	m.pagemap = pagemap_create(&m, l.pid, PAGEMAP_LIVE_BUDGET_NS,
	    PAGEMAP_LIVE_INTERVAL_NS);
	m.history = history_create(&m);
	m.stacks_duty = UI_STACKS_DUTY;
	ui_signals_start();

	memset(&ui, 0, sizeof ui);
	ui.opts = o;
	ui.launch = &l;
	ui.segment = &seg;
	ui.reader = &r;
	ui.model = &m;
	ui.tracked = !l.untracked;
	ui.delay = o->delay;
	ui.sort = MODEL_SORT_LIVE;
	ui.detail = 1;
	ui.view = &table_view;
	ui.back = &table_view;

	ui_term_start(&ui);
	for (i = 0; ui_views[i] != NULL; i++) {
		if (ui_views[i]->init != NULL)
			ui_views[i]->init(&ui);
	}
	logview_open(&ui, ui_run.capture);
	if (l.untracked)
		ui_message(&ui, 1, "%s; showing resident and swapped memory "
		    "only", l.untracked_why);
	else if (o->break_at != 0)
		ui_message(&ui, 0, "break armed at %s",
		    ui_size((char[16]){ 0 }, 16, (int64_t)o->break_at));
	ui_loop(&ui);
	ui_term_stop();

	if (!l.exited && !ui_run.detached) {
		/* Should not happen: every way out decides; kill it. */
		kill(l.pid, SIGKILL);
		while (launch_poll(&l, 1000) != LAUNCH_EVENT_EXITED)
			/* nothing */;
	}
	if (ui_run.detached && !l.exited && l.stopped)
		launch_resume(&l);
	ui_capture_done(&l);
	if (!m.attached && !l.untracked && l.exited)
		fprintf(stderr, "memtop: the tracking library was not loaded "
		    "in %s\n", o->argv[0]);
	code = ui_run.detached ? 0 : launch_exit_code(&l);
	if (code == 0 && !ui_run.detached && (l.untracked || !m.attached))
		code = 1;	/* it ran, but memtop could not do its job */

	for (i = 0; ui_views[i] != NULL; i++) {
		if (ui_views[i]->free != NULL)
			ui_views[i]->free(&ui);
	}
	model_free(&m);
	symbols_free(sy);
	if (!ui_run.detached)
		reader_close(&r);
	segment_destroy(&seg);
	free(ui_run.capture);
	free(library);
	return (code);
}
