/*
 * symbols.c: naming frames, outside the target (invariant 6).
 *
 * Native frames are return addresses; they are looked up at ip - 1 (inside
 * the call) in the module that holds them, using the module table the
 * target recorded in the segment (path and load bias of every ELF object),
 * so names still resolve after the target exited.  Each module gets its own
 * libdwfl session, opened the first time one of its addresses is asked
 * for: a program with hundreds of loaded objects costs only the ones that
 * appear in stacks, and a module unloaded and replaced by another at the
 * same address cannot confuse libdwfl.  A module is reported with
 * dwfl_report_elf(base = load bias, add_p_vaddr = true): for a PIE or a
 * shared object the bias is where p_vaddr 0 landed, and for a non-PIE
 * executable (ET_EXEC) libdwfl ignores the base.  Debug information comes
 * from the file itself or from the standard places (/usr/lib/debug, build
 * ids) through dwfl_standard_find_debuginfo, asked only when such a file
 * exists or debuginfod servers are configured (symbols_find_debuginfo).
 * C++ names are demangled.
 *
 * _start, and every frame of the C library (its start routines are the
 * bottom of every stack), are named from the symbol table only, the debug
 * file's when there is one.  Their file and line say little to the user,
 * and looking up one of them reads the C library's whole debug information
 * (libc6-dbg's is ~10 MB of compressed sections, 50-90 ms of CPU, and a
 * short program ran that much longer beside it).
 *
 * Python frames name a code record in the segment (file, qualified name)
 * and carry their line.  Every answer is cached per frame value and its
 * strings are interned, so a frame shared by many stacks costs once.
 */

#include "config.h"

#include <sys/types.h>

#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * libbsd's RB_GENERATE_STATIC uses __unused, which libbsd's sys/cdefs.h
 * leaves undefined on Linux (Debian bugs #522773, #522774).
 */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
#include <sys/tree.h>

#include "tui.h"

/*
 * The C++ runtime's demangler, loaded the first time a C++ name is met:
 * linked in, the runtime cost about 2 ms of every start of memtop, before
 * the target could start (docs/performance.md), and C programs never need
 * it.  Without it, C++ names stay mangled.
 */
#define SYMBOLS_CXX_RUNTIME	"libstdc++.so.6"
typedef char	*(*symbols_demangler)(const char *, char *, size_t *, int *);

static symbols_demangler
symbols_cxa_demangle(void)
{
	static symbols_demangler	 fn;
	static int			 tried;
	void				*h;

	if (!tried) {
		tried = 1;
		if ((h = dlopen(SYMBOLS_CXX_RUNTIME, RTLD_LAZY | RTLD_LOCAL)) !=
		    NULL)
			*(void **)&fn = dlsym(h, "__cxa_demangle");
		if (fn == NULL)
			log_debug("symbols: no demangler (%s)", dlerror());
	}
	return (fn);
}

/* An interned string. */
struct sym_string {
	RB_ENTRY(sym_string)	 entry;
	char			 s[];
};
RB_HEAD(sym_strings, sym_string);

/* A cached frame, with the frames of the functions it was inlined into. */
struct sym_node {
	RB_ENTRY(sym_node)	 entry;
	struct sym_frame	 f;
	uint32_t		 seen;	/* modules known when resolved */
	struct sym_frame	*outer;	/* f.outer's chain, allocated */
	u_int			 nouter;
};
RB_HEAD(sym_nodes, sym_node);

/* A module from the segment, with its libdwfl session once opened. */
struct sym_module {
	uint64_t	 bias;
	uint64_t	 start;
	uint64_t	 end;
	uint32_t	 flags;		/* MEMTOP_MODULE_* */
	uint32_t	 idx;		/* record in the segment */
	const char	*path;		/* interned */
	const char	*name;		/* interned basename */
	Dwfl		*dwfl;
	Dwfl_Module	*mod;
	int		 failed;	/* the file could not be opened */
	struct sym_index *index;	/* built at the first lookup */
};

struct symbols {
	struct reader		*reader;
	struct sym_strings	 strings;
	struct sym_nodes	 nodes;
	struct sym_module	*modules;
	u_int			 nmodules;
	uint32_t		 modules_seen;	/* records read from the segment */
};

/* Where separate debug files are looked for, as libdwfl's default. */
#define SYM_DEBUG_DIR	"/usr/lib/debug"

/* Whether the file named a, b, c (joined) can be read. */
static int
symbols_readable(const char *a, const char *b, const char *c)
{
	char	path[PATH_MAX];
	int	n;

	n = snprintf(path, sizeof path, "%s%s%s", a, b, c);
	return (n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0);
}

/*
 * Whether a separate debug file of a module may be on this machine: one
 * named by its build id under /usr/lib/debug/.build-id, or by its debug
 * link beside it, in .debug/ beside it, or under /usr/lib/debug.
 */
static int
symbols_debug_file_exists(Dwfl_Module *mod, const char *file_name,
    const char *debuglink)
{
	const unsigned char	*id;
	GElf_Addr		 vaddr;
	char			 hex[2 * 64 + 2], dir[PATH_MAX], *slash;
	int			 len, i, n = 0;

	len = dwfl_module_build_id(mod, &id, &vaddr);
	if (len > 1 && len <= 64) {
		for (i = 0; i < len; i++) {
			n += snprintf(hex + n, sizeof hex - (size_t)n, "%02x",
			    id[i]);
			if (i == 0)
				hex[n++] = '/';
		}
		hex[n] = '\0';
		if (symbols_readable(SYM_DEBUG_DIR "/.build-id/", hex,
		    ".debug"))
			return (1);
	}
	if (debuglink == NULL || file_name == NULL ||
	    strlcpy(dir, file_name, sizeof dir) >= sizeof dir ||
	    (slash = strrchr(dir, '/')) == NULL)
		return (0);
	slash[1] = '\0';
	/* The debug link beside the file, unless it names the file itself. */
	if (strcmp(file_name + (slash + 1 - dir), debuglink) != 0 &&
	    symbols_readable(dir, "", debuglink))
		return (1);
	return (symbols_readable(dir, ".debug/", debuglink) ||
	    symbols_readable(SYM_DEBUG_DIR, dir, debuglink));
}

/*
 * Find a module's separate debug file.  libdwfl's standard search falls
 * back to the debuginfod client when no local file is found, and loading
 * that client costs tens of milliseconds (it brings in an HTTP and TLS
 * stack) even when no server is configured, for every program whose debug
 * files are not installed.  Without DEBUGINFOD_URLS it has nothing to ask,
 * so the standard search runs only when a local file may be found; with
 * servers configured it runs as is and may download.
 */
static int
symbols_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
    Dwarf_Addr base, const char *file_name, const char *debuglink,
    GElf_Word crc, char **debuginfo_file_name)
{
	const char	*urls = getenv("DEBUGINFOD_URLS");

	if ((urls == NULL || *urls == '\0') &&
	    !symbols_debug_file_exists(mod, file_name, debuglink))
		return (-1);
	return (dwfl_standard_find_debuginfo(mod, userdata, modname, base,
	    file_name, debuglink, crc, debuginfo_file_name));
}

