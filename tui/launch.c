/*
 * launch.c: starting the target under tracking.
 *
 * The launcher finds libmemtop.so, creates the shared segment (a memfd,
 * sized generously but sparse: only touched pages cost memory, sealed so
 * the target cannot shrink it under memtop), lays out its sections and
 * writes the header, then forks and execs the command with MEMTOP_FD and
 * LD_PRELOAD in its environment.  An exec failure travels back through a
 * close-on-exec pipe, so "not found" (127) and "not executable" (126) are
 * exact and worded by memtop.
 *
 * While the target runs memtop ignores SIGINT and SIGQUIT (a Ctrl-C goes to
 * the whole foreground process group: the target gets it, memtop stays to
 * report), forwards SIGTERM and SIGHUP to the target, and learns of exits,
 * stops and continues through SIGCHLD on a signalfd.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

extern char **environ;

/* The library's file name, in the build tree's .libs and in pkglibdir. */
#define LAUNCH_LIBRARY	"libmemtop.so"

/*
 * Each section's element size and capacity (elements) in sampled mode and
 * in exact mode, which records every allocation and so needs a bigger live
 * table.  Its rings are as large as sampled mode's, though every
 * allocation and free is an event: a busy program fills any ring between
 * two reads (the churn brings 1.4 million events a poll) and drops the
 * rest, and each event written costs the target a miss on a line the front
 * end took, so larger rings cost more (docs/design.md); 2^14 events a ring
 * (1 MiB) still hold 160,000 events a second at 100 ms polls.  (The report
 * asks for no events at all.)  The ring's records are shared by
 * LAUNCH_RINGS rings, one for each lane of the aggregates (event.h).  The
 * stack index is a power of two, at least twice the stacks; the live
 * shards and the rings are powers of two.  A live entry keeps a stack id
 * in MEMTOP_LIVE_STACK_BITS.
 */
#define LAUNCH_RINGS	MEMTOP_AGG_LANES
#define LAUNCH_STACKS	(1 << 19)

_Static_assert(LAUNCH_STACKS <= MEMTOP_LIVE_STACK_LIMIT,
    "every stack id fits a live entry");

static const struct {
	uint64_t	elsize;
	uint64_t	sampled;
	uint64_t	exact;
} launch_layout[MEMTOP_SEC_COUNT] = {
	[MEMTOP_SEC_THREADS] = { sizeof(struct memtop_thread_slot), 512, 512 },
	[MEMTOP_SEC_GLOBAL] = { sizeof(struct memtop_global), 1, 1 },
	[MEMTOP_SEC_CONTROL] = { sizeof(struct memtop_control), 1, 1 },
	[MEMTOP_SEC_STACK_INDEX] = { sizeof(uint32_t), 2 * LAUNCH_STACKS,
	    2 * LAUNCH_STACKS },
	[MEMTOP_SEC_STACKS] = { sizeof(struct memtop_stack), LAUNCH_STACKS,
	    LAUNCH_STACKS },
	[MEMTOP_SEC_STACK_AGGS] = { sizeof(struct memtop_stack_agg),
	    MEMTOP_AGG_LANES * LAUNCH_STACKS,
	    MEMTOP_AGG_LANES * LAUNCH_STACKS },
	[MEMTOP_SEC_FRAMES] = { sizeof(uint64_t), 1 << 24, 1 << 24 },
	[MEMTOP_SEC_CODES] = { sizeof(struct memtop_code), 1 << 18, 1 << 18 },
	[MEMTOP_SEC_MODULES] = { sizeof(struct memtop_module), 1 << 13,
	    1 << 13 },
	[MEMTOP_SEC_STRINGS] = { 1, 1 << 26, 1 << 26 },
	[MEMTOP_SEC_LIVE_SHARDS] = { sizeof(struct memtop_live_shard), 256,
	    1024 },
	[MEMTOP_SEC_LIVE_ARENA] = { sizeof(struct memtop_live_entry), 1 << 23,
	    1 << 27 },
	[MEMTOP_SEC_RING] = { sizeof(struct memtop_event), 1 << 16, 1 << 16 },
};

