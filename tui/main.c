/*
 * main.c: memtop's command line, and the report mode.
 *
 *	memtop [options] [--] COMMAND [ARGS]
 *
 * Options stop at the first word that is not one, so that the command's
 * own options need no "--".  Every user error is one line on stderr
 * starting with "memtop: " and a non-zero exit: 2 for a bad command line,
 * 127 for a command not found, 126 for one that cannot be executed, 1 for
 * anything else.  Once the target runs, memtop's exit status is the
 * target's (128 + N when it was killed by signal N).
 */

#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

#ifndef MEMTOP_PKGLIBDIR
#define MEMTOP_PKGLIBDIR "/usr/local/lib/memtop"
#endif

/*
 * Polls of the target per second in report mode: every MAIN_POLL_MS, after
 * a start at MAIN_POLL_FIRST_MS doubling up to it, so that a short program
 * is seen (its peak resident memory, its stacks to name) while it runs.
 */
#define MAIN_POLL_MS		100
#define MAIN_POLL_FIRST_MS	10

/*
 * While the target runs, the report's likely stacks are named ahead of
 * time (see main_warm): at most every MAIN_WARM_NS, for the top
 * MAIN_WARM_TOP stacks when the report shows them all.
 */
#define MAIN_WARM_NS	(500 * 1000 * 1000ULL)
#define MAIN_WARM_TOP	200

struct options	options;

/* Long options without a short form. */
enum {
	OPT_REPORT = 256,
	OPT_EXACT,
	OPT_SAMPLE_BYTES,
	OPT_TOP,
	OPT_BREAK_AT,
	OPT_EXIT_WITH_TARGET,
	OPT_PYTHON_ALLOCATORS,
	OPT_PYMALLOC,
	OPT_NO_PYTHON,
	OPT_STDIN,
	OPT_CAPTURE,
	OPT_LIST_KEYS,
};

static const struct option main_longopts[] = {
	{ "report", optional_argument, NULL, OPT_REPORT },
	{ "output", required_argument, NULL, 'o' },
	{ "exact", no_argument, NULL, OPT_EXACT },
	{ "sample-bytes", required_argument, NULL, OPT_SAMPLE_BYTES },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "break-at", required_argument, NULL, OPT_BREAK_AT },
	{ "delay", required_argument, NULL, 'd' },
	{ "exit-with-target", no_argument, NULL, OPT_EXIT_WITH_TARGET },
	{ "python-allocators", no_argument, NULL, OPT_PYTHON_ALLOCATORS },
	{ "pymalloc", required_argument, NULL, OPT_PYMALLOC },
	{ "no-python", no_argument, NULL, OPT_NO_PYTHON },
	{ "stdin", required_argument, NULL, OPT_STDIN },
	{ "capture", required_argument, NULL, OPT_CAPTURE },
	{ "list-keys", no_argument, NULL, OPT_LIST_KEYS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* Print the help text. */
static void
main_help(FILE *f)
{
	fprintf(f,
"usage: memtop [options] [--] COMMAND [ARGS...]\n"
"\n"
"Run COMMAND with its memory tracked, and show what it allocates: the\n"
"allocated, resident and swapped memory over time, and the callstacks\n"
"holding the most memory.\n"
"\n"
"Output:\n"
"  --report[=text|json]    run to the end, then print a report (default text)\n"
"  -o, --output FILE       write the report to FILE instead of stdout\n"
"  --top N                 stacks in the report (default %d, 0 = all)\n"
"\n"
"Tracking:\n"
"  --exact                 record every allocation (slower; no sampling)\n"
"  --sample-bytes SIZE     mean bytes between samples (default %dK);\n"
"                          SIZE takes K, M, G suffixes\n"
"  --break-at SIZE         stop the target when allocated memory reaches SIZE\n"
"                          (in report mode: note it and let it run on)\n"
"  --no-python             do not record Python frames\n"
"  --python-allocators     charge each Python object to its own line\n"
"  --pymalloc=off|on       off: run Python with PYTHONMALLOC=malloc\n"
"\n"
"Live view (the default; keys: F1 inside, or --list-keys):\n"
"  -d, --delay TENTHS      refresh interval in tenths of a second (default 1)\n"
"  --exit-with-target      quit as soon as the target exits\n"
"  --stdin FILE            the target reads FILE (default: /dev/null)\n"
"  --capture FILE          save the target's output to FILE (default: a new\n"
"                          file in $TMPDIR, named when memtop exits)\n"
"  --list-keys             print the live view's keys and exit\n"
"\n"
"Other:\n"
"  -v, --verbose           log memtop's own debugging to memtop-PID.log\n"
"  -h, --help              print this help and exit\n"
"  -V, --version           print the version and exit\n"
"\n"
"In report mode Ctrl-C reaches the target, and the report is still printed.\n"
"memtop exits with the target's status (128 + N if it was killed by signal\n"
"N), or 0 when the live view was left with the target still running.\n",
	    MEMTOP_DEFAULT_TOP, MEMTOP_DEFAULT_SAMPLE_BYTES / 1024);
}

/* Report a command-line error and exit 2. */
static __dead void
main_usage_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("memtop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see memtop --help)\n", stderr);
	exit(2);
}