static const Dwfl_Callbacks symbols_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = symbols_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* Compare interned strings. */
static int
sym_string_cmp(struct sym_string *a, struct sym_string *b)
{
	return (strcmp(a->s, b->s));
}
RB_GENERATE_STATIC(sym_strings, sym_string, entry, sym_string_cmp);

/* Compare cached frames by value. */
static int
sym_node_cmp(struct sym_node *a, struct sym_node *b)
{
	if (a->f.frame < b->f.frame)
		return (-1);
	return (a->f.frame > b->f.frame);
}
RB_GENERATE_STATIC(sym_nodes, sym_node, entry, sym_node_cmp);

/* Intern len bytes of s (NUL bytes cut the string short). */
static const char *
symbols_intern(struct symbols *sy, const char *s, size_t len)
{
	struct sym_string	*str, *found;
	size_t			 n;

	n = strnlen(s, len);
	str = xmalloc(sizeof *str + n + 1);
	memcpy(str->s, s, n);
	str->s[n] = '\0';
	found = RB_INSERT(sym_strings, &sy->strings, str);
	if (found != NULL) {
		free(str);
		return (found->s);
	}
	return (str->s);
}

/* Create a symbolizer reading modules and codes from a segment. */
struct symbols *
symbols_create(struct reader *r)
{
	struct symbols	*sy;

	sy = xcalloc(1, sizeof *sy);
	sy->reader = r;
	RB_INIT(&sy->strings);
	RB_INIT(&sy->nodes);
	return (sy);
}

/*
 * A module's symbols sorted by address, for naming a frame by binary
 * search.  dwfl_module_addrinfo reads the whole symbol table at every
 * call: on a program linked with libLLVM (46,000 symbols) a report of
 * every stack spent 8 s of its 9 there.  The index gives the name libdwfl
 * gives.  Of the sized symbols holding the address: a global or weak one
 * before a local one (libdwfl looks at the locals only when no global
 * holds the address), then the one starting closest below it, then the
 * stronger binding, then the smaller size, then the first in the table.
 * Symbols without a size (assembly labels, version names) name only an
 * address no sized symbol holds, as libdwfl's rules come out: the label
 * must start where the highest of the symbols below the address starts
 * or ends, in the address's section (at the address itself for an
 * absolute one); of several, the last libdwfl looks at (the globals
 * first, then the locals, each in table order); and a global label
 * starting exactly at the address keeps libdwfl from the locals.
 * tests/front/symbols-index compares the index with libdwfl.
 */
