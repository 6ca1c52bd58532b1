/*
 * python.c: CPython frames in memtop's stacks.
 *
 * At attach (python_init, in the library constructor, guard held) memtop
 * looks for a CPython interpreter in the process with dlsym: it works for
 * a python executable with the interpreter linked in (Debian's
 * /usr/bin/python3.11 exports its C API from the executable) and for one
 * linked with libpython3.X.so, and needs no Python headers or libraries at
 * build time.  Supported: CPython 3.9 to 3.13, each with its own struct
 * layout (python_layouts below, checked against the types' sizes and, on
 * 3.13, against the interpreter's own _Py_DebugOffsets).  Anything else
 * found (3.8 and older, 3.14 and newer, free-threaded builds, PyPy, builds
 * whose object header is not the usual one) is MEMTOP_PY_UNSUPPORTED with
 * a one-line note in the header, and its stacks stay native.
 *
 * An interpreter loaded later with dlopen (a program embedding Python) is
 * looked for again on the sampled path, at most every 50 ms, until found
 * (see python_retry).
 *
 * python_merge replaces each native frame that returns into
 * _PyEval_EvalFrameDefault by the Python frames that call of the eval loop
 * runs, innermost first, up to and including its entry frame, as read by
 * python-walk.c from the thread's own frame chain.  Python frames left
 * when the native frames run out (an eval frame that was not recognised,
 * e.g. a call made from the function's split-off cold part) are kept,
 * placed right after the last Python frames that were placed.
 */

#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

struct python_rt	python_rt;

static int		python_state = MEMTOP_PY_NONE;	/* MEMTOP_PY_* */
static int		python_cfg_off;	/* MEMTOP_CFG_NOPYTHON */
static int		python_cfg_pyalloc;	/* MEMTOP_CFG_PYALLOC */
static uint32_t		python_discover_lock;
static uint64_t		python_retry_next;	/* CLOCK_MONOTONIC ns */
static int		python_retry_seen;	/* found at the last retry */
/* Samples seen by this thread since it last looked at the clock. */
static __thread uint32_t	python_retry_tick
    __attribute__((tls_model("initial-exec")));
static void		*python_handle;	/* a dlopen'ed libpython, kept */
static int		(*python_initialized)(void);	/* Py_IsInitialized */
static int		 python_wrapped;	/* wrapped, not checked yet */
static uintptr_t	 python_own_lo;	/* libmemtop.so's mapped range */
static uintptr_t	 python_own_hi;

/*
 * Byte offsets of each supported version, from its headers (x86-64 and
 * aarch64 Linux; both are LP64 with the same alignment rules).
 */