/* Signal dispositions memtop changes, to give the target the originals. */
static struct sigaction	launch_old_int, launch_old_quit;
static sigset_t		launch_old_mask;

/* Whether path names a regular file we may read. */
static int
launch_readable(const char *path)
{
	struct stat	sb;

	return (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, R_OK) == 0);
}

/*
 * Find libmemtop.so: $MEMTOP_LIBRARY, else .libs/ next to the running
 * binary (the build tree), else pkglibdir.  Returns 0 with *path set, or -1
 * with *cause.
 */
int
launch_find_library(const char *pkglibdir, char **path, char **cause)
{
	char		 exe[PATH_MAX], *p, *try;
	const char	*env;
	ssize_t		 n;

	*path = NULL;
	if ((env = getenv("MEMTOP_LIBRARY")) != NULL && *env != '\0') {
		if (!launch_readable(env)) {
			xasprintf(cause, "MEMTOP_LIBRARY=%s: %s", env,
			    errno != 0 ? strerror(errno) : "not a file");
			return (-1);
		}
		*path = xstrdup(env);
		goto check;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((p = strrchr(exe, '/')) != NULL) {
			*p = '\0';
			xasprintf(&try, "%s/.libs/%s", exe, LAUNCH_LIBRARY);
			if (launch_readable(try)) {
				*path = try;
				goto check;
			}
			free(try);
		}
	}
	xasprintf(&try, "%s/%s", pkglibdir, LAUNCH_LIBRARY);
	if (launch_readable(try)) {
		*path = try;
		goto check;
	}
	xasprintf(cause, "cannot find %s (looked next to memtop and in %s; "
	    "set MEMTOP_LIBRARY)", LAUNCH_LIBRARY, pkglibdir);
	free(try);
	return (-1);

check:
	if (**path != '/') {
		/* LD_PRELOAD must not depend on the target's directory. */
		if ((p = realpath(*path, NULL)) == NULL) {
			xasprintf(cause, "%s: %s", *path, strerror(errno));
			free(*path);
			return (-1);
		}
		free(*path);
		*path = p;
	}
	if (strpbrk(*path, " :\t\n") != NULL) {
		xasprintf(cause, "the library path %s contains a space or a "
		    "colon, which LD_PRELOAD cannot carry", *path);
		free(*path);
		return (-1);
	}
	return (0);
}

/*
 * Whether an ELF file is statically linked (no PT_INTERP): 1 static, 0
 * dynamic, -1 not an ELF file we can read.  A "#!" script is judged by its
 * interpreter, depth levels deep at most.
 */
static int
launch_elf_static(const char *path, int depth)
{
	Elf64_Ehdr	 eh;
	Elf64_Phdr	 ph;
	Elf32_Ehdr	*eh32 = (Elf32_Ehdr *)&eh;
	Elf32_Phdr	 ph32;
	char		 buf[PATH_MAX + 2], *p, *e;
	ssize_t		 n;
	uint64_t	 off, phoff, i, phnum, phentsize;
	uint32_t	 type;
	int		 fd, result = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = pread(fd, buf, sizeof buf - 1, 0);
	if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
		close(fd);
		if (depth <= 0)
			return (-1);
		buf[n] = '\0';
		for (p = buf + 2; *p == ' ' || *p == '\t'; p++)
			/* nothing */;
		for (e = p; *e != '\0' && strchr(" \t\n", *e) == NULL; e++)
			/* nothing */;
		*e = '\0';
		if (*p != '/')
			return (-1);
		return (launch_elf_static(p, depth - 1));
	}
	if (n < (ssize_t)sizeof eh || memcmp(buf, ELFMAG, SELFMAG) != 0)
		goto out;
	memcpy(&eh, buf, sizeof eh);
	if (eh.e_ident[EI_CLASS] == ELFCLASS64) {
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize < sizeof ph)
			goto out;
	} else if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
		phoff = eh32->e_phoff;
		phnum = eh32->e_phnum;
		phentsize = eh32->e_phentsize;
		if (phentsize < sizeof ph32)
			goto out;
	} else
		goto out;
	result = 1;
	for (i = 0; i < phnum && i < 4096; i++) {
		off = phoff + i * phentsize;
		if (eh.e_ident[EI_CLASS] == ELFCLASS64) {
			if (pread(fd, &ph, sizeof ph, (off_t)off) !=
			    (ssize_t)sizeof ph) {
				result = -1;
				break;
			}
			type = ph.p_type;
		} else {
			if (pread(fd, &ph32, sizeof ph32, (off_t)off) !=
			    (ssize_t)sizeof ph32) {
				result = -1;
				break;
			}
			type = ph32.p_type;
		}
		if (type == PT_INTERP) {
			result = 0;
			break;
		}
	}