struct sym_entry {
	uint64_t	 value;		/* where it starts in the target */
	uint64_t	 size;
	uint64_t	 maxend;	/* the highest end up to this one */
	const char	*name;		/* libelf's, lives as long as the module */
	uint32_t	 ndx;		/* in the symbol table */
	uint8_t		 rank;		/* global 3, weak 2, local 1, other 0 */
	uint8_t		 local;		/* in libdwfl's second pass */
};
struct sym_label {			/* a symbol without a size */
	uint64_t	 value;
	const char	*name;
	uint32_t	 order;		/* when libdwfl looks at it */
	uint8_t		 local;		/* in libdwfl's second pass */
	uint8_t		 absolute;	/* SHN_ABS and the like */
};
struct sym_index {
	struct sym_entry *e;		/* sized symbols, by address */
	size_t		 n;
	struct sym_label *l;		/* labels, by address and order */
	size_t		 nl;
};

/* Steps back from the closest symbol before asking libdwfl instead. */
#define SYM_INDEX_WALK	64

static void
symbols_index_free(struct sym_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->e);
	free(ix->l);
	free(ix);
}

static int
symbols_entry_cmp(const void *a, const void *b)
{
	const struct sym_entry	*ea = a, *eb = b;

	if (ea->value != eb->value)
		return (ea->value < eb->value ? -1 : 1);
	return (ea->ndx < eb->ndx ? -1 : ea->ndx > eb->ndx);
}

static int
symbols_label_cmp(const void *a, const void *b)
{
	const struct sym_label	*la = a, *lb = b;

	if (la->value != lb->value)
		return (la->value < lb->value ? -1 : 1);
	return (la->order < lb->order ? -1 : la->order > lb->order);
}

/* The binding as a rank, stronger higher (libdwfl's order). */
static uint8_t
symbols_rank(const GElf_Sym *sym)
{
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL:
		return (3);
	case STB_WEAK:
		return (2);
	case STB_LOCAL:
		return (1);
	}
	return (0);
}

