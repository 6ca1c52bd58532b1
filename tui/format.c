/*
 * format.c: sizes and times as the user types and reads them.  Sizes are
 * parsed with binary suffixes (K, M, G, T: powers of 1024, "KiB" and "KB"
 * accepted too) and printed with one decimal and a binary unit ("1.5 MiB"),
 * or exactly with thousands separated ("1,572,864").
 */

#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui.h"

/*
 * Parse a size such as "4096", "128K", "1.5G" or "64KiB" into bytes.
 * Returns 0, or -1 with *errstr saying why (zero is rejected).
 */
int
format_parse_size(const char *s, uint64_t *out, const char **errstr)
{
	const char	*p = s;
	uint64_t	 whole = 0, mult = 1;
	double		 frac = 0, scale = 0.1, v;
	int		 digits = 0;

	while (isdigit((u_char)*p)) {
		if (whole > (UINT64_MAX - 9) / 10) {
			*errstr = "too large";
			return (-1);
		}
		whole = whole * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((u_char)*p)) {
			frac += (*p++ - '0') * scale;
			scale /= 10;
			digits++;
		}
	}
	if (digits == 0) {
		*errstr = "not a size (expected a number with an optional K, M, G or T)";
		return (-1);
	}
	switch (toupper((u_char)*p)) {
	case '\0':
		break;
	case 'B':
		p++;
		break;
	case 'K':
		mult = UINT64_C(1) << 10;
		p++;
		break;
	case 'M':
		mult = UINT64_C(1) << 20;
		p++;
		break;
	case 'G':
		mult = UINT64_C(1) << 30;
		p++;
		break;
	case 'T':
		mult = UINT64_C(1) << 40;
		p++;
		break;
	default:
		*errstr = "unknown unit (expected K, M, G or T)";
		return (-1);
	}
	if (mult != 1) {
		if (p[0] == 'i' && (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		else if (p[0] == 'B' || p[0] == 'b')
			p++;
	}
	if (*p != '\0') {
		*errstr = "trailing characters after the size";
		return (-1);
	}
	v = ((double)whole + frac) * (double)mult;
	if (v >= 18446744073709551615.0 || whole > UINT64_MAX / mult) {
		*errstr = "too large";
		return (-1);
	}
	*out = whole * mult + (uint64_t)llround(frac * (double)mult);
	if (*out == 0) {
		*errstr = "must be more than zero";
		return (-1);
	}
	return (0);
}

/* Print bytes with a binary unit and one decimal: "512 B", "1.5 MiB". */
const char *
format_size(char *buf, size_t len, int64_t bytes)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double		 v;
	u_int		 i;
	const char	*sign = "";
	uint64_t	 b;

	if (bytes < 0) {
		sign = "-";
		b = (uint64_t)-(bytes + 1) + 1;
	} else
		b = (uint64_t)bytes;
	if (b < 1024) {
		snprintf(buf, len, "%s%" PRIu64 " B", sign, b);
		return (buf);
	}
	v = (double)b / 1024;
	for (i = 0; i < 4 && v >= 1023.95; i++)
		v /= 1024;
	snprintf(buf, len, "%s%.1f %s", sign, v, units[i]);
	return (buf);
}

/* Print bytes exactly, thousands separated by commas: "1,572,864". */
const char *
format_bytes_exact(char *buf, size_t len, int64_t bytes)
{
	char	 tmp[32], out[48];
	size_t	 n, i, o = 0;
	int	 neg = bytes < 0;

	snprintf(tmp, sizeof tmp, "%" PRIu64,
	    neg ? (uint64_t)-(bytes + 1) + 1 : (uint64_t)bytes);
	n = strlen(tmp);
	if (neg)
		out[o++] = '-';
	for (i = 0; i < n; i++) {
		if (i != 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
	return (buf);
}

/* CLOCK_MONOTONIC now, in nanoseconds (the clock the segment uses). */
uint64_t
format_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec);
}
