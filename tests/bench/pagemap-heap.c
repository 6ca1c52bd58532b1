/*
 * pagemap-heap.c: a heap of a chosen shape for tests/bench/pagemap-bench.sh
 * to measure the cost of memtop's resident scan on.
 *
 *	pagemap-heap KIND SIZE_MIB TOUCH_MIB READY GO
 *
 * KIND is
 *   map     one anonymous mapping of SIZE_MIB (MAP_NORESERVE, so that a
 *           heap larger than RAM can be mapped), its first TOUCH_MIB
 *           written;
 *   blocks  SIZE_MIB in malloc blocks of 1 MiB, the first TOUCH_MIB of
 *           them written;
 *   small   SIZE_MIB in malloc blocks of 64 bytes, all written (TOUCH_MIB
 *           is ignored).
 * Then it creates READY and sleeps until GO exists.
 */

#include <sys/mman.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB	((size_t)1 << 20)

int
main(int argc, char **argv)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	size_t		 size, touch, i, n, off;
	char		*p, **v;
	long		 page = sysconf(_SC_PAGESIZE);
	int		 fd;

	if (argc != 6) {
		fprintf(stderr, "usage: pagemap-heap map|blocks|small SIZE_MIB "
		    "TOUCH_MIB READY GO\n");
		return (2);
	}
	size = strtoull(argv[2], NULL, 10) * MIB;
	touch = strtoull(argv[3], NULL, 10) * MIB;
	if (strcmp(argv[1], "map") == 0) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return (1);
		}
		for (off = 0; off < touch && off < size; off += (size_t)page)
			p[off] = 1;
	} else if (strcmp(argv[1], "blocks") == 0) {
		n = size / MIB;
		v = calloc(n, sizeof *v);
		for (i = 0; i < n; i++) {
			v[i] = malloc(MIB);
			if (i * MIB < touch)
				memset(v[i], 1, MIB);
		}
	} else if (strcmp(argv[1], "small") == 0) {
		n = size / 64;
		v = malloc(n * sizeof *v);
		for (i = 0; i < n; i++) {
			v[i] = malloc(64);
			memset(v[i], 1, 64);
		}
	} else {
		fprintf(stderr, "pagemap-heap: unknown kind %s\n", argv[1]);
		return (2);
	}
	if ((fd = open(argv[4], O_WRONLY | O_CREAT, 0644)) == -1) {
		perror(argv[4]);
		return (1);
	}
	close(fd);
	while (access(argv[5], F_OK) != 0)
		nanosleep(&ts, NULL);
	return (0);
}