/* Index the module's symbol table; NULL when it has none. */
static struct sym_index *
symbols_index_build(Dwfl_Module *mod)
{
	struct sym_index	*ix;
	struct sym_entry	*e;
	struct sym_label	*l;
	GElf_Sym		 sym;
	GElf_Addr		 value;
	GElf_Word		 shndx;
	const char		*name;
	uint64_t		 maxend = 0;
	size_t			 i;
	int			 n, k, type, first, local;

	if ((n = dwfl_module_getsymtab(mod)) <= 1 ||
	    (first = dwfl_module_getsymtab_first_global(mod)) < 0)
		return (NULL);
	ix = xcalloc(1, sizeof *ix);
	ix->e = xreallocarray(NULL, (size_t)n, sizeof *ix->e);
	ix->l = xreallocarray(NULL, (size_t)n, sizeof *ix->l);
	for (k = 1; k < n; k++) {
		name = dwfl_module_getsym_info(mod, k, &sym, &value, &shndx,
		    NULL, NULL);
		type = GELF_ST_TYPE(sym.st_info);
		if (name == NULL || *name == '\0' ||
		    sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		/* The table's locals come first; libdwfl looks at them last. */
		local = first > 1 && k < first;
		if (sym.st_size == 0) {
			l = &ix->l[ix->nl++];
			l->value = value;
			l->name = name;
			l->order = (uint32_t)(local ? n + k : k);
			l->local = (uint8_t)local;
			l->absolute = sym.st_shndx >= SHN_LORESERVE &&
			    sym.st_shndx != SHN_XINDEX;
			continue;
		}
		e = &ix->e[ix->n++];
		e->value = value;
		e->size = sym.st_size;
		e->name = name;
		e->ndx = (uint32_t)k;
		e->rank = symbols_rank(&sym);
		e->local = (uint8_t)local;
	}
	qsort(ix->e, ix->n, sizeof *ix->e, symbols_entry_cmp);
	qsort(ix->l, ix->nl, sizeof *ix->l, symbols_label_cmp);
	for (i = 0; i < ix->n; i++) {
		e = &ix->e[i];
		if (e->value + e->size < e->value)
			maxend = UINT64_MAX;
		else if (e->value + e->size > maxend)
			maxend = e->value + e->size;
		e->maxend = maxend;
	}
	return (ix);
}

/* Nonzero when symbol a is a better name for an address both hold. */
static int
symbols_entry_better(const struct sym_entry *a, const struct sym_entry *b)
{
	if (a->local != b->local)
		return (b->local);
	if (a->value != b->value)
		return (a->value > b->value);
	if (a->rank != b->rank)
		return (a->rank > b->rank);
	if (a->size != b->size)
		return (a->size < b->size);
	return (a->ndx < b->ndx);
}

/* The number of labels starting at or below pc. */
static size_t
symbols_labels_upto(const struct sym_index *ix, uint64_t pc)
{
	size_t	lo = 0, hi = ix->nl, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->l[mid].value <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * The label naming pc, which no sized symbol holds, or NULL.  j labels
 * start at or below pc; top is the highest end of the sized symbols
 * starting at or below it (0 if none); local_too whether libdwfl looks
 * at the locals.
 */
static const char *
symbols_label_name(Dwfl_Module *mod, const struct sym_index *ix, size_t j,
    uint64_t pc, uint64_t top, int local_too)
{
	const struct sym_label	*l, *pick = NULL;
	Dwarf_Addr		 a, bias;
	const void		*scn_pc = NULL;
	uint64_t		 at = top;
	int			 have_scn = 0;

	/* Where the highest symbol at or below pc starts or ends. */
	for (; j > 0; j--) {
		if (ix->l[j - 1].local && !local_too)
			continue;
		if (ix->l[j - 1].value > at)
			at = ix->l[j - 1].value;
		break;
	}
	for (; j > 0 && ix->l[j - 1].value == at; j--) {
		l = &ix->l[j - 1];
		if (l->local && !local_too)
			continue;
		if (l->absolute) {
			if (at != pc)
				continue;
		} else {
			if (!have_scn) {
				a = pc;
				scn_pc = dwfl_module_address_section(mod, &a,
				    &bias);
				have_scn = 1;
			}
			a = at;
			if (dwfl_module_address_section(mod, &a, &bias) !=
			    scn_pc)
				continue;
		}
		if (pick == NULL || l->order > pick->order)
			pick = l;
	}
	return (pick != NULL ? pick->name : NULL);
}

/*
 * The name of the symbol holding pc (an address in the target) in module
 * m, as dwfl_module_addrinfo gives it; NULL when there is none.
 */
static const char *
symbols_addr_name(struct sym_module *m, uint64_t pc)
{
	struct sym_index	*ix;
	const struct sym_entry	*best = NULL, *e;
	GElf_Off		 off;
	GElf_Sym		 sym;
	uint64_t		 top = 0;
	size_t			 lo, hi, mid, j, k, steps = 0;
	int			 global_at = 0;

	if (m->index == NULL && (m->index = symbols_index_build(m->mod)) ==
	    NULL)
		return (dwfl_module_addrinfo(m->mod, pc, &off, &sym, NULL,
		    NULL, NULL));
	ix = m->index;
	/* The first sized symbol starting above pc, then back. */
	lo = 0;
	hi = ix->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->e[mid].value <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		top = ix->e[lo - 1].maxend;
	while (lo > 0) {
		e = &ix->e[--lo];
		if (e->maxend <= pc)
			break;		/* nothing from here down holds pc */
		if (++steps > SYM_INDEX_WALK)
			return (dwfl_module_addrinfo(m->mod, pc, &off, &sym,
			    NULL, NULL, NULL));
		if (pc - e->value < e->size &&
		    (best == NULL || symbols_entry_better(e, best)))
			best = e;
	}
	if (best != NULL && !best->local)
		return (best->name);
	/* A global label at pc keeps libdwfl from the locals. */
	j = symbols_labels_upto(ix, pc);
	for (k = j; k > 0 && ix->l[k - 1].value == pc; k--) {
		if (!ix->l[k - 1].local)
			global_at = 1;
	}
	if (global_at)
		return (symbols_label_name(m->mod, ix, j, pc, pc, 0));
	if (best != NULL)
		return (best->name);
	return (symbols_label_name(m->mod, ix, j, pc, top, 1));
}

/* For symbols_check_file: name pc both ways and count a difference. */
static void
symbols_check_pc(struct sym_module *m, uint64_t pc, uint64_t *compared,
    uint64_t *differ, char *why, size_t len)
{
	GElf_Off	 off;
	GElf_Sym	 sym;
	const char	*a, *b;

	a = symbols_addr_name(m, pc);
	b = dwfl_module_addrinfo(m->mod, pc, &off, &sym, NULL, NULL, NULL);
	(*compared)++;
	if (a == b || (a != NULL && b != NULL && strcmp(a, b) == 0))
		return;
	if ((*differ)++ == 0 && len > 0)
		snprintf(why, len, "%#" PRIx64 ": index %s, libdwfl %s", pc,
		    a != NULL ? a : "(none)", b != NULL ? b : "(none)");
}

/*
 * For tests: open the ELF file at path as a module at bias 0 and name
 * addresses in and around its sized symbols (every one, or 2,000 spread
 * over a larger table) and its labels (500 at most) through the index
 * and through libdwfl.  *compared counts the addresses, *differ those named differently (the
 * first of them described in why).  -1 when the file could not be opened
 * or has no symbols.
 */
int
symbols_check_file(const char *path, uint64_t *compared, uint64_t *differ,
    char *why, size_t len)
{
	struct sym_module	 m;
	uint64_t		 pcs[6], end;
	size_t			 i, j, stride;
	int			 rc = -1;

	*compared = *differ = 0;
	if (len > 0)
		*why = '\0';
	memset(&m, 0, sizeof m);
	if ((m.dwfl = dwfl_begin(&symbols_callbacks)) == NULL)
		return (-1);
	dwfl_report_begin(m.dwfl);
	m.mod = dwfl_report_elf(m.dwfl, "check", path, -1, 0, true);
	dwfl_report_end(m.dwfl, NULL, NULL);
	if (m.mod == NULL || (m.index = symbols_index_build(m.mod)) == NULL)
		goto out;
	/* libdwfl reads the whole table for each: 2,000 symbols at most. */
	stride = m.index->n / 2000 + 1;
	for (i = 0; i < m.index->n; i += stride) {
		pcs[0] = m.index->e[i].value;
		pcs[1] = pcs[0] + m.index->e[i].size / 2;
		pcs[2] = pcs[0] + m.index->e[i].size - 1;
		pcs[3] = pcs[0] + m.index->e[i].size;	/* just past it */
		pcs[4] = pcs[0] - 1;			/* just before it */
		/* Halfway to the next symbol: held by none, often. */
		end = pcs[3];
		pcs[5] = i + 1 < m.index->n && m.index->e[i + 1].value > end ?
		    end + (m.index->e[i + 1].value - end) / 2 : end + 16;
		for (j = 0; j < 6; j++)
			symbols_check_pc(&m, pcs[j], compared, differ, why,
			    len);
	}
	/* Labels (500 at most), and the byte after each. */
	for (i = 0; i < m.index->nl; i += m.index->nl / 500 + 1) {
		for (j = 0; j < 2; j++)
			symbols_check_pc(&m, m.index->l[i].value + j,
			    compared, differ, why, len);
	}
	rc = 0;
out:
	symbols_index_free(m.index);
	dwfl_end(m.dwfl);
	return (rc);
}

/* Forget every module and cached frame (the target exec'd). */
void
symbols_reset(struct symbols *sy)
{
	struct sym_node		*n, *nn;
	u_int			 i;

	RB_FOREACH_SAFE(n, sym_nodes, &sy->nodes, nn) {
		RB_REMOVE(sym_nodes, &sy->nodes, n);
		free(n->outer);
		free(n);
	}
	for (i = 0; i < sy->nmodules; i++) {
		symbols_index_free(sy->modules[i].index);
		if (sy->modules[i].dwfl != NULL)
			dwfl_end(sy->modules[i].dwfl);
	}
	free(sy->modules);
	sy->modules = NULL;
	sy->nmodules = 0;
	sy->modules_seen = 0;
}

/* Free a symbolizer and everything it cached. */
void
symbols_free(struct symbols *sy)
{
	struct sym_string	*s, *ns;

	symbols_reset(sy);
	RB_FOREACH_SAFE(s, sym_strings, &sy->strings, ns) {
		RB_REMOVE(sym_strings, &sy->strings, s);
		free(s);
	}
	free(sy);
}

/* Order modules by start address, live ones before unloaded ones. */
static int
symbols_module_cmp(const void *a, const void *b)
{
	const struct sym_module	*ma = a, *mb = b;
	int			 ga, gb;

	if (ma->start != mb->start)
		return (ma->start < mb->start ? -1 : 1);
	ga = (ma->flags & MEMTOP_MODULE_GONE) != 0;
	gb = (mb->flags & MEMTOP_MODULE_GONE) != 0;
	return (ga - gb);
}

/* Read module records the target added since last time; 1 if any. */
static int
symbols_read_new(struct symbols *sy)
{
	struct reader_module	 rm;
	struct sym_module	*m;
	const char		*base;
	uint32_t		 i, count;

	count = reader_module_count(sy->reader);
	for (i = sy->modules_seen; i < count; i++) {
		if (reader_module(sy->reader, i, &rm) != 0)
			break;	/* not published yet: read it next time */
		sy->modules = xreallocarray(sy->modules, sy->nmodules + 1,
		    sizeof *sy->modules);
		m = &sy->modules[sy->nmodules++];
		memset(m, 0, sizeof *m);
		m->bias = rm.bias;
		m->start = rm.start;
		m->end = rm.end;
		m->flags = rm.flags;
		m->idx = i;
		m->path = symbols_intern(sy, rm.path, rm.path_len);
		base = strrchr(m->path, '/');
		m->name = base != NULL ? base + 1 : m->path;
		if (*m->name == '\0')
			m->name = "[main]";
	}
	if (i == sy->modules_seen)
		return (0);
	sy->modules_seen = i;
	qsort(sy->modules, sy->nmodules, sizeof *sy->modules,
	    symbols_module_cmp);
	return (1);
}

/*
 * Catch up with the module table: new records, and modules marked unloaded
 * since they were published.  Called once per poll.
 */
void
symbols_update(struct symbols *sy)
{
	struct reader_module	 rm;
	struct sym_module	*m;
	u_int			 j;
	int			 changed = 0;

	symbols_read_new(sy);
	for (j = 0; j < sy->nmodules; j++) {
		m = &sy->modules[j];
		if ((m->flags & MEMTOP_MODULE_GONE) == 0 &&
		    reader_module(sy->reader, m->idx, &rm) == 0 &&
		    (rm.flags & MEMTOP_MODULE_GONE) != 0) {
			m->flags = rm.flags;
			changed = 1;
		}
	}
	if (changed)
		qsort(sy->modules, sy->nmodules, sizeof *sy->modules,
		    symbols_module_cmp);
}

/* The module holding address ip, preferring one still loaded; or NULL. */
static struct sym_module *
symbols_find_module(struct symbols *sy, uint64_t ip)
{
	struct sym_module	*m, *gone = NULL;
	u_int			 lo = 0, hi = sy->nmodules, mid, i;

	/* Find the first module starting after ip, then look back. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sy->modules[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i > 0; i--) {
		m = &sy->modules[i - 1];
		if (ip >= m->start && ip < m->end) {
			if ((m->flags & MEMTOP_MODULE_GONE) == 0)
				return (m);
			if (gone == NULL)
				gone = m;
		}
		/* Modules do not nest deeply: stop after a few misses. */
		if (lo - i > 64)
			break;
	}
	return (gone);
}

/* Open the libdwfl session of a module; 0 on success. */
static int
symbols_open_module(struct symbols *sy, struct sym_module *m)
{
	if (m->mod != NULL)
		return (0);
	if (m->failed || m->path[0] != '/')
		return (-1);
	m->dwfl = dwfl_begin(&symbols_callbacks);
	if (m->dwfl == NULL) {
		m->failed = 1;
		return (-1);
	}
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, m->name, m->path, -1, m->bias, true);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (m->mod == NULL) {
		log_debug("symbols: %s: %s", m->path, dwfl_errmsg(-1));
		dwfl_end(m->dwfl);
		m->dwfl = NULL;
		m->failed = 1;
		return (-1);
	}
	log_debug("symbols: opened %s, bias %#" PRIx64, m->path, m->bias);
	return (0);
}