static const struct python_layout python_layouts[] = {
	{	/* 3.9: PyFrameObject chain from tstate->frame */
		.minor = 9, .ts_head = 24, .cf_current = -1,
		.f_size = 108, .f_back = 24, .f_code = 32, .f_pos = 104,
		.pos_kind = PYTHON_POS_BYTES, .entry_kind = PYTHON_ENTRY_ALL,
		.f_owner = -1, .f_is_entry = -1,
		.co_size = 176, .co_firstlineno = 40, .co_filename = 104,
		.co_name = 112, .co_linetable = 120,
		.co_firsttraceable = -1, .co_adaptive = -1,
		.lt_kind = PYTHON_LT_LNOTAB,
		.str_size = 80, .str_ascii = 48, .str_compact = 72,
		.pool_size = 4096, .arena_size = 256 << 10,
	},
	{	/* 3.10: as 3.9, f_lasti counts code units */
		.minor = 10, .ts_head = 24, .cf_current = -1,
		.f_size = 100, .f_back = 24, .f_code = 32, .f_pos = 96,
		.pos_kind = PYTHON_POS_UNITS, .entry_kind = PYTHON_ENTRY_ALL,
		.f_owner = -1, .f_is_entry = -1,
		.co_size = 176, .co_firstlineno = 40, .co_filename = 104,
		.co_name = 112, .co_linetable = 120,
		.co_firsttraceable = -1, .co_adaptive = -1,
		.lt_kind = PYTHON_LT_310,
		.str_size = 80, .str_ascii = 48, .str_compact = 72,
		.pool_size = 16384, .arena_size = 1 << 20,
	},
	{	/* 3.11: tstate->cframe->current_frame, is_entry */
		.minor = 11, .ts_head = 56, .cf_current = 8,
		.f_size = 72, .f_back = 48, .f_code = 32, .f_pos = 56,
		.pos_kind = PYTHON_POS_PTR, .entry_kind = PYTHON_ENTRY_FLAG,
		.f_owner = 69, .f_is_entry = 68,
		.co_size = 184, .co_firstlineno = 72, .co_filename = 112,
		.co_name = 128, .co_linetable = 136,
		.co_firsttraceable = 168, .co_adaptive = 184,
		.lt_kind = PYTHON_LT_LOCATIONS,
		.str_size = 80, .str_ascii = 48, .str_compact = 72,
		.pool_size = 16384, .arena_size = 1 << 20,
	},
	{	/* 3.12: frames reordered, entry shims */
		.minor = 12, .ts_head = 56, .cf_current = 0,
		.f_size = 72, .f_back = 8, .f_code = 0, .f_pos = 56,
		.pos_kind = PYTHON_POS_PTR, .entry_kind = PYTHON_ENTRY_SHIM,
		.f_owner = 70, .f_is_entry = -1,
		.co_size = 192, .co_firstlineno = 68, .co_filename = 112,
		.co_name = 128, .co_linetable = 136,
		.co_firsttraceable = 176, .co_adaptive = 192,
		.lt_kind = PYTHON_LT_LOCATIONS,
		.str_size = 64, .str_ascii = 40, .str_compact = 56,
		.pool_size = 16384, .arena_size = 1 << 20,
	},
	{	/* 3.13: no _PyCFrame, tstate->current_frame */
		.minor = 13, .ts_head = 72, .cf_current = -1,
		.f_size = 72, .f_back = 8, .f_code = 0, .f_pos = 56,
		.pos_kind = PYTHON_POS_PTR, .entry_kind = PYTHON_ENTRY_SHIM,
		.f_owner = 70, .f_is_entry = -1,
		.co_size = 200, .co_firstlineno = 68, .co_filename = 112,
		.co_name = 128, .co_linetable = 136,
		.co_firsttraceable = 184, .co_adaptive = 200,
		.lt_kind = PYTHON_LT_LOCATIONS,
		.str_size = 64, .str_ascii = 40, .str_compact = 56,
		.pool_size = 16384, .arena_size = 1 << 20,
	},
};
#define PYTHON_RETRY_NS		(50 * 1000 * 1000)	/* 50 ms */
#define PYTHON_RETRY_EVERY	64	/* samples; a power of two */
#define PYTHON_MINOR_FIRST	9
#define PYTHON_MINOR_LAST	13

/*
 * Where 3.13's _Py_DebugOffsets (at the start of _PyRuntime) keeps the
 * offsets memtop uses, each with the value memtop's table has.
 */
static const struct {
	uint32_t	at;
	uint32_t	want;
} python_debug_offsets[] = {
	{ 184, 72 },	/* thread_state.current_frame */
	{ 232, 8 },	/* interpreter_frame.previous */
	{ 240, 0 },	/* interpreter_frame.executable */
	{ 248, 56 },	/* interpreter_frame.instr_ptr */
	{ 264, 70 },	/* interpreter_frame.owner */
	{ 280, 112 },	/* code_object.filename */
	{ 296, 128 },	/* code_object.qualname */
	{ 304, 136 },	/* code_object.linetable */
	{ 312, 68 },	/* code_object.firstlineno */
	{ 344, 200 },	/* code_object.co_code_adaptive */
	{ 360, 8 },	/* pyobject.ob_type */
	{ 520, 16 },	/* bytes_object.ob_size */
	{ 528, 32 },	/* bytes_object.ob_sval */
	{ 544, 32 },	/* unicode_object.state */
	{ 552, 16 },	/* unicode_object.length */
	{ 560, 40 },	/* unicode_object.asciiobject_size */
};