/* Parse a size option or exit. */
static uint64_t
main_size(const char *opt, const char *arg)
{
	const char	*errstr;
	uint64_t	 v;

	if (format_parse_size(arg, &v, &errstr) != 0)
		main_usage_error("%s %s: %s", opt, arg, errstr);
	return (v);
}

/* Parse a whole number in [min, max] or exit. */
static u_int
main_number(const char *opt, const char *arg, u_int min, u_int max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg == '\0' || *arg == '-' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		main_usage_error("%s %s: expected a whole number from %u to %u",
		    opt, arg, min, max);
	return ((u_int)v);
}

/* Parse the command line into options; exits on error. */
static void
main_parse(int argc, char **argv, struct options *o)
{
	int	 ch, have_sample = 0;

	memset(o, 0, sizeof *o);
	o->sample_bytes = MEMTOP_DEFAULT_SAMPLE_BYTES;
	o->top = MEMTOP_DEFAULT_TOP;
	o->delay = 1;
	o->max_frames = MEMTOP_DEFAULT_MAX_FRAMES;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:d:ho:vV", main_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_REPORT:
			if (optarg == NULL || strcmp(optarg, "text") == 0)
				o->report = OPTIONS_REPORT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				o->report = OPTIONS_REPORT_JSON;
			else
				main_usage_error("--report=%s: expected text "
				    "or json", optarg);
			break;
		case 'o':
			if (*optarg == '\0')
				main_usage_error("-o: empty file name");
			o->output = optarg;
			break;
		case OPT_EXACT:
			o->exact = 1;
			break;
		case OPT_SAMPLE_BYTES:
			o->sample_bytes = main_size("--sample-bytes", optarg);
			have_sample = 1;
			break;
		case OPT_TOP:
			o->top = main_number("--top", optarg, 0, 1000000);
			break;
		case OPT_BREAK_AT:
			o->break_at = main_size("--break-at", optarg);
			break;
		case 'd':
			o->delay = main_number("--delay", optarg, 1, 600);
			break;
		case OPT_EXIT_WITH_TARGET:
			o->exit_with_target = 1;
			break;
		case OPT_PYTHON_ALLOCATORS:
			o->python_allocators = 1;
			break;
		case OPT_PYMALLOC:
			if (strcmp(optarg, "off") == 0)
				o->pymalloc = OPTIONS_PYMALLOC_OFF;
			else if (strcmp(optarg, "on") == 0)
				o->pymalloc = OPTIONS_PYMALLOC_ON;
			else
				main_usage_error("--pymalloc=%s: expected off "
				    "or on", optarg);
			break;
		case OPT_NO_PYTHON:
			o->no_python = 1;
			break;
		case OPT_STDIN:
			o->stdin_path = optarg;
			break;
		case OPT_CAPTURE:
			if (*optarg == '\0')
				main_usage_error("--capture: empty file name");
			o->capture = optarg;
			break;
		case OPT_LIST_KEYS:
			ui_list_keys(stdout);
			exit(0);
		case 'v':
			o->verbose++;
			break;
		case 'h':
			main_help(stdout);
			exit(0);
		case 'V':
			printf("memtop %s\n", PACKAGE_VERSION);
			exit(0);
		case ':':
			main_usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt != 0 && optopt < 256)
				main_usage_error("unknown option -%c", optopt);
			main_usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (o->exact && have_sample)
		main_usage_error("--exact and --sample-bytes cannot be used "
		    "together");
	if (o->no_python && o->python_allocators)
		main_usage_error("--no-python and --python-allocators cannot be "
		    "used together");
	if (o->sample_bytes > (UINT64_C(1) << 40))
		main_usage_error("--sample-bytes: at most 1T");
	if (optind >= argc)
		main_usage_error("no command to run");
	o->argc = argc - optind;
	o->argv = argv + optind;
}

