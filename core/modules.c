/*
 * modules.c: the table of loaded ELF objects (MEMTOP_SEC_MODULES), so that
 * the front end can name native frames after the target has exited.
 *
 * The objects are recorded at attach and again whenever a new stack is
 * interned and the loader's counters of objects added and removed
 * (dl_phdr_info's dlpi_adds and dlpi_subs) moved since the last scan.  A
 * record is never removed: an object seen unloaded is marked
 * MEMTOP_MODULE_GONE, and its frames still resolve.
 *
 * dl_iterate_phdr takes the loader's lock.  A thread inside dlopen may be
 * allocating while another scans, so the scan lock is only ever tried:
 * whoever finds it taken skips the scan, and no thread holds it while
 * waiting for the loader (which is what could deadlock).
 */

#include "config.h"

#include <link.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

/* What the target remembers of each record it wrote. */
struct modules_seen {
	uint64_t	bias;
	uint64_t	start;
	uint32_t	seen;
	uint32_t	gone;
};

static struct modules_seen	*modules_priv;
static size_t			 modules_priv_size;
static uint32_t			 modules_n;	/* records written */
static uint32_t			 modules_lock;
static unsigned long long	 modules_adds = ~0ULL;
static unsigned long long	 modules_subs = ~0ULL;

/* Forget everything recorded (at attach). */
void
modules_reset(void)
{
	if (modules_priv != NULL)
		core_private_unmap(modules_priv, modules_priv_size);
	modules_priv_size = core_shm.modules_cap * sizeof *modules_priv;
	modules_priv = NULL;
	if (modules_priv_size != 0)
		modules_priv = core_private_map(modules_priv_size);
	modules_n = 0;
	modules_lock = 0;
	modules_adds = modules_subs = ~0ULL;
}

/* Copy a path into the strings section; 0 on success. */
static int
modules_path(struct memtop_module *m, const char *path, size_t len)
{
	int64_t	off;

	if (len > UINT32_MAX || (off = shm_strings_alloc(len)) < 0)
		return (-1);
	memcpy(core_shm.strings + off, path, len);
	m->path_off = (uint32_t)off;
	m->path_len = (uint32_t)len;
	return (0);
}

/* dl_iterate_phdr callback: record an object not seen before. */
static int
modules_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct memtop_module	*m;
	struct modules_seen	*p;
	uint64_t		 lo = UINT64_MAX, hi = 0, a;
	char			 exe[PATH_MAX];
	const char		*path = info->dlpi_name;
	ssize_t			 len;
	uint32_t		 i, flags = MEMTOP_MODULE_READY;
	int			*first = arg;
	int			 j;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
	    sizeof info->dlpi_subs) {
		modules_adds = info->dlpi_adds;
		modules_subs = info->dlpi_subs;
	}
	for (j = 0; j < info->dlpi_phnum; j++) {
		if (info->dlpi_phdr[j].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[j].p_vaddr;
		if (a < lo)
			lo = a;
		if (a + info->dlpi_phdr[j].p_memsz > hi)
			hi = a + info->dlpi_phdr[j].p_memsz;
	}
	if (hi == 0)
		return (0);
	for (i = 0; i < modules_n; i++) {
		p = &modules_priv[i];
		if (p->bias == info->dlpi_addr && p->start == lo &&
		    !p->gone) {
			p->seen = 1;
			*first = 0;
			return (0);
		}
	}
	if (modules_n >= core_shm.modules_cap)
		return (0);

	m = &core_shm.modules[modules_n];
	if (*first && (path == NULL || *path == '\0')) {
		/* The main program has no name here. */
		if ((len = readlink("/proc/self/exe", exe, sizeof exe)) <= 0)
			return (0);
		path = exe;
		flags |= MEMTOP_MODULE_MAIN;
	} else
		len = path != NULL ? (ssize_t)strlen(path) : 0;
	*first = 0;
	if (len == 0 || modules_path(m, path, (size_t)len) != 0)
		return (0);
	m->bias = info->dlpi_addr;
	m->start = lo;
	m->end = hi;
	m->pad = 0;
	__atomic_store_n(&m->flags, flags, __ATOMIC_RELEASE);

	p = &modules_priv[modules_n++];
	p->bias = info->dlpi_addr;
	p->start = lo;
	p->seen = 1;
	p->gone = 0;
	__atomic_store_n(&core_shm.glob->module_count, modules_n,
	    __ATOMIC_RELEASE);
	return (0);
}

/*
 * Scan the loaded objects: record new ones, mark vanished ones gone.
 * Skipped when another thread is scanning.
 */
void
modules_scan(void)
{
	struct memtop_module	*m;
	uint32_t		 i;
	int			 first = 1;

	if (modules_priv == NULL || !core_trylock(&modules_lock))
		return;
	for (i = 0; i < modules_n; i++)
		modules_priv[i].seen = 0;
	dl_iterate_phdr(modules_visit, &first);
	for (i = 0; i < modules_n; i++) {
		if (modules_priv[i].seen || modules_priv[i].gone)
			continue;
		modules_priv[i].gone = 1;
		m = &core_shm.modules[i];
		__atomic_store_n(&m->flags, MEMTOP_MODULE_READY |
		    MEMTOP_MODULE_GONE | (m->flags & MEMTOP_MODULE_MAIN),
		    __ATOMIC_RELEASE);
	}
	core_unlock(&modules_lock);
}

/* dl_iterate_phdr callback: read the loader's counters, then stop. */
static int
modules_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long	*c = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
	    sizeof info->dlpi_subs) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return (1);
}

/* Rescan if objects were loaded or unloaded since the last scan. */
void
modules_check(void)
{
	unsigned long long	c[2] = { 0, 0 };

	dl_iterate_phdr(modules_counters, c);
	if (c[0] != modules_adds || c[1] != modules_subs)
		modules_scan();
}