/* Copy a string into a fixed header field, NUL-terminated. */
static void
python_set_field(char *field, size_t size, const char *s)
{
	size_t	len = strlen(s);

	if (len >= size)
		len = size - 1;
	memcpy(field, s, len);
	field[len] = '\0';
}

/* Publish the state, with a note for the user (or NULL). */
static void
python_set_state(int state, const char *note)
{
	struct memtop_header	*hdr = core_shm.hdr;

	if (hdr != NULL) {
		if (note != NULL)
			python_set_field(hdr->python_note,
			    sizeof hdr->python_note, note);
		__atomic_store_n(&hdr->python_state, (uint32_t)state,
		    __ATOMIC_RELEASE);
	}
	__atomic_store_n(&python_state, state, __ATOMIC_RELEASE);
}

/* Append s to a note being built in buf (size bytes). */
static void
python_note_add(char *buf, size_t size, const char *s)
{
	size_t	len = strlen(buf), add = strlen(s);

	if (len + 1 >= size)
		return;
	if (add > size - len - 1)
		add = size - len - 1;
	memcpy(buf + len, s, add);
	buf[len + add] = '\0';
}

/* Mark the interpreter unsupported: "CPython <version>: <why>". */
static void
python_unsupported(const char *version, const char *why)
{
	char	note[sizeof core_shm.hdr->python_note];

	note[0] = '\0';
	python_note_add(note, sizeof note, "CPython ");
	python_note_add(note, sizeof note, version);
	python_note_add(note, sizeof note, ": ");
	python_note_add(note, sizeof note, why);
	python_note_add(note, sizeof note, "; native stacks only");
	python_set_state(MEMTOP_PY_UNSUPPORTED, note);
}

/* A type object's tp_basicsize. */
static int64_t
python_basicsize(uintptr_t type)
{
	int64_t	v;

	memcpy(&v, (const void *)(type + 32), sizeof v);
	return (v);
}

/* A type object's ob_type. */
static uintptr_t
python_type_of(uintptr_t obj)
{
	uintptr_t	v;

	memcpy(&v, (const void *)(obj + 8), sizeof v);
	return (v);
}

/*
 * Check 3.13's _Py_DebugOffsets against memtop's table; NULL when they
 * agree, else why not.
 */
static const char *
python_check_debug_offsets(uintptr_t runtime, unsigned long hexversion)
{
	uint64_t	v;
	size_t		i;

	if (runtime == 0)
		return ("_PyRuntime not found");
	if (memcmp((const void *)runtime, "xdebugpy", 8) != 0)
		return ("_PyRuntime has no debug offsets");
	memcpy(&v, (const void *)(runtime + 8), sizeof v);
	if ((v >> 16) != (hexversion >> 16))
		return ("debug offsets of another version");
	memcpy(&v, (const void *)(runtime + 16), sizeof v);
	if (v != 0)
		return ("free-threaded build");
	for (i = 0; i < sizeof python_debug_offsets /
	    sizeof python_debug_offsets[0]; i++) {
		memcpy(&v, (const void *)(runtime + python_debug_offsets[i].at),
		    sizeof v);
		if (v != python_debug_offsets[i].want)
			return ("unexpected debug offsets");
	}
	return (NULL);
}

/* Parse "3.11.7 (main, ..." into minor; the version text goes to ver. */
static int
python_parse_version(const char *s, char *ver, size_t size, int *major,
    int *minor)
{
	size_t	i;
	int	*part = major;

	for (i = 0; s[i] != '\0' && s[i] != ' ' && i + 1 < size; i++)
		ver[i] = s[i];
	ver[i] = '\0';
	*major = *minor = -1;
	for (i = 0; ver[i] >= '0' && ver[i] <= '9'; i++)
		*part = (*part < 0 ? 0 : *part * 10) + (ver[i] - '0');
	if (ver[i] != '.')
		return (-1);
	part = minor;
	for (i++; ver[i] >= '0' && ver[i] <= '9'; i++)
		*part = (*part < 0 ? 0 : *part * 10) + (ver[i] - '0');
	return (*major < 0 || *minor < 0 ? -1 : 0);
}

