/*
 * symbols-index.c: the symbol index of tui/symbols.c names addresses as
 * libdwfl's dwfl_module_addrinfo does.
 *
 * For every object loaded in this process (this program, the C library,
 * libdw, libelf, ncurses, libbsd and what they pull in, with their
 * separate debug files where installed) and for any file named on the
 * command line, symbols_check_file() names the first, middle and last
 * byte of its sized symbols (2,000 of them at most), the bytes just before
 * and just past each, the middle of the gap to the next symbol, and each
 * symbol without a size and the byte after it (500 at most), through the
 * index and through libdwfl, and counts the answers that differ.  Each
 * object must have symbols to compare and no difference.
 */

#include "config.h"

#include <sys/types.h>

#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "tap.h"

#define MAX_OBJECTS	64

static char	*objects[MAX_OBJECTS];
static int	 nobjects;

static int
collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL || info->dlpi_name[0] != '/' ||
	    nobjects == MAX_OBJECTS)
		return (0);
	objects[nobjects++] = xstrdup(info->dlpi_name);
	return (0);
}

int
main(int argc, char **argv)
{
	uint64_t	compared, differ, total = 0;
	char		why[512];
	int		i, rc;

	objects[nobjects++] = xstrdup("/proc/self/exe");
	dl_iterate_phdr(collect, NULL);
	for (i = 1; i < argc && nobjects < MAX_OBJECTS; i++)
		objects[nobjects++] = xstrdup(argv[i]);

	tap_plan(nobjects + 1);
	for (i = 0; i < nobjects; i++) {
		rc = symbols_check_file(objects[i], &compared, &differ, why,
		    sizeof why);
		total += compared;
		ok(rc == 0 && compared > 0 && differ == 0,
		    "%s: %" PRIu64 " addresses named as libdwfl names them",
		    objects[i], compared);
		if (rc != 0)
			diag("could not open %s, or it has no symbols",
			    objects[i]);
		if (differ != 0)
			diag("%" PRIu64 " differ; first: %s", differ, why);
		free(objects[i]);
	}
	/* This program alone has a few hundred sized symbols. */
	ok(total > 1000, "%" PRIu64 " addresses compared in all", total);
	return (tap_done());
}