/* Say why the target is not tracked, once, on stderr. */
/*
 * Empty the -o file before the report is written into it.  Only a regular
 * file is emptied: /dev/null, a pipe or a terminal is written as it is.
 */
static int
main_truncate(FILE *out)
{
	struct stat	st;

	if (fstat(fileno(out), &st) != 0)
		return (-1);
	if (!S_ISREG(st.st_mode))
		return (0);
	return (ftruncate(fileno(out), 0));
}

static void
main_untracked(struct launch *l, struct model *m)
{
	const char	*name = options.argv[0];

	if (l->untracked) {
		fprintf(stderr, "memtop: %s; reporting resident and swapped "
		    "memory only\n", l->untracked_why);
		return;
	}
	if (!m->attached)
		fprintf(stderr, "memtop: the tracking library was not loaded "
		    "in %s; reporting resident and swapped memory only\n", name);
	else if (m->glob.state & MEMTOP_ST_DISABLED)
		fprintf(stderr, "memtop: tracking stopped in %s: %s\n", name,
		    m->glob.disabled_reason);
}

/* Poll the target once: its status, the segment, the model. */
static void
main_poll(struct launch *l, struct segment *seg, struct model *m)
{
	struct procfs_status	st;

	if (l->exited || procfs_read_status(l->pid, &st) != 0)
		st.valid = 0;
	model_update(m, &st, segment_resident(seg), format_now_ns());
}

/*
 * Name the frames of the stacks the report will most likely show (the top
 * stacks by bytes at the peak so far) while the target still runs: the
 * first lookups in a module read its debug information, which can take a
 * good part of a second (a large separate debug file), and would otherwise
 * happen after the target exited, while the user waits.  Done at most
 * every MAIN_WARM_NS, and only when new stacks appeared.
 */
static void
main_warm(struct model *m, size_t top, uint64_t *next, uint32_t *seen)
{
	struct model_stack	**st;
	uint64_t		  now = format_now_ns();
	size_t			  n, i;
	u_int			  f;

	if (now < *next || m->ready == *seen)
		return;
	*next = now + MAIN_WARM_NS;
	*seen = m->ready;
	if (top == 0 || top > MAIN_WARM_TOP)
		top = MAIN_WARM_TOP;
	st = xreallocarray(NULL, top, sizeof *st);
	n = model_sorted(m, MODEL_SORT_PEAK, st, top);
	for (i = 0; i < n; i++) {
		for (f = 0; f < st[i]->nframes; f++)
			(void)model_frame(m, st[i], f);
	}
	free(st);
}

/* Tell the user a break was hit (report mode has no view to stop in). */
static void
main_break(struct model *m)
{
	char	a[FORMAT_SIZE_LEN], b[FORMAT_SIZE_LEN];

	fprintf(stderr, "memtop: break: allocated memory reached %s "
	    "(threshold %s) in stack %u; the program runs on\n",
	    format_size(a, sizeof a, (int64_t)m->brk.allocated),
	    format_size(b, sizeof b, (int64_t)m->brk.bytes), m->brk.stack);
}

