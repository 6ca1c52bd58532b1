/*
 * procfs.c: what the kernel says about the target's memory.  Resident and
 * swapped memory come from here, never from the tracker.  Reading
 * /proc/PID/status is cheap (the kernel keeps these as counters, it does
 * not walk page tables), so it is fine at ten polls a second.
 */

#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

/* Parse "Name:\t  1234 kB" lines we care about into bytes. */
static void
procfs_parse_line(char *line, struct procfs_status *st)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} fields[] = {
		{ "VmRSS:", offsetof(struct procfs_status, vm_rss) },
		{ "VmHWM:", offsetof(struct procfs_status, vm_hwm) },
		{ "VmSwap:", offsetof(struct procfs_status, vm_swap) },
		{ "RssAnon:", offsetof(struct procfs_status, rss_anon) },
		{ "RssFile:", offsetof(struct procfs_status, rss_file) },
		{ "RssShmem:", offsetof(struct procfs_status, rss_shmem) },
	};
	size_t		 i, len;
	char		*end;
	uint64_t	 kb;

	if (strncmp(line, "State:", 6) == 0) {
		for (line += 6; *line == ' ' || *line == '\t'; line++)
			/* nothing */;
		st->state = *line;
		return;
	}
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		len = strlen(fields[i].name);
		if (strncmp(line, fields[i].name, len) != 0)
			continue;
		errno = 0;
		kb = strtoull(line + len, &end, 10);
		if (errno != 0 || end == line + len)
			return;
		*(uint64_t *)((char *)st + fields[i].off) = kb * 1024;
		return;
	}
}

/*
 * Read /proc/PID/status.  Returns 0, or -1 when the process is gone (or a
 * zombie, whose memory fields are absent: st->valid stays 0).
 */
int
procfs_read_status(pid_t pid, struct procfs_status *st)
{
	char	 path[64], buf[8192], *line, *next;
	ssize_t	 n;
	size_t	 used = 0;
	int	 fd;

	memset(st, 0, sizeof *st);
	xsnprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while (used < sizeof buf - 1) {
		n = read(fd, buf + used, sizeof buf - 1 - used);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';

	for (line = buf; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strncmp(line, "VmRSS:", 6) == 0)
			st->valid = 1;
		procfs_parse_line(line, st);
	}
	return (st->valid ? 0 : -1);
}