out:
	close(fd);
	return (result);
}

/*
 * Whether running path would put the process in secure-execution mode,
 * where the dynamic loader ignores LD_PRELOAD: set-user-ID or set-group-ID
 * to someone else, or file capabilities.
 */
static int
launch_setid(const char *path)
{
	struct stat	sb;

	if (stat(path, &sb) != 0)
		return (0);
	if ((sb.st_mode & S_ISUID) && sb.st_uid != getuid())
		return (1);
	if ((sb.st_mode & S_ISGID) && sb.st_gid != getgid())
		return (1);
	if (getxattr(path, "security.capability", NULL, 0) > 0)
		return (1);
	return (0);
}

/* Check that path can be executed: 0, or an errno value. */
static int
launch_check_exec(const char *path)
{
	struct stat	sb;

	if (stat(path, &sb) != 0)
		return (errno);
	if (S_ISDIR(sb.st_mode))
		return (EISDIR);
	if (!S_ISREG(sb.st_mode) || access(path, X_OK) != 0)
		return (EACCES);
	return (0);
}

/*
 * Resolve the command as execvp would (a name without a slash is looked up
 * in PATH), and find out whether it can be tracked.  Returns 0, or the
 * exit status to give (127 not found, 126 not executable) with *cause.
 */
int
launch_resolve(struct launch *l, const char *cmd, char **cause)
{
	const char	*path_env, *p, *colon;
	char		*try;
	size_t		 len;
	int		 error, denied = 0, s;

	l->path = NULL;
	l->untracked = 0;
	if (*cmd == '\0') {
		*cause = xstrdup("the command is empty");
		return (127);
	}
	if (strchr(cmd, '/') != NULL) {
		if ((error = launch_check_exec(cmd)) != 0) {
			xasprintf(cause, "%s: %s", cmd, strerror(error));
			return (error == ENOENT || error == ENOTDIR ? 127 : 126);
		}
		l->path = xstrdup(cmd);
	} else {
		if ((path_env = getenv("PATH")) == NULL)
			path_env = "/usr/local/bin:/usr/bin:/bin";
		for (p = path_env; l->path == NULL; p = colon + 1) {
			colon = strchr(p, ':');
			len = colon != NULL ? (size_t)(colon - p) : strlen(p);
			if (len == 0)
				xasprintf(&try, "%s", cmd);
			else
				xasprintf(&try, "%.*s/%s", (int)len, p, cmd);
			error = launch_check_exec(try);
			if (error == 0)
				l->path = try;
			else {
				if (error == EACCES)
					denied = 1;
				free(try);
			}
			if (colon == NULL)
				break;
		}
		if (l->path == NULL) {
			if (denied) {
				xasprintf(cause, "%s: permission denied", cmd);
				return (126);
			}
			xasprintf(cause, "%s: command not found", cmd);
			return (127);
		}
	}

	s = launch_elf_static(l->path, 4);
	if (s == 1) {
		l->untracked = LAUNCH_UNTRACKED_STATIC;
		xasprintf(&l->untracked_why, "%s is statically linked, so the "
		    "tracking library cannot be loaded into it", cmd);
	} else if (launch_setid(l->path)) {
		l->untracked = LAUNCH_UNTRACKED_SETID;
		xasprintf(&l->untracked_why, "%s is set-user-ID, set-group-ID "
		    "or has capabilities, so the loader ignores LD_PRELOAD", cmd);
	}
	log_debug("command %s resolved to %s%s", cmd, l->path,
	    l->untracked ? " (untracked)" : "");
	return (0);
}