/*
 * Look for CPython through a dlsym handle.  early is set at attach, before
 * main: only then can the allocators be wrapped.  Fills python_rt and
 * publishes the state; leaves it MEMTOP_PY_NONE when no Python is there.
 */
static void
python_discover(void *handle, int early)
{
	struct memtop_header		*hdr = core_shm.hdr;
	const struct python_layout	*lay;
	struct python_alloc_syms	 syms;
	const char			*(*get_version)(void);
	const char			*v, *why;
	const unsigned long		*hexp;
	const ElfW(Sym)			*sym = NULL;
	Dl_info				 info;
	uintptr_t			 type_type, runtime;
	char				 ver[32];
	void				*eval, *fin;
	int				 major, minor;

	get_version = (const char *(*)(void))dlsym(handle, "Py_GetVersion");
	if (get_version == NULL)
		return;
	v = get_version();
	if (v == NULL || python_parse_version(v, ver, sizeof ver, &major,
	    &minor) != 0) {
		python_unsupported("(unknown version)",
		    "version not understood");
		return;
	}
	if (hdr != NULL)
		python_set_field(hdr->python_version,
		    sizeof hdr->python_version, ver);
	if (strstr(v, "PyPy") != NULL) {
		python_set_state(MEMTOP_PY_UNSUPPORTED,
		    "PyPy is not supported; native stacks only");
		return;
	}
	if (strstr(v, "free-threading") != NULL) {
		python_unsupported(ver,
		    "free-threaded builds are not supported");
		return;
	}
	if (major != 3 || minor < PYTHON_MINOR_FIRST ||
	    minor > PYTHON_MINOR_LAST) {
		python_unsupported(ver, "not supported (3.9 to 3.13 are)");
		return;
	}
	lay = &python_layouts[minor - PYTHON_MINOR_FIRST];

	python_rt.this_tstate = (void *(*)(void))dlsym(handle,
	    "PyGILState_GetThisThreadState");
	python_rt.gil_check = (int (*)(void))dlsym(handle, "PyGILState_Check");
	if ((fin = dlsym(handle, "Py_IsFinalizing")) == NULL)
		fin = dlsym(handle, "_Py_IsFinalizing");
	python_rt.finalizing = (int (*)(void))fin;
	python_rt.code_type = (uintptr_t)dlsym(handle, "PyCode_Type");
	python_rt.unicode_type = (uintptr_t)dlsym(handle, "PyUnicode_Type");
	python_rt.bytes_type = (uintptr_t)dlsym(handle, "PyBytes_Type");
	python_rt.frame_type = (uintptr_t)dlsym(handle, "PyFrame_Type");
	type_type = (uintptr_t)dlsym(handle, "PyType_Type");
	eval = dlsym(handle, "_PyEval_EvalFrameDefault");
	if (python_rt.this_tstate == NULL || python_rt.finalizing == NULL ||
	    python_rt.code_type == 0 || python_rt.unicode_type == 0 ||
	    python_rt.bytes_type == 0 || type_type == 0 || eval == NULL ||
	    (lay->entry_kind == PYTHON_ENTRY_ALL &&
	    python_rt.frame_type == 0)) {
		python_unsupported(ver, "C API symbols not found");
		return;
	}

	/* The object header and the sizes of the types memtop reads. */
	if (python_type_of(python_rt.code_type) != type_type ||
	    python_type_of(python_rt.unicode_type) != type_type) {
		python_unsupported(ver, "unexpected object header "
		    "(Py_TRACE_REFS build?)");
		return;
	}
	if (python_basicsize(python_rt.code_type) != lay->co_size ||
	    python_basicsize(python_rt.unicode_type) != lay->str_size ||
	    python_basicsize(python_rt.bytes_type) != 33 ||
	    (lay->entry_kind == PYTHON_ENTRY_ALL &&
	    python_basicsize(python_rt.frame_type) < lay->f_size)) {
		python_unsupported(ver, "unexpected object sizes");
		return;
	}
	if (minor >= 11) {
		hexp = dlsym(handle, "Py_Version");
		if (hexp == NULL || (*hexp >> 24) != 3 ||
		    ((*hexp >> 16) & 0xff) != (unsigned long)minor) {
			python_unsupported(ver, "Py_Version does not match");
			return;
		}
		if (minor >= 13) {
			runtime = (uintptr_t)dlsym(handle, "_PyRuntime");
			why = python_check_debug_offsets(runtime, *hexp);
			if (why != NULL) {
				python_unsupported(ver, why);
				return;
			}
		}
	}

	/* The eval loop's extent, from its symbol's size. */
	if (dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) == 0 ||
	    sym == NULL || sym->st_size == 0) {
		python_unsupported(ver, "size of _PyEval_EvalFrameDefault "
		    "unknown");
		return;
	}
	python_rt.eval_lo = (uintptr_t)eval;
	python_rt.eval_hi = (uintptr_t)eval + sym->st_size;
	python_rt.pid = getpid();
	python_rt.finalized = 0;
	python_rt.lay = lay;
	if (python_walk_init() != 0) {
		python_unsupported(ver, "no memory for the code table");
		return;
	}

	/* pymalloc: arena labels always, object domains on request. */
	why = NULL;
	memset(&syms, 0, sizeof syms);
	syms.get_arena = (void (*)(void *))dlsym(handle,
	    "PyObject_GetArenaAllocator");
	syms.set_arena = (void (*)(void *))dlsym(handle,
	    "PyObject_SetArenaAllocator");
	syms.get_domain = (void (*)(int, void *))dlsym(handle,
	    "PyMem_GetAllocator");
	syms.set_domain = (void (*)(int, void *))dlsym(handle,
	    "PyMem_SetAllocator");
	if (!early) {
		if (python_cfg_pyalloc)
			why = "--python-allocators: the interpreter was "
			    "loaded late, allocators not wrapped";
	} else if ((v = python_alloc_init(&syms, python_cfg_pyalloc)) !=
	    NULL && python_cfg_pyalloc)
		why = "--python-allocators: allocators not wrapped";
	else if (python_cfg_pyalloc) {
		python_initialized = (int (*)(void))dlsym(handle,
		    "Py_IsInitialized");
		python_wrapped = python_initialized != NULL;
	}
	python_set_state(MEMTOP_PY_ACTIVE, why);
}