/*
 * Report mode: run the command to its end while polling, then print the
 * report.  Returns memtop's exit status.
 */
int
main_report(struct options *o)
{
	struct launch		 l;
	struct segment		 seg;
	struct reader		 r;
	struct symbols		*sy = NULL;
	struct model		 m;
	struct report		 rp;
	FILE			*out = stdout;
	char			*library = NULL, *cause = NULL;
	int			 code, event, said_break = 0, fd;
	int			 created = 0, started = 0;
	uint64_t		 warm_next = 0;
	int			 poll_ms = MAIN_POLL_FIRST_MS;
	uint32_t		 warm_seen = 0;

	memset(&l, 0, sizeof l);
	l.sigfd = -1;
	memset(&seg, 0, sizeof seg);
	seg.fd = -1;

	/*
	 * Check everything the user can get wrong before starting.  The -o
	 * file is opened now (not inherited by the target) but emptied only
	 * when the report is written, and removed if memtop made it and the
	 * command never ran.
	 */
	if (o->output != NULL) {
		created = access(o->output, F_OK) != 0;
		fd = open(o->output, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd == -1 || (out = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "memtop: cannot write %s: %s\n",
			    o->output, strerror(errno));
			return (1);
		}
	}
	if ((code = launch_resolve(&l, o->argv[0], &cause)) != 0)
		goto fail;
	if (!l.untracked) {
		if (launch_find_library(MEMTOP_PKGLIBDIR, &library,
		    &cause) != 0) {
			code = 1;
			goto fail;
		}
		l.library = library;
	}

	launch_segment(o, &seg, &r, 0);	/* the report reads no events */
	sy = symbols_create(&r);

	if ((code = launch_start(&l, &seg, o, &cause)) != 0)
		goto fail;
	started = 1;
	model_init(&m, &r, sy, l.start_ns);
	m.pagemap = pagemap_create(&m, l.pid, PAGEMAP_REPORT_BUDGET_NS,
	    PAGEMAP_REPORT_INTERVAL_NS);

	for (;;) {
		main_poll(&l, &seg, &m);
		if (m.attached)
			main_warm(&m, o->top, &warm_next, &warm_seen);
		event = launch_poll(&l, poll_ms);
		if ((poll_ms *= 2) > MAIN_POLL_MS)
			poll_ms = MAIN_POLL_MS;
		if (event == LAUNCH_EVENT_EXITED)
			break;
		if (event == LAUNCH_EVENT_STOPPED) {
			main_poll(&l, &seg, &m);
			if (m.brk.hit && !said_break) {
				said_break = 1;
				main_break(&m);
				launch_resume(&l);
			}
		}
	}
	main_poll(&l, &seg, &m);
	model_final(&m, &l.rusage, l.end_ns);

	memset(&rp, 0, sizeof rp);
	rp.opts = o;
	rp.launch = &l;
	rp.model = &m;
	rp.tracked = !l.untracked && m.attached;
	main_untracked(&l, &m);
	if ((out != stdout && main_truncate(out) != 0) ||
	    report_write(&rp, out) != 0)
		fprintf(stderr, "memtop: writing the report: %s\n",
		    strerror(errno));
	code = launch_exit_code(&l);
	if (code == 0 && !rp.tracked)
		code = 1;	/* it ran, but memtop could not do its job */
	model_free(&m);
	goto out;

fail:
	fprintf(stderr, "memtop: %s\n", cause);
	if (created && !started)
		unlink(o->output);
out:
	if (out != stdout)
		fclose(out);
	if (sy != NULL) {
		symbols_free(sy);
		reader_close(&r);
	}
	segment_destroy(&seg);
	launch_free(&l);
	free(library);
	free(cause);
	return (code);
}

int
main(int argc, char **argv)
{
	main_parse(argc, argv, &options);
	if (options.verbose)
		log_open("memtop");
	if (options.report == OPTIONS_REPORT_NONE)
		return (ui_main(&options));
	return (main_report(&options));
}
