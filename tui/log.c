/*
 * log.c: memtop's own diagnostics.  With -v, log_debug() lines go to
 * memtop-PID.log in the current directory, each stamped with the time since
 * the log was opened; without it they cost a branch.  fatal() and fatalx()
 * end memtop with one line on stderr, after running the cleanup hook (the
 * live views use it to restore the terminal first).
 */

#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tui.h"

static FILE	*log_file;
static uint64_t	 log_start_ns;
static void	(*log_cleanup)(void);

/* Open the log file; called once, for -v. */
void
log_open(const char *name)
{
	char	path[256];

	if (log_file != NULL)
		return;
	xsnprintf(path, sizeof path, "%s-%ld.log", name, (long)getpid());
	log_file = fopen(path, "a");
	if (log_file == NULL) {
		fprintf(stderr, "memtop: cannot open log file %s: %s\n", path,
		    strerror(errno));
		return;
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	log_start_ns = format_now_ns();
	log_debug("log opened, memtop %s", PACKAGE_VERSION);
}

/* Close the log file, if open. */
void
log_close(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
}

/* Whether log_debug writes anything. */
int
log_enabled(void)
{
	return (log_file != NULL);
}

/* Write one line to the log, with the time since it was opened. */
static void
log_vwrite(const char *fmt, va_list ap)
{
	uint64_t	t;

	if (log_file == NULL)
		return;
	t = format_now_ns() - log_start_ns;
	fprintf(log_file, "%llu.%06llu ", (unsigned long long)(t / 1000000000),
	    (unsigned long long)(t % 1000000000 / 1000));
	vfprintf(log_file, fmt, ap);
	fputc('\n', log_file);
}

/* Log a debug line when -v was given. */
void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_file == NULL)
		return;
	va_start(ap, fmt);
	log_vwrite(fmt, ap);
	va_end(ap);
}

/* Set the function fatal() and fatalx() call before they print. */
void
fatal_set_cleanup(void (*fn)(void))
{
	log_cleanup = fn;
}

/* Print "memtop: MSG" and possibly the error, then exit. */
static __dead void
fatal_exit(const char *fmt, va_list ap, int errnum)
{
	char	msg[1024];

	if (log_cleanup != NULL)
		log_cleanup();
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (errnum != 0) {
		fprintf(stderr, "memtop: %s: %s\n", msg, strerror(errnum));
		log_debug("fatal: %s: %s", msg, strerror(errnum));
	} else {
		fprintf(stderr, "memtop: %s\n", msg);
		log_debug("fatal: %s", msg);
	}
	log_close();
	exit(1);
}

/* Exit with a message and strerror(errno). */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	errnum = errno;

	va_start(ap, fmt);
	fatal_exit(fmt, ap, errnum);
}

/* Exit with a message. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fatal_exit(fmt, ap, 0);
}