/* dl_iterate_phdr callback: the range of the object holding this code. */
static int
python_find_own(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t	me = (uintptr_t)arg, lo = UINTPTR_MAX, hi = 0, a;
	int		i, found = 0;

	for (i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		if (a < lo)
			lo = a;
		if (a + info->dlpi_phdr[i].p_memsz > hi)
			hi = a + info->dlpi_phdr[i].p_memsz;
		if (me >= a && me < a + info->dlpi_phdr[i].p_memsz)
			found = 1;
	}
	if (!found)
		return (0);
	python_own_lo = lo;
	python_own_hi = hi;
	return (1);
}

/* dl_iterate_phdr callback: find a loaded libpython3.X. */
static int
python_find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char	*name = info->dlpi_name, *base;
	const char	**found = arg;

	if (name == NULL || (base = strrchr(name, '/')) == NULL)
		return (0);
	if (strncmp(base + 1, "libpython3.", 11) != 0)
		return (0);
	*found = name;
	return (1);
}

/*
 * Look again for an interpreter loaded since attach (sampled path, guard
 * held), at most every PYTHON_RETRY_NS.  dlsym(RTLD_DEFAULT) finds one
 * loaded RTLD_GLOBAL; one loaded RTLD_LOCAL is found by its file name and
 * opened with RTLD_NOLOAD (the handle is kept: the library stays loaded
 * while memtop reads it).
 *
 * This can run inside the program's own dlopen (its mallocs are sampled
 * too), where calling the loader again, or into a library it has mapped
 * but not yet relocated, would be fatal.  So nothing is done unless the
 * loader says its lists are consistent (_r_debug.r_state), and a library
 * found is only used at the next retry, a period later, if it is still
 * there: by then its dlopen has long returned.
 */
