/*
 * json.c: a small streaming JSON writer for the report.  Objects and arrays
 * nest up to JSON_DEPTH deep and are indented by two spaces per level.
 * Strings are escaped as RFC 8259 requires: quote, backslash and control
 * characters escaped, valid UTF-8 passed through, and each byte of invalid
 * UTF-8 replaced by U+FFFD, so the output always parses.
 */

#include "config.h"

#include <sys/types.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

#define JSON_DEPTH 32

struct json {
	FILE	*f;
	int	 depth;
	int	 count[JSON_DEPTH];	/* members written at each level */
};

/* Start a writer on a stream. */
struct json *
json_create(FILE *f)
{
	struct json	*j;

	j = xcalloc(1, sizeof *j);
	j->f = f;
	return (j);
}

/* Free a writer (the stream stays open). */
void
json_free(struct json *j)
{
	free(j);
}

/* Write the separator, indentation and key before a value. */
static void
json_member(struct json *j, const char *key)
{
	int	i;

	if (j->depth > 0) {
		if (j->count[j->depth - 1]++ != 0)
			fputc(',', j->f);
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	if (key != NULL) {
		fputc('"', j->f);
		json_escape(j->f, key, strlen(key));
		fputs("\": ", j->f);
	}
}

/* Open a nested object or array. */
static void
json_open(struct json *j, const char *key, int c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth == JSON_DEPTH)
		fatalx("json: nesting too deep");
	j->count[j->depth++] = 0;
}

/* Close a nested object or array. */
static void
json_close(struct json *j, int c)
{
	int	i, empty;

	if (j->depth == 0)
		fatalx("json: close without open");
	empty = (j->count[--j->depth] == 0);
	if (!empty) {
		fputc('\n', j->f);
		for (i = 0; i < j->depth; i++)
			fputs("  ", j->f);
	}
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

/* Begin an object; key is NULL inside arrays and at the top. */
void
json_object_begin(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

/* End an object. */
void
json_object_end(struct json *j)
{
	json_close(j, '}');
}

/* Begin an array. */
void
json_array_begin(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

/* End an array. */
void
json_array_end(struct json *j)
{
	json_close(j, ']');
}

/* Write a string value, or null when s is NULL. */
void
json_string(struct json *j, const char *key, const char *s)
{
	if (s == NULL) {
		json_null(j, key);
		return;
	}
	json_string_len(j, key, s, strlen(s));
}

/* Write a string value of len bytes (not NUL-terminated). */
void
json_string_len(struct json *j, const char *key, const char *s, size_t len)
{
	json_member(j, key);
	fputc('"', j->f);
	json_escape(j->f, s, len);
	fputc('"', j->f);
}

/* Write a signed integer. */
void
json_int(struct json *j, const char *key, int64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

/* Write an unsigned integer. */
void
json_uint(struct json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

/* Write a number with the given decimals; NaN and infinities become null. */
void
json_double(struct json *j, const char *key, double v, int decimals)
{
	if (!isfinite(v)) {
		json_null(j, key);
		return;
	}
	json_member(j, key);
	fprintf(j->f, "%.*f", decimals, v);
}

/* Write true or false. */
void
json_bool(struct json *j, const char *key, int v)
{
	json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

/* Write null. */
void
json_null(struct json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t
json_utf8_len(const u_char *s, size_t len)
{
	size_t		n, i;
	uint32_t	cp;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return (0);
	if (n > len)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	return (n);
}

/* Write len bytes of s as the inside of a JSON string. */
void
json_escape(FILE *f, const char *s, size_t len)
{
	const u_char	*p = (const u_char *)s;
	size_t		 i = 0, run = 0, n;
	const char	*esc;
	char		 buf[8];

	/* Bytes that need nothing are written in runs, with one fwrite. */
	while (i < len) {
		esc = NULL;
		n = 1;
		switch (p[i]) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f) {
				snprintf(buf, sizeof buf, "\\u%04x", p[i]);
				esc = buf;
			} else if (p[i] >= 0x80 &&
			    (n = json_utf8_len(p + i, len - i)) == 0) {
				esc = "\xef\xbf\xbd";	/* U+FFFD */
				n = 1;
			}
			break;
		}
		if (esc == NULL) {
			i += n;
			continue;
		}
		if (i > run)
			fwrite(p + run, 1, i - run, f);
		fputs(esc, f);
		i += n;
		run = i;
	}
	if (i > run)
		fwrite(p + run, 1, i - run, f);
}