/* Offset of the next section: page aligned. */
static uint64_t
launch_align(uint64_t off)
{
	return ((off + 4095) & ~(uint64_t)4095);
}

/*
 * Create the shared segment for a configuration: a sealed memfd, mapped,
 * with its header and section table written.  Returns 0 or -1 with *cause.
 */
int
segment_create(struct segment *seg, const struct segment_config *cfg,
    char **cause)
{
	struct memtop_header		*hdr;
	struct memtop_section		 sec[MEMTOP_SEC_COUNT];
	struct memtop_ring_header	*ring;
	uint64_t			 off, cap;
	u_int				 i;
	int				 exact = cfg->sample_mean == 0;

	memset(seg, 0, sizeof *seg);
	seg->fd = -1;
	off = launch_align(sizeof *hdr);
	for (i = 0; i < MEMTOP_SEC_COUNT; i++) {
		sec[i].off = off;
		sec[i].count = exact ? launch_layout[i].exact :
		    launch_layout[i].sampled;
		sec[i].size = sec[i].count * launch_layout[i].elsize;
		if (i == MEMTOP_SEC_RING)
			sec[i].size += LAUNCH_RINGS * sizeof *ring;
		off = launch_align(off + sec[i].size);
	}
	seg->size = off;

	seg->fd = memfd_create("memtop", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (seg->fd == -1) {
		xasprintf(cause, "memfd_create: %s", strerror(errno));
		return (-1);
	}
	if (fchmod(seg->fd, 0600) != 0 ||
	    ftruncate(seg->fd, (off_t)seg->size) != 0 ||
	    fcntl(seg->fd, F_ADD_SEALS,
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		xasprintf(cause, "creating the segment: %s", strerror(errno));
		goto fail;
	}
	seg->base = mmap(NULL, seg->size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    seg->fd, 0);
	if (seg->base == MAP_FAILED) {
		seg->base = NULL;
		xasprintf(cause, "mapping the segment: %s", strerror(errno));
		goto fail;
	}

	hdr = seg->base;
	memcpy(hdr->magic, MEMTOP_SHM_MAGIC, sizeof hdr->magic);
	hdr->abi = MEMTOP_SHM_ABI;
	hdr->header_size = sizeof *hdr;
	hdr->total_size = seg->size;
	hdr->config = cfg->config;
	hdr->max_frames = cfg->max_frames;
	hdr->sample_mean = cfg->sample_mean;
	hdr->target_pid = 0;
	memcpy(hdr->sec, sec, sizeof sec);
	cap = sec[MEMTOP_SEC_RING].count / LAUNCH_RINGS;
	for (i = 0; i < LAUNCH_RINGS; i++) {
		ring = (void *)((char *)seg->base + sec[MEMTOP_SEC_RING].off +
		    i * memtop_ring_stride(cap));
		ring->capacity = cap;
		ring->rings = LAUNCH_RINGS;
	}
	log_debug("segment: %llu bytes, fd %d",
	    (unsigned long long)seg->size, seg->fd);
	return (0);

fail:
	segment_destroy(seg);
	return (-1);
}

/*
 * Create the segment the options ask for, attach a reader to it and arm
 * the break, before the target starts.  events is zero when nothing will
 * read the event rings (no view reads them today): the target then writes
 * none.  Exits on failure.
 */
void
launch_segment(const struct options *o, struct segment *seg,
    struct reader *r, int events)
{
	struct segment_config	 cfg;
	char			*cause;

	memset(&cfg, 0, sizeof cfg);
	cfg.sample_mean = o->exact ? 0 : o->sample_bytes;
	cfg.max_frames = o->max_frames;
	if (o->exact)
		cfg.config |= MEMTOP_CFG_EXACT;
	if (o->python_allocators)
		cfg.config |= MEMTOP_CFG_PYALLOC;
	if (o->no_python)
		cfg.config |= MEMTOP_CFG_NOPYTHON;
	if (!events)
		cfg.config |= MEMTOP_CFG_NOEVENTS;
	if (segment_create(seg, &cfg, &cause) != 0)
		fatalx("%s", cause);
	if (reader_attach(r, seg->base, seg->size, &cause) != 0)
		fatalx("segment: %s", cause);
	if (o->break_at != 0)
		reader_arm_break(r, o->break_at);
}

/* Unmap and close a segment. */
void
segment_destroy(struct segment *seg)
{
	if (seg->base != NULL)
		munmap(seg->base, seg->size);
	if (seg->fd != -1)
		close(seg->fd);
	seg->base = NULL;
	seg->fd = -1;
}

/*
 * Bytes of the segment in memory (or swap).  These pages are counted in the
 * target's resident memory once it touches them; memtop subtracts them so
 * that "resident" describes the program.
 */
uint64_t
segment_resident(struct segment *seg)
{
	struct stat	sb;

	if (seg->fd == -1 || fstat(seg->fd, &sb) != 0)
		return (0);
	return ((uint64_t)sb.st_blocks * 512);
}

/* Make "NAME=value" for the target's environment. */
static char *
launch_env(const char *name, const char *value)
{
	char	*s;

	xasprintf(&s, "%s=%s", name, value);
	return (s);
}

/*
 * Build the target's environment from ours; *inherited is set to the
 * number of entries taken as they were (those after them are allocated).
 */
static char **
launch_environment(struct launch *l, struct segment *seg,
    struct options *opts, size_t *inherited)
{
	char		**envp, *s;
	const char	 *old_preload;
	size_t		  n = 0, i, len;
	char		  fdbuf[16];

	for (i = 0; environ[i] != NULL; i++)
		n++;
	envp = xcalloc(n + 4, sizeof *envp);
	n = 0;
	for (i = 0; environ[i] != NULL; i++) {
		s = environ[i];
		if (strncmp(s, MEMTOP_ENV_FD "=", strlen(MEMTOP_ENV_FD) + 1) == 0 ||
		    strncmp(s, "LD_PRELOAD=", 11) == 0)
			continue;
		if (opts->pymalloc == OPTIONS_PYMALLOC_OFF &&
		    strncmp(s, "PYTHONMALLOC=", 13) == 0)
			continue;
		envp[n++] = s;
	}
	*inherited = n;
	if (!l->untracked) {
		xsnprintf(fdbuf, sizeof fdbuf, "%d", seg->fd);
		envp[n++] = launch_env(MEMTOP_ENV_FD, fdbuf);
		old_preload = getenv("LD_PRELOAD");
		if (old_preload != NULL && *old_preload != '\0') {
			len = strlen(l->library) + strlen(old_preload) + 2;
			s = xmalloc(len);
			xsnprintf(s, len, "%s:%s", l->library, old_preload);
			envp[n++] = launch_env("LD_PRELOAD", s);
			free(s);
		} else
			envp[n++] = launch_env("LD_PRELOAD", l->library);
	} else if ((old_preload = getenv("LD_PRELOAD")) != NULL)
		envp[n++] = launch_env("LD_PRELOAD", old_preload);
	if (opts->pymalloc == OPTIONS_PYMALLOC_OFF)
		envp[n++] = launch_env("PYTHONMALLOC", "malloc");
	envp[n] = NULL;
	return (envp);
}

/*
 * In the child: exec the command, or report errno on the pipe and exit.
 * The child of vfork runs in memtop's memory until the exec: it changes
 * nothing there but its own stack, and no handler of memtop's may run in
 * it (every signal is blocked on entry; handlers are reset before the
 * mask is, as the exec would reset them).
 */
static __dead void
launch_child(struct launch *l, struct segment *seg, char **argv,
    char **shargv, char **envp, int errfd)
{
	struct sigaction	 sa;
	int			 error, sig;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction	old;

		if (sig == SIGKILL || sig == SIGSTOP ||
		    sigaction(sig, NULL, &old) != 0)
			continue;
		if (sig == SIGINT || sig == SIGQUIT)
			old = sig == SIGINT ? launch_old_int : launch_old_quit;
		if ((old.sa_flags & SA_SIGINFO) == 0 &&
		    (old.sa_handler == SIG_IGN || old.sa_handler == SIG_DFL)) {
			if (sig == SIGINT || sig == SIGQUIT) {
				sa.sa_handler = old.sa_handler;
				sigaction(sig, &sa, NULL);
			}
			continue;
		}
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, &launch_old_mask, NULL);

	if (l->redirect) {
		/*
		 * The live view owns the terminal: the target reads in_fd,
		 * writes to out_fd (a file, so it never gets SIGPIPE if
		 * memtop dies) and has no controlling terminal to draw on.
		 */
		if (dup2(l->in_fd, STDIN_FILENO) == -1 ||
		    dup2(l->out_fd, STDOUT_FILENO) == -1 ||
		    dup2(l->out_fd, STDERR_FILENO) == -1) {
			error = errno;
			while (write(errfd, &error, sizeof error) == -1 &&
			    errno == EINTR)
				/* nothing */;
			_exit(127);
		}
		setsid();
	}

	if (!l->untracked && seg->base != NULL) {
		__atomic_store_n(&((struct memtop_header *)seg->base)->target_pid,
		    (int32_t)getpid(), __ATOMIC_RELEASE);
		/* The descriptor must survive the exec. */
		fcntl(seg->fd, F_SETFD, 0);
	}
	execve(l->path, argv, envp);
	error = errno;
	if (error == ENOEXEC) {
		/* Like execvp: a file without a #! line is a shell script. */
		execve("/bin/sh", shargv, envp);
	}
	while (write(errfd, &error, sizeof error) == -1 && errno == EINTR)
		/* nothing */;
	_exit(127);
}

/*
 * vfork and exec (launch_child): the child's pid, or -1.  Every signal
 * stays blocked until the child has reset the handlers.  vfork copies
 * neither memtop's page tables nor, afterwards, a page written by either
 * process (a fork cost about two milliseconds of memtop's start).
 */
static pid_t
launch_vfork(struct launch *l, struct segment *seg, char **argv,
    char **shargv, char **envp, int errfd)
{
	sigset_t	all, held;
	pid_t		pid;
	int		error;

	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &held) != 0)
		return (-1);
	pid = vfork();
	if (pid == 0)
		launch_child(l, seg, argv, shargv, envp, errfd);
	error = errno;
	sigprocmask(SIG_SETMASK, &held, NULL);
	errno = error;
	return (pid);
}