static __attribute__((noinline)) void
python_retry(void)
{
	const char	*lib = NULL;
	void		*h;
	uint64_t	 now;
	int		 found;

	now = core_now();
	if (now < __atomic_load_n(&python_retry_next, __ATOMIC_RELAXED) ||
	    !core_trylock(&python_discover_lock))
		return;
	if (now < python_retry_next ||
	    __atomic_load_n(&python_state, __ATOMIC_ACQUIRE) != MEMTOP_PY_NONE)
		goto out;
	__atomic_store_n(&python_retry_next, now + PYTHON_RETRY_NS,
	    __ATOMIC_RELAXED);
	if (__atomic_load_n(&_r_debug.r_state, __ATOMIC_ACQUIRE) !=
	    RT_CONSISTENT)
		goto out;

	found = dlsym(RTLD_DEFAULT, "Py_GetVersion") != NULL;
	if (!found && dl_iterate_phdr(python_find_lib, &lib) != 0 &&
	    lib != NULL)
		found = 2;
	if (!found || !python_retry_seen) {
		python_retry_seen = found;
		goto out;
	}
	if (found == 1)
		python_discover(RTLD_DEFAULT, 0);
	else if ((h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) != NULL) {
		python_handle = h;
		python_discover(h, 0);
	}
out:
	core_unlock(&python_discover_lock);
}

/*
 * Find the interpreter, if any (at attach, guard held, before main).  The
 * state, version and note go to the header for the front end.
 */
void
python_init(void)
{
	struct memtop_header	*hdr = core_shm.hdr;

	python_cfg_off = (hdr->config & MEMTOP_CFG_NOPYTHON) != 0;
	python_cfg_pyalloc = (hdr->config & MEMTOP_CFG_PYALLOC) != 0;
	python_retry_next = 0;
	python_retry_seen = 0;
	python_own_lo = python_own_hi = 0;
	dl_iterate_phdr(python_find_own, (void *)(uintptr_t)python_init);
	if (python_cfg_off) {
		python_set_state(MEMTOP_PY_OFF, NULL);
		return;
	}
	core_lock(&python_discover_lock);
	python_discover(RTLD_DEFAULT, 1);
	core_unlock(&python_discover_lock);
}

/* Rotate a[0..n) left by k places (three reversals, no extra memory). */
static void
python_rotate(uint64_t *a, size_t n, size_t k)
{
	size_t		i, j;
	uint64_t	t;
	size_t		r[3][2] = { { 0, k }, { k, n }, { 0, n } };
	int		p;

	for (p = 0; p < 3; p++) {
		for (i = r[p][0], j = r[p][1]; i + 1 < j; i++, j--) {
			t = a[i];
			a[i] = a[j - 1];
			a[j - 1] = t;
		}
	}
}

/* Nonzero when return address ip is inside the eval loop. */
static inline int
python_is_eval(uintptr_t ip)
{
	return (ip - 1 - python_rt.eval_lo <
	    python_rt.eval_hi - python_rt.eval_lo);
}

static size_t	python_merge_walk(const uint64_t *, size_t, int, uint64_t *,
		    size_t, uint16_t *);

/*
 * Nonzero when python_merge would merge nothing now (see core.h), after
 * looking for an interpreter now and then.  Exact mode samples every
 * allocation: it looks at the clock for a retry on one sample in
 * PYTHON_RETRY_EVERY only.
 */
int
python_passes(void)
{
	int	state;

	state = __atomic_load_n(&python_state, __ATOMIC_ACQUIRE);
	if (state == MEMTOP_PY_NONE && !python_cfg_off && (!core_exact ||
	    (++python_retry_tick & (PYTHON_RETRY_EVERY - 1)) == 0)) {
		python_retry();
		state = __atomic_load_n(&python_state, __ATOMIC_ACQUIRE);
	}
	return (state != MEMTOP_PY_ACTIVE);
}

