/*
 * tap.h: a tiny TAP producer for memtop's unit tests.  A test declares its
 * plan, reports each check with ok() or one of the comparisons, and returns
 * tap_done() from main: nonzero when any check failed or the plan was not
 * met.  Header only; every function is static.
 */

#ifndef MEMTOP_TAP_H
#define MEMTOP_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int	tap_planned;
static int	tap_run;
static int	tap_failed;

/* Print the plan: n checks will follow. */
static inline void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Report one check; returns cond so callers can chain. */
static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list	ap;

	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return (cond);
}

/* A diagnostic line (TAP comment). */
static inline void __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Check two signed integers are equal, saying both when they differ. */
#define is_int(got, want, ...) do {					\
	int64_t	tap_g = (int64_t)(got), tap_w = (int64_t)(want);	\
	if (!ok(tap_g == tap_w, __VA_ARGS__))				\
		diag("got %" PRId64 ", want %" PRId64, tap_g, tap_w);	\
} while (0)

/* Check two unsigned integers are equal. */
#define is_uint(got, want, ...) do {					\
	uint64_t tap_g = (uint64_t)(got), tap_w = (uint64_t)(want);	\
	if (!ok(tap_g == tap_w, __VA_ARGS__))				\
		diag("got %" PRIu64 ", want %" PRIu64, tap_g, tap_w);	\
} while (0)

/* Stop now: something the rest depends on failed. */
static inline void __attribute__((noreturn))
tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(1);
}

/* End of the test: the exit status. */
static inline int
tap_done(void)
{
	if (tap_run != tap_planned) {
		diag("planned %d checks, ran %d", tap_planned, tap_run);
		return (1);
	}
	return (tap_failed != 0);
}

#endif /* MEMTOP_TAP_H */