/*
 * Start the command: signals set up, vfork, exec.  Returns 0, or an exit
 * status (126, 127, 1) with *cause when the command could not start.
 */
int
launch_start(struct launch *l, struct segment *seg, struct options *opts,
    char **cause)
{
	struct sigaction	 sa;
	sigset_t		 mask;
	char			**envp, **shargv;
	int			  pipefd[2], error, argc;
	ssize_t			  n;
	size_t			  inherited, i;

	envp = launch_environment(l, seg, opts, &inherited);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, &launch_old_mask) != 0)
		fatal("sigprocmask");
	l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sigfd == -1)
		fatal("signalfd");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &launch_old_int);
	sigaction(SIGQUIT, &sa, &launch_old_quit);

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		fatal("pipe2");
	/* The shell's arguments, should the command turn out a script. */
	for (argc = 0; opts->argv[argc] != NULL; argc++)
		/* nothing */;
	shargv = xcalloc((size_t)argc + 2, sizeof *shargv);
	shargv[0] = (char *)"sh";
	shargv[1] = l->path;
	memcpy(shargv + 2, opts->argv + 1, (size_t)argc * sizeof *shargv);
	fflush(NULL);
	l->start_ns = format_now_ns();
	l->pid = launch_vfork(l, seg, opts->argv, shargv, envp, pipefd[1]);
	if (l->pid == -1)
		fatal("vfork");
	free(shargv);
	close(pipefd[1]);
	for (i = inherited; envp[i] != NULL; i++)
		free(envp[i]);
	free(envp);

	do
		n = read(pipefd[0], &error, sizeof error);
	while (n == -1 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof error) {
		while (waitpid(l->pid, NULL, 0) == -1 && errno == EINTR)
			/* nothing */;
		l->exited = 1;
		xasprintf(cause, "%s: %s", opts->argv[0], strerror(error));
		return (error == ENOENT || error == ENOTDIR ? 127 : 126);
	}
	log_debug("target %s started, pid %ld", l->path, (long)l->pid);
	return (0);
}

