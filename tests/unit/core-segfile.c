/*
 * core-segfile.c: write and read a memtop segment in a plain file, for
 * tests/core-preload.sh, which hands such files to libmemtop.so directly
 * (LD_PRELOAD and MEMTOP_FD, no memtop) to check how the library attaches.
 *
 *	core-segfile write FILE PID DEFECT
 *		lay out a segment meant for PID; DEFECT is one of none,
 *		overlap (two sections overlap), frames (max_frames 2000),
 *		ring (a ring capacity that is not a power of two)
 *	core-segfile read FILE
 *		print "state S generation G allocated A reason R"
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segment.h"

/* Map FILE read-write, sized to size (0: keep its size). */
static void *
segfile_map(const char *path, uint64_t *size)
{
	struct stat	 st;
	void		*p;
	int		 fd;

	if ((fd = open(path, O_RDWR|O_CREAT, 0600)) == -1)
		return (NULL);
	if (*size != 0 && ftruncate(fd, (off_t)*size) != 0)
		return (NULL);
	if (fstat(fd, &st) != 0)
		return (NULL);
	*size = (uint64_t)st.st_size;
	p = mmap(NULL, *size, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return (p == MAP_FAILED ? NULL : p);
}

int
main(int argc, char **argv)
{
	struct segment_sizes		 z = segment_defaults();
	struct memtop_header		*h;
	struct memtop_ring_header	*ring;
	uint64_t			 size = 0;

	if (argc == 5 && strcmp(argv[1], "write") == 0) {
		size = segment_layout(NULL, &z);
		if ((h = segfile_map(argv[2], &size)) == NULL) {
			perror("core-segfile");
			return (1);
		}
		segment_layout(h, &z);
		h->target_pid = atoi(argv[3]);
		if (strcmp(argv[4], "overlap") == 0)
			h->sec[MEMTOP_SEC_FRAMES].off =
			    h->sec[MEMTOP_SEC_STACKS].off;
		else if (strcmp(argv[4], "frames") == 0)
			h->max_frames = 2000;
		else if (strcmp(argv[4], "ring") == 0) {
			ring = (void *)((char *)h +
			    h->sec[MEMTOP_SEC_RING].off);
			ring->capacity = 1000;
		} else if (strcmp(argv[4], "none") != 0)
			return (2);
		return (msync(h, size, MS_SYNC) != 0);
	}
	if (argc == 3 && strcmp(argv[1], "read") == 0) {
		if ((h = segfile_map(argv[2], &size)) == NULL ||
		    size < sizeof *h) {
			perror("core-segfile");
			return (1);
		}
		printf("state %u generation %u allocated %lld reason %s\n",
		    h->state, h->generation,
		    h->state ? (long long)segment_allocated(h) : 0LL,
		    h->disabled_reason[0] ? h->disabled_reason : "-");
		return (0);
	}
	fprintf(stderr, "usage: core-segfile write FILE PID DEFECT | "
	    "read FILE\n");
	return (2);
}