/*
 * Merge the native frames of a sample with the calling thread's Python
 * frames (see core.h).  Runs on the sampled path with the guard held.
 * Without Python it costs a few loads: the walk, whose frame is large, is
 * a function of its own.
 */
size_t
python_merge(const uint64_t *ips, size_t nips, int is_mmap, uint64_t *out,
    size_t max, uint16_t *flags, const uint64_t **frames)
{
	if (python_passes() || max == 0) {
		*frames = ips;	/* no copy: the frames are as unwound */
		return (nips < max ? nips : max);
	}
	*frames = out;
	return (python_merge_walk(ips, nips, is_mmap, out, max, flags));
}

/* python_merge with Python frames to merge. */
static __attribute__((noinline)) size_t
python_merge_walk(const uint64_t *ips, size_t nips, int is_mmap, uint64_t *out,
    size_t max, uint16_t *flags)
{
	struct python_walk	 w;
	size_t			 n = 0, i, mark = SIZE_MAX, start;
	uint64_t		 f;
	uint32_t		 tls = python_tls;
	int			 walking, r, entry, any = 0;

	if (__builtin_expect(python_wrapped, 0) && python_initialized()) {
		/* Started: did CPython keep the wrappers? */
		python_wrapped = 0;
		if (!python_alloc_used())
			python_set_state(MEMTOP_PY_ACTIVE,
			    "--python-allocators had no effect: CPython "
			    "replaced the allocators (PYTHONMALLOC, -X dev?)");
	}
	if (is_mmap && (tls & PYTHON_TLS_ARENA)) {
		out[n++] = MEMTOP_FRAME_MAKE_PY(MEMTOP_CODE_SPECIAL,
		    MEMTOP_SPECIAL_PYMALLOC);
		*flags |= MEMTOP_STACK_PYMALLOC;
	} else if (!is_mmap && (tls & PYTHON_TLS_PYOBJ))
		out[n++] = MEMTOP_FRAME_MAKE_PY(MEMTOP_CODE_SPECIAL,
		    MEMTOP_SPECIAL_PYOBJ);

	walking = python_walk_begin(&w);
	for (i = 0; i < nips && n < max; i++) {
		if (ips[i] - python_own_lo < python_own_hi - python_own_lo)
			continue;	/* memtop's arena wrapper, inside */
		if (!walking || !python_is_eval(ips[i])) {
			out[n++] = ips[i];
			continue;
		}
		/* This call of the eval loop: its frames, up to its entry. */
		if ((r = python_walk_next(&w, &f, &entry)) == PYTHON_WALK_END) {
			walking = 0;
			out[n++] = ips[i];
			continue;
		}
		for (;;) {
			if (r == PYTHON_WALK_FRAME && n < max) {
				out[n++] = f;
				any = 1;
			}
			if (entry)
				break;
			if ((r = python_walk_next(&w, &f, &entry)) ==
			    PYTHON_WALK_END) {
				walking = 0;
				break;
			}
		}
		mark = n;
	}

	/* Frames no eval-loop frame claimed: after the last ones placed. */
	if (walking && n < max) {
		start = n;
		while (n < max &&
		    (r = python_walk_next(&w, &f, &entry)) != PYTHON_WALK_END) {
			if (r == PYTHON_WALK_FRAME) {
				out[n++] = f;
				any = 1;
			}
		}
		if (mark != SIZE_MAX && mark < start && n > start)
			python_rotate(out + mark, n - mark, start - mark);
	}
	if (any)
		*flags |= MEMTOP_STACK_PYTHON;
	return (n);
}

/*
 * In a forked child (which does not track): locks held by threads that
 * did not survive the fork are released.
 */
void
python_fork_child(void)
{
	python_discover_lock = 0;
	python_walk_fork_child();
	python_alloc_fork_child();
}