/* Collect what happened to the target since last asked. */
static int
launch_reap(struct launch *l)
{
	struct rusage	ru;
	pid_t		pid;
	int		status, event = LAUNCH_EVENT_TIMEOUT;

	for (;;) {
		pid = wait4(l->pid, &status, WNOHANG | WUNTRACED | WCONTINUED,
		    &ru);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			l->exited = 1;
			l->status = status;
			l->rusage = ru;
			l->end_ns = format_now_ns();
			l->stopped = 0;
			log_debug("target exited, status %#x", status);
			return (LAUNCH_EVENT_EXITED);
		}
		if (WIFSTOPPED(status)) {
			l->stopped = 1;
			l->stop_signal = WSTOPSIG(status);
			event = LAUNCH_EVENT_STOPPED;
			log_debug("target stopped by signal %d", l->stop_signal);
		} else if (WIFCONTINUED(status)) {
			l->stopped = 0;
			event = LAUNCH_EVENT_CONTINUED;
			log_debug("target continued");
		}
	}
	return (event);
}

/*
 * Wait up to timeout milliseconds for the target to exit, stop or continue,
 * or for a signal to memtop (forwarded).  Returns a LAUNCH_EVENT_*.
 */
int
launch_poll(struct launch *l, int timeout)
{
	struct signalfd_siginfo	si;
	struct pollfd		pfd;
	int			event = LAUNCH_EVENT_TIMEOUT, r;

	if (l->exited)
		return (LAUNCH_EVENT_EXITED);
	pfd.fd = l->sigfd;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, timeout);
	if (r == -1 && errno != EINTR)
		fatal("poll");
	while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGHUP:
			log_debug("forwarding signal %u", si.ssi_signo);
			kill(l->pid, (int)si.ssi_signo);
			l->forwarded = (int)si.ssi_signo;
			event = LAUNCH_EVENT_SIGNAL;
			break;
		}
	}
	r = launch_reap(l);
	if (r != LAUNCH_EVENT_TIMEOUT)
		event = r;
	return (event);
}

/* memtop's exit status for the target's: its own, or 128 + signal. */
int
launch_exit_code(struct launch *l)
{
	if (WIFEXITED(l->status))
		return (WEXITSTATUS(l->status));
	if (WIFSIGNALED(l->status))
		return (128 + WTERMSIG(l->status));
	return (1);
}

/* Free what launch_resolve and launch_start allocated. */
void
launch_free(struct launch *l)
{
	free(l->path);
	free(l->untracked_why);
	l->path = l->untracked_why = NULL;
	if (l->sigfd != -1)
		close(l->sigfd);
	l->sigfd = -1;
}

/* Let a stopped target run on. */
int
launch_resume(struct launch *l)
{
	if (l->exited)
		return (-1);
	return (kill(l->pid, SIGCONT));
}