/* Demangle a C++ name into an interned string; others are interned as is. */
static const char *
symbols_demangle(struct symbols *sy, const char *name)
{
	symbols_demangler	 demangle;
	const char		*s, *at;
	char			*d, *copy = NULL;
	int			 status = -1;

	/* Drop a symbol version ("memcpy@@GLIBC_2.14"). */
	if ((at = strchr(name, '@')) != NULL && at != name) {
		copy = xstrndup(name, (size_t)(at - name));
		name = copy;
	}
	if (name[0] == '_' && name[1] == 'Z' &&
	    (demangle = symbols_cxa_demangle()) != NULL) {
		d = demangle(name, NULL, NULL, &status);
		if (d != NULL && status == 0) {
			s = symbols_intern(sy, d, strlen(d));
			free(d);
			free(copy);
			return (s);
		}
		free(d);
	}
	s = symbols_intern(sy, name, strlen(name));
	free(copy);
	return (s);
}

/* The name of a function's DIE: its linkage name demangled, or its name. */
static const char *
symbols_die_name(struct symbols *sy, Dwarf_Die *die)
{
	Dwarf_Attribute	 attr;
	const char	*name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name,
	    &attr));
	if (name == NULL)
		name = dwarf_formstring(dwarf_attr_integrate(die,
		    DW_AT_MIPS_linkage_name, &attr));
	if (name == NULL)
		name = dwarf_diename(die);
	if (name == NULL || *name == '\0')
		return (NULL);
	return (symbols_demangle(sy, name));
}

