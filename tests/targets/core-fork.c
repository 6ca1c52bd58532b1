/*
 * core-fork.c: processes around a tracked one, for tests/core-process.sh.
 *
 *	core-fork EXPECT.json		every kind of child, then exit
 *	core-fork reexec EXPECT.json	exec itself (same pid, a new image)
 *	core-fork leaf			what the children exec: allocate, exit
 *
 * The parent keeps one block (fork_kept) to the end.  A forked child frees
 * its copy of it and allocates 10 MiB, and must not change the parent's
 * numbers at all (it shares the segment); children that exec this program
 * again ("leaf": fork then exec, vfork then exec, posix_spawn, system,
 * popen) must not attach (another pid).  With "reexec" the first image
 * keeps a block and execs the second, which keeps another: the report
 * must describe the second image only.  EXPECT.json says what the report
 * must find: the bytes allocated at exit and the forks counted.
 */

#pragma GCC optimize("O0")

#define _GNU_SOURCE

#include <sys/wait.h>

#include <malloc.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char	**environ;

static const char	*self;
static int		 failed;

/* Wait for a child; it must have exited 0. */
static void
fork_wait(pid_t pid, const char *what)
{
	int	status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "core-fork: %s failed\n", what);
		failed = 1;
	}
}

/* The forked child: touch the parent's block, allocate, exit. */
static __attribute__((noinline)) void
fork_child(void *kept)
{
	void	*p;
	int	 i;

	free(kept);
	for (i = 0; i < 1000; i++)
		free(malloc((size_t)i * 37));
	p = malloc(10 << 20);
	memset(p, 1, 4096);
	_exit(0);
}

/* What the exec'd children run. */
static __attribute__((noinline)) int
fork_leaf(void)
{
	void	*p = malloc(5 << 20);

	memset(p, 2, 4096);
	return (0);
}

/* Every kind of child. */
static int
fork_all(const char *expect)
{
	char	*leaf[] = { (char *)self, (char *)"leaf", NULL };
	char	 cmd[4096];
	void	*kept = malloc(777);
	FILE	*f;
	pid_t	 pid;
	size_t	 usable = malloc_usable_size(kept);

	/* fork: the child frees and allocates in its own copy. */
	pid = fork();
	if (pid == 0)
		fork_child(kept);
	fork_wait(pid, "fork");

	/* fork, then exec: the new image must refuse the segment. */
	pid = fork();
	if (pid == 0) {
		execv(self, leaf);
		_exit(127);
	}
	fork_wait(pid, "fork and exec");

	/* vfork, then exec. */
	pid = vfork();
	if (pid == 0) {
		execv(self, leaf);
		_exit(127);
	}
	fork_wait(pid, "vfork and exec");

	/* posix_spawn, system and popen (posix_spawn inside glibc). */
	if (posix_spawn(&pid, self, NULL, NULL, leaf, environ) != 0)
		pid = -1;
	fork_wait(pid, "posix_spawn");
	snprintf(cmd, sizeof cmd, "'%s' leaf", self);
	if (system(cmd) != 0) {
		fprintf(stderr, "core-fork: system failed\n");
		failed = 1;
	}
	if ((f = popen(cmd, "r")) == NULL || pclose(f) != 0) {
		fprintf(stderr, "core-fork: popen failed\n");
		failed = 1;
	}

	/* What the report must say; the FILE is freed by fclose. */
	if ((f = fopen(expect, "w")) == NULL)
		return (1);
	fprintf(f, "{\"final\": %zu, \"forks\": 2, \"failed\": %d}\n",
	    usable, failed);
	fclose(f);
	return (failed);
}

/* The first image of "reexec": keep a block, exec the second. */
static __attribute__((noinline)) int
fork_first(const char *expect)
{
	char	*argv[] = { (char *)self, (char *)"second", (char *)expect,
	    NULL };
	void	*p = malloc(1 << 20);

	memset(p, 3, 4096);
	execv(self, argv);
	return (127);
}

/* The second image: keep another block, say what is left. */
static __attribute__((noinline)) int
fork_second(const char *expect)
{
	void	*p = malloc(3000);
	FILE	*f;

	if ((f = fopen(expect, "w")) == NULL)
		return (1);
	fprintf(f, "{\"final\": %zu, \"forks\": 0, \"failed\": 0}\n",
	    malloc_usable_size(p));
	fclose(f);
	return (0);
}

int
main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 2 && strcmp(argv[1], "leaf") == 0)
		return (fork_leaf());
	if (argc == 3 && strcmp(argv[1], "reexec") == 0)
		return (fork_first(argv[2]));
	if (argc == 3 && strcmp(argv[1], "second") == 0)
		return (fork_second(argv[2]));
	if (argc == 2)
		return (fork_all(argv[1]));
	fprintf(stderr, "usage: core-fork [reexec] EXPECT.json | leaf\n");
	return (2);
}
