/*
 * python-lines.c: memtop's line-table decoders against CPython's own.
 *
 *     python-lines FILE...
 *
 * Each FILE is the output of tests/python/linetables.py run by one CPython
 * (one code object per line: format, first line, the table in hex, then
 * offset:line for every code unit, as CPython reads it).  For each file,
 * one check: python_line() gives every offset the same line.  A few tables
 * written by hand check the formats' corners too (empty tables, offsets
 * before the first entry, negative offsets, long varints), and random
 * bytes must never make a decoder read past its table (run it under
 * valgrind or ASan to see that) or loop.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tap.h"

/* Parse hex into buf; returns the byte count or -1. */
static long
unhex(const char *s, uint8_t *buf, size_t cap)
{
	size_t		n = 0;
	unsigned	b;

	if (strcmp(s, "-") == 0)
		return (0);
	while (s[0] != '\0' && s[1] != '\0') {
		if (n == cap || sscanf(s, "%2x", &b) != 1)
			return (-1);
		buf[n++] = (uint8_t)b;
		s += 2;
	}
	return ((long)n);
}

/* Check every code object of one file; returns the mismatches. */
static long
check_file(const char *path, long *codes, long *offsets)
{
	static char	 line[1 << 22];
	static uint8_t	 tab[1 << 20];
	FILE		*f;
	char		*tok, *save, *hex;
	long		 bad = 0, len, q, want;
	int		 kind, first, got;

	*codes = *offsets = 0;
	if ((f = fopen(path, "r")) == NULL) {
		diag("%s: cannot open", path);
		return (-1);
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if ((tok = strtok_r(line, " \n", &save)) == NULL)
			continue;
		kind = atoi(tok);
		first = atoi(strtok_r(NULL, " \n", &save));
		hex = strtok_r(NULL, " \n", &save);
		if (hex == NULL || (len = unhex(hex, tab, sizeof tab)) < 0) {
			diag("%s: bad line", path);
			bad++;
			continue;
		}
		(*codes)++;
		while ((tok = strtok_r(NULL, " \n", &save)) != NULL) {
			if (sscanf(tok, "%ld:%ld", &q, &want) != 2)
				continue;
			(*offsets)++;
			got = python_line((uint32_t)kind, tab, (size_t)len,
			    first, q);
			if (got != want && bad++ < 5)
				diag("%s: format %d, first line %d, offset %ld:"
				    " got %d, want %ld", path, kind, first, q,
				    got, want);
		}
	}
	fclose(f);
	return (bad);
}

/*
 * Decode random tables of every format at many offsets; each table is in a
 * buffer of its own size, so that a read past it is a heap overflow under
 * valgrind or ASan.  Returns the number of lines decoded.
 */
static long
random_tables(void)
{
	uint64_t	 x = 88172645463325252ULL;
	uint8_t		*tab;
	size_t		 len, k;
	int		 round, kind;
	int64_t		 q;
	long		 n = 0;

	for (round = 0; round < 3000; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = x % 200;
		if ((tab = malloc(len + 1)) == NULL)
			return (0);
		for (k = 0; k < len; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			tab[k] = (uint8_t)x;
		}
		for (kind = 0; kind < 3; kind++) {
			for (q = -2; q < 900; q += 2, n++)
				(void)python_line((uint32_t)kind, tab, len, 100,
				    q);
		}
		free(tab);
	}
	return (n);
}

int
main(int argc, char **argv)
{
	/* 3.11+: one entry, code 13 (no columns), signed varint delta. */
	static const uint8_t	loc[] = {
		0x80 | (13 << 3) | 1, 0x04,		/* +2, 2 units */
		0x80 | (13 << 3) | 0, 0x41, 0x01,	/* -(0x41>>1 ...) */
		0x80 | (15 << 3) | 0,			/* no line */
		0x80 | (11 << 3) | 0, 0x00, 0x00,	/* +1, columns */
	};
	/* 3.10: an empty range moves the line; -128 means no line. */
	static const uint8_t	lt310[] = { 4, 1, 0, 5, 2, 0x80, 2, 1 };
	/* 3.9: offsets past the first pair keep its line. */
	static const uint8_t	lnotab[] = { 0, 1, 6, 2, 250, 0, 0, 3 };
	const char		*name;
	long			 bad, codes, offsets;
	int			 i;

	tap_plan(12 + argc - 1);

	is_int(python_line(PYTHON_LT_LOCATIONS, loc, sizeof loc, 10, 0), 12,
	    "3.11+: a long-form delta of +2");
	is_int(python_line(PYTHON_LT_LOCATIONS, loc, sizeof loc, 10, 3), 12,
	    "3.11+: the entry covers its two code units");
	/* 0x41 0x01: 1 | (1 << 6) = 65, odd: -(65 >> 1) = -32. */
	is_int(python_line(PYTHON_LT_LOCATIONS, loc, sizeof loc, 10, 4), -20,
	    "3.11+: a two-byte varint, negative");
	is_int(python_line(PYTHON_LT_LOCATIONS, loc, sizeof loc, 10, 6), -1,
	    "3.11+: code 15 has no line");
	is_int(python_line(PYTHON_LT_LOCATIONS, loc, sizeof loc, 10, 8), -19,
	    "3.11+: code 11 moves one line on");
	is_int(python_line(PYTHON_LT_LOCATIONS, loc, sizeof loc, 10, 10), -1,
	    "3.11+: past the table, no line");
	is_int(python_line(PYTHON_LT_LOCATIONS, NULL, 0, 7, -1), 7,
	    "a negative offset (frame not started) is the first line");
	is_int(python_line(PYTHON_LT_310, lt310, sizeof lt310, 1, 3), 2,
	    "3.10: the first range");
	is_int(python_line(PYTHON_LT_310, lt310, sizeof lt310, 1, 4), -1,
	    "3.10: after an empty range, a range without a line");
	is_int(python_line(PYTHON_LT_310, lt310, sizeof lt310, 1, 6), 8,
	    "3.10: the empty range still moved the line");
	is_int(python_line(PYTHON_LT_LNOTAB, lnotab, sizeof lnotab, 1, 300),
	    7, "3.9: the last pair's line holds past the table");

	ok(random_tables() == 3000L * 3 * 451,
	    "random bytes: every decoder returns, within its table");

	for (i = 1; i < argc; i++) {
		bad = check_file(argv[i], &codes, &offsets);
		name = strrchr(argv[i], '/') != NULL ?
		    strrchr(argv[i], '/') + 1 : argv[i];
		ok(bad == 0 && codes > 100 && offsets > 10000,
		    "%s: %ld code objects, %ld offsets decoded as CPython does",
		    name, codes, offsets);
	}
	return (tap_done());
}