/*
 * Find the DIEs of the functions containing pc under parent, outermost
 * first: the real function, then each function inlined into it.  Walks
 * the tree itself: dwarf_getscopes continues from an inlined function to
 * its abstract definition rather than to the function it was inlined into.
 * Returns how many were put in chain (at most max).
 */
static int
symbols_chain(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *chain, int n,
    int max, int depth)
{
	Dwarf_Die	child;
	int		tag;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return (n);
	do {
		tag = dwarf_tag(&child);
		switch (tag) {
		case DW_TAG_namespace:
		case DW_TAG_module:
			/* Definitions may nest here: look inside. */
			break;
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			if (dwarf_haspc(&child, pc) <= 0)
				continue;
			if (tag != DW_TAG_lexical_block && tag != DW_TAG_try_block &&
			    tag != DW_TAG_catch_block && n < max)
				chain[n++] = child;
			return (symbols_chain(&child, pc, chain, n, max, depth + 1));
		default:
			continue;
		}
		if ((tag = symbols_chain(&child, pc, chain, n, max, depth + 1)) != n)
			return (tag);
	} while (dwarf_siblingof(&child, &child) == 0);
	return (n);
}

/*
 * Expand the functions inlined at pc: f becomes the innermost inlined
 * function (its file and line, from the line table, stay), and a chain of
 * frames is built out to the real function, each at the line where the
 * function inside it was inlined.  The real function's name is kept from
 * the symbol table when there is one.
 */
static void
symbols_inlines(struct symbols *sy, struct sym_module *m, struct sym_node *n,
    uint64_t pc)
{
	struct sym_frame	*f = &n->f, *o;
	Dwarf_Die		*cudie, chain[32];
	Dwarf_Files		*files;
	Dwarf_Attribute		 attr;
	Dwarf_Addr		 bias;
	Dwarf_Word		 w;
	const char		*name, *file, *real_name;
	size_t			 nfiles;
	int			 k, i;

	cudie = dwfl_module_addrdie(m->mod, pc, &bias);
	if (cudie == NULL)
		return;
	k = symbols_chain(cudie, pc - bias, chain, 0, 32, 0);
	if (k < 2 || dwarf_tag(&chain[k - 1]) != DW_TAG_inlined_subroutine ||
	    dwarf_getsrcfiles(cudie, &files, &nfiles) != 0)
		return;

	/* chain[k - 1] is the innermost function: this frame. */
	real_name = f->function;	/* from the symbol table */
	if ((name = symbols_die_name(sy, &chain[k - 1])) != NULL)
		f->function = name;
	n->outer = xcalloc((size_t)k - 1, sizeof *n->outer);
	n->nouter = (u_int)k - 1;
	for (i = k - 2; i >= 0; i--) {
		o = &n->outer[k - 2 - i];
		*o = *f;
		o->outer = NULL;
		o->file = NULL;
		o->line = 0;
		name = symbols_die_name(sy, &chain[i]);
		if (i == 0 && real_name != NULL)
			name = real_name;
		o->function = name != NULL ? name : "[inlined]";
		/* Where the function inside this one was inlined. */
		if (dwarf_formudata(dwarf_attr(&chain[i + 1], DW_AT_call_file,
		    &attr), &w) == 0 && w < nfiles &&
		    (file = dwarf_filesrc(files, (size_t)w, NULL, NULL)) != NULL)
			o->file = symbols_intern(sy, file, strlen(file));
		if (dwarf_formudata(dwarf_attr(&chain[i + 1], DW_AT_call_line,
		    &attr), &w) == 0 && w <= UINT32_MAX)
			o->line = (uint32_t)w;
		if (i < k - 2)
			n->outer[k - 3 - i].outer = o;
	}
	f->outer = &n->outer[0];
}

/*
 * Nonzero for a frame named from the symbol table alone: _start in any
 * module, and every frame of the C library and of the dynamic loader (a
 * program may well have functions of its own called clone or
 * start_thread).  The loader allocates for every thread's TLS and every
 * dlopen, so its frames are in many stacks, and its debug information is
 * compressed like the C library's: reading it took about 10 ms of an exact
 * report of a program with two threads (docs/performance.md).
 */
static int
symbols_names_only(const struct sym_module *m, const char *name)
{
	static const char *const	 sys[] = {
		"libc.so", "ld-musl", "ld-linux", "ld64.so", "libpthread.so"
	};
	size_t				 len = strcspn(name, "@"), i;

	if (len == 6 && strncmp(name, "_start", 6) == 0)	/* "_start@@" */
		return (1);
	for (i = 0; i < sizeof sys / sizeof sys[0]; i++) {
		if (strncmp(m->name, sys[i], strlen(sys[i])) == 0)
			return (1);
	}
	return (0);
}

/* Name a native frame. */
static void
symbols_native(struct symbols *sy, struct sym_node *n)
{
	struct sym_frame	*f = &n->f;
	struct sym_module	*m;
	Dwfl_Line		*line;
	const char		*name, *file;
	uint64_t		 ip = f->frame, pc;
	int			 lineno = 0;
	char			 buf[512];

	f->kind = SYM_NATIVE;
	pc = ip > 0 ? ip - 1 : 0;	/* inside the call instruction */
	m = symbols_find_module(sy, pc);
	if (m == NULL) {
		f->function = "[unknown]";
		return;
	}
	f->module = m->name;
	f->offset = ip - m->bias;
	if (symbols_open_module(sy, m) == 0) {
		name = symbols_addr_name(m, pc);
		if (name != NULL && *name != '\0') {
			f->function = symbols_demangle(sy, name);
			f->resolved = 1;
			if (symbols_names_only(m, name))
				return;
		}
		line = dwfl_module_getsrc(m->mod, pc);
		if (line != NULL) {
			file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL,
			    NULL);
			if (file != NULL && lineno > 0) {
				f->file = symbols_intern(sy, file, strlen(file));
				f->line = (uint32_t)lineno;
			}
		}
		symbols_inlines(sy, m, n, pc);
	}
	if (f->function == NULL) {
		snprintf(buf, sizeof buf, "%s+%#" PRIx64, m->name, f->offset);
		f->function = symbols_intern(sy, buf, strlen(buf));
	}
}

/* Name a Python frame (or a synthetic one). */
static void
symbols_python(struct symbols *sy, struct sym_frame *f)
{
	struct reader_code	 c;
	uint32_t		 code = MEMTOP_FRAME_CODE(f->frame);
	uint32_t		 line = MEMTOP_FRAME_LINE(f->frame);
	char			 buf[64];

	if (code == MEMTOP_CODE_SPECIAL) {
		f->kind = SYM_SPECIAL;
		f->resolved = 1;
		switch (line) {
		case MEMTOP_SPECIAL_PYMALLOC:
			f->function = "[pymalloc arena]";
			break;
		case MEMTOP_SPECIAL_MMAP:
			f->function = "[mmap]";
			break;
		case MEMTOP_SPECIAL_PYOBJ:
			f->function = "[python object]";
			break;
		default:
			snprintf(buf, sizeof buf, "[special %u]", line);
			f->function = symbols_intern(sy, buf, strlen(buf));
			f->resolved = 0;
			break;
		}
		return;
	}
	f->kind = SYM_PYTHON;
	f->line = line;
	if (reader_code(sy->reader, code, &c) != 0) {
		snprintf(buf, sizeof buf, "[python code %u]", code);
		f->function = symbols_intern(sy, buf, strlen(buf));
		return;
	}
	f->function = symbols_intern(sy, c.name, c.name_len);
	if (*f->function == '\0')
		f->function = "[python]";
	if (c.file_len != 0)
		f->file = symbols_intern(sy, c.file, c.file_len);
	f->resolved = 1;
}

/* Name a frame; the answer is cached and lives as long as the cache. */
const struct sym_frame *
symbols_resolve(struct symbols *sy, uint64_t frame)
{
	struct sym_node	 find, *n;

	find.f.frame = frame;
	n = RB_FIND(sym_nodes, &sy->nodes, &find);
	if (n != NULL) {
		/*
		 * A frame named before its module or code record was
		 * published is named again once there is more to read.
		 */
		if (n->f.resolved || n->f.kind == SYM_SPECIAL)
			return (&n->f);
		symbols_read_new(sy);
		if (n->f.kind == SYM_NATIVE && n->seen == sy->modules_seen)
			return (&n->f);
		memset(&n->f, 0, sizeof n->f);
		n->f.frame = frame;
		free(n->outer);
		n->outer = NULL;
		n->nouter = 0;
	} else {
		n = xcalloc(1, sizeof *n);
		n->f.frame = frame;
		RB_INSERT(sym_nodes, &sy->nodes, n);
		symbols_read_new(sy);
	}
	if (MEMTOP_FRAME_IS_PYTHON(frame))
		symbols_python(sy, &n->f);
	else
		symbols_native(sy, n);
	n->seen = sy->modules_seen;
	return (&n->f);
}
