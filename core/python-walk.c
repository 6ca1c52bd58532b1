/*
 * python-walk.c: reading the Python frames of the calling thread, inside
 * an allocation hook, without the GIL and without calling CPython.
 *
 * A thread's frame chain is changed only by that thread, and the hook runs
 * on the allocating thread between two of its instructions, so the chain it
 * sees is consistent and every frame in it, with its code object, file
 * name, qualified name and line table, stays alive while the hook runs.
 * The walk therefore only reads memory, with per-version offsets (struct
 * python_layout), and checks every object's type before trusting it.
 *
 * Two ways of reading: directly, when the thread holds the GIL (nothing
 * can free its frames then), or through process_vm_readv on our own pid
 * when it does not.  The second is for daemon threads allocating in
 * GIL-free C code while the interpreter shuts down and frees their thread
 * states: a read of unmapped memory then fails instead of crashing the
 * program.
 *
 * Code objects are interned once into MEMTOP_SEC_CODES (file and qualified
 * name copied as UTF-8 into MEMTOP_SEC_STRINGS) and remembered in a private
 * table keyed by the code object's address.  Addresses are reused when
 * code objects die, so a hit is checked against the code object's file
 * name, name and line table pointers and first line.  Lookups take no
 * lock (each entry has a sequence number, odd while it changes); interning
 * takes a spinlock, on the sampled path only.
 */

#include "config.h"

#include <sys/uio.h>

#include <errno.h>
#include <string.h>

#include "core.h"

#define PYTHON_MAX_STEPS	4096	/* frames looked at per walk */
#define PYTHON_NAME_MAX		1024	/* bytes kept of a qualified name */
#define PYTHON_FILE_MAX		4096	/* bytes kept of a file name */
#define PYTHON_LT_MAX		(16 << 20)	/* a sane line table size */
#define PYTHON_HDR_MAX		256	/* bytes of an object read at once */

/* The code-object cache: 32-byte entries, grown by doubling. */
struct python_code_ent {
	uint32_t	 seq;		/* odd while being written */
	uint32_t	 id;		/* code id, 0 when the table was full */
	uint64_t	 code;		/* the code object, 0 = empty */
	uint64_t	 check;		/* python_code_check() of its fields */
	uint64_t	 line;		/* last (id, offset, line), packed */
};

struct python_codes {
	struct python_code_ent	*ents;
	uint64_t		 mask;
	uint64_t		 used;
};

#define PYTHON_CODES_MIN	4096
#define PYTHON_CODES_MAX	(1 << 22)

static struct python_codes	*python_codes;	/* current table */
static uint32_t			 python_codes_lock;

/* File names already copied, to share one copy between code objects. */
#define PYTHON_FILES		512
static struct {
	uint64_t	 str;		/* address of the str object */
	uint32_t	 off;
	uint32_t	 len;
} python_files[PYTHON_FILES];

/* Work buffers for interning; used with python_codes_lock held. */
static char	python_name_buf[PYTHON_FILE_MAX];

/* A source of line-table or string bytes, in memory or remote. */
struct python_src {
	const uint8_t	*p;
	const uint8_t	*end;
	uintptr_t	 next;		/* remote: address of the rest */
	size_t		 left;		/* remote: bytes left */
	uint8_t		 buf[256];
};

/* Read len bytes at addr through the kernel; 0 when all were read. */
static int
python_read_safe(void *dst, uintptr_t addr, size_t len)
{
	struct iovec	local, remote;
	ssize_t		n;
	int		saved = errno;

	local.iov_base = dst;
	local.iov_len = len;
	remote.iov_base = (void *)addr;
	remote.iov_len = len;
	n = process_vm_readv(python_rt.pid, &local, 1, &remote, 1, 0);
	errno = saved;
	return (n == (ssize_t)len ? 0 : -1);
}

/*
 * A view of len bytes at addr: the memory itself, or a copy in buf (of at
 * least len bytes) read through the kernel.  NULL when addr is not a
 * plausible address (objects and frames are 8-byte aligned: align is 8 for
 * them, 1 for a field) or cannot be read.
 */
static const uint8_t *
python_view(const struct python_walk *w, uintptr_t addr, size_t len,
    void *buf, uintptr_t align)
{
	if (addr < 4096 || (addr & (align - 1)) != 0 || addr + len < addr)
		return (NULL);
	if (!w->safe)
		return ((const uint8_t *)addr);
	if (python_read_safe(buf, addr, len) != 0)
		return (NULL);
	return (buf);
}

/* A pointer field of a view, read without alignment assumptions. */
static inline uintptr_t
python_ptr(const uint8_t *v, size_t off)
{
	uintptr_t	x;

	memcpy(&x, v + off, sizeof x);
	return (x);
}

/* An int field of a view. */
static inline int32_t
python_i32(const uint8_t *v, size_t off)
{
	int32_t	x;

	memcpy(&x, v + off, sizeof x);
	return (x);
}

/* A Py_ssize_t field of a view. */
static inline int64_t
python_i64(const uint8_t *v, size_t off)
{
	int64_t	x;

	memcpy(&x, v + off, sizeof x);
	return (x);
}

/* Set up a source over len bytes at addr. */
static void
python_src_init(struct python_src *s, const struct python_walk *w,
    uintptr_t addr, size_t len)
{
	if (w == NULL || !w->safe) {
		s->p = (const uint8_t *)addr;
		s->end = s->p + len;
		s->left = 0;
	} else {
		s->p = s->end = s->buf;
		s->next = addr;
		s->left = len;
	}
}

/* Refill a remote source; the number of bytes now in hand. */
static size_t
python_src_fill(struct python_src *s)
{
	size_t	n;

	if (s->left == 0)
		return (0);
	n = s->left < sizeof s->buf ? s->left : sizeof s->buf;
	if (python_read_safe(s->buf, s->next, n) != 0) {
		s->left = 0;
		return (0);
	}
	s->next += n;
	s->left -= n;
	s->p = s->buf;
	s->end = s->buf + n;
	return (n);
}

/* The next byte, or -1 at the end. */
static inline int
python_src_byte(struct python_src *s)
{
	if (s->p == s->end && python_src_fill(s) == 0)
		return (-1);
	return (*s->p++);
}

/* The next byte without consuming it, or -1 at the end. */
static inline int
python_src_peek(struct python_src *s)
{
	if (s->p == s->end && python_src_fill(s) == 0)
		return (-1);
	return (*s->p);
}

/* An unsigned varint of the 3.11 location table (6-bit groups). */
static int64_t
python_varint(struct python_src *s)
{
	int	b, shift = 0;
	int64_t	v;

	if ((b = python_src_byte(s)) < 0)
		return (-1);
	v = b & 63;
	while (b & 64) {
		if ((b = python_src_byte(s)) < 0 || (shift += 6) > 30)
			return (-1);
		v |= (int64_t)(b & 63) << shift;
	}
	return (v);
}

/* A line as an int; -1 (none) when garbage took it out of range. */
static inline int
python_line_int(int64_t line)
{
	return (line > INT32_MIN && line <= INT32_MAX ? (int)line : -1);
}

/* 3.9: co_lnotab pairs (bytecode increment, signed line increment). */
static int
python_line_lnotab(struct python_src *s, int first, int64_t addrq)
{
	int64_t	addr = 0, line = first;
	int	a, l;

	for (;;) {
		if ((a = python_src_byte(s)) < 0 ||
		    (l = python_src_byte(s)) < 0)
			break;
		addr += a;
		if (addr > addrq)
			break;
		line += (int8_t)l;
	}
	return (python_line_int(line));
}

/*
 * 3.10: co_linetable pairs (range length in bytes, signed line delta, -128
 * for a range without a line).  Empty ranges still move the line.
 */
static int
python_line_310(struct python_src *s, int first, int64_t addrq)
{
	int64_t	end = 0, computed = first, line;
	int	sd, ld;

	for (;;) {
		if ((sd = python_src_byte(s)) < 0 ||
		    (ld = python_src_byte(s)) < 0)
			return (-1);
		end += sd;
		if ((int8_t)ld == -128)
			line = -1;
		else {
			computed += (int8_t)ld;
			line = computed;
		}
		if (sd != 0 && addrq < end)
			return (python_line_int(line));
	}
}

/*
 * 3.11+: the location table.  Each entry starts with a byte whose top bit
 * is set, holding a 4-bit code and the entry's length in code units minus
 * one; codes 13 and 14 carry a signed varint line delta, 10 to 12 move the
 * line by 0 to 2, 15 means no line, the others keep the line.
 */
static int
python_line_locations(struct python_src *s, int first, int64_t addrq)
{
	int64_t	end = 0, u, computed = first, line;
	int	b, code, c;

	for (;;) {
		if ((b = python_src_byte(s)) < 0)
			return (-1);
		code = (b >> 3) & 15;
		switch (code) {
		case 13:
		case 14:
			if ((u = python_varint(s)) < 0)
				return (-1);
			computed += (u & 1) ? -(u >> 1) : (u >> 1);
			break;
		case 11:
			computed += 1;
			break;
		case 12:
			computed += 2;
			break;
		}
		line = code == 15 ? -1 : computed;
		end += ((b & 7) + 1) * 2;
		while ((c = python_src_peek(s)) >= 0 && (c & 128) == 0)
			s->p++;
		if (addrq < end)
			return (python_line_int(line));
	}
}

/* Decode a line table from a source; -1 when the offset has no line. */
static int
python_line_src(uint32_t lt_kind, struct python_src *s, int first,
    int64_t addrq)
{
	if (addrq < 0)
		return (first);
	switch (lt_kind) {
	case PYTHON_LT_LNOTAB:
		return (python_line_lnotab(s, first, addrq));
	case PYTHON_LT_310:
		return (python_line_310(s, first, addrq));
	default:
		return (python_line_locations(s, first, addrq));
	}
}

/*
 * The line of byte offset addrq in a line table held in memory (used by
 * the walk and by the unit tests); -1 when the offset has no line.
 */
int
python_line(uint32_t lt_kind, const uint8_t *tab, size_t len,
    int firstlineno, int64_t addrq)
{
	struct python_src	s;

	python_src_init(&s, NULL, (uintptr_t)tab, len);
	return (python_line_src(lt_kind, &s, firstlineno, addrq));
}

/* Append one code point as UTF-8; the bytes written (0 when no room). */
static size_t
python_put_utf8(uint32_t c, char *out, size_t room)
{
	if (c >= 0xdc80 && c <= 0xdcff) {
		/* A byte that did not decode (surrogateescape): as it was. */
		if (room < 1)
			return (0);
		out[0] = (char)(c - 0xdc00);
		return (1);
	}
	if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		if (room < 1)
			return (0);
		out[0] = (char)c;
		return (1);
	}
	if (c < 0x800) {
		if (room < 2)
			return (0);
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return (2);
	}
	if (c < 0x10000) {
		if (room < 3)
			return (0);
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return (3);
	}
	if (room < 4)
		return (0);
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return (4);
}

/*
 * Encode nchars characters of kind 1 (Latin-1), 2 (UCS-2) or 4 (UCS-4) as
 * UTF-8 into out; stops at a character that does not fit.  Returns the
 * bytes written.
 */
size_t
python_utf8(uint32_t kind, const void *data, size_t nchars, char *out,
    size_t cap)
{
	const uint8_t	*p = data;
	size_t		 i, n = 0, k;
	uint32_t	 c;
	uint16_t	 c16;

	for (i = 0; i < nchars; i++) {
		switch (kind) {
		case 1:
			c = p[i];
			break;
		case 2:
			memcpy(&c16, p + 2 * i, 2);
			c = c16;
			break;
		default:
			memcpy(&c, p + 4 * i, 4);
			break;
		}
		if ((k = python_put_utf8(c, out + n, cap - n)) == 0)
			break;
		n += k;
	}
	return (n);
}

/*
 * Copy a str object as UTF-8 into out (at most cap bytes); returns the
 * length, or -1 when it is not a compact str.
 */
static int64_t
python_str(const struct python_walk *w, uintptr_t str, char *out, size_t cap)
{
	const struct python_layout	*lay = w->lay;
	uint8_t				 hb[PYTHON_HDR_MAX];
	uint8_t				 chunk[256];
	const uint8_t			*h, *d;
	uint32_t			 state, kind;
	uintptr_t			 data;
	int64_t				 len;
	size_t				 n = 0, i, take, k;

	/* Only the ASCII header is sure to be inside the object. */
	if ((h = python_view(w, str, lay->str_ascii, hb, 8)) == NULL ||
	    python_ptr(h, 8) != python_rt.unicode_type)
		return (-1);
	len = python_i64(h, 16);
	memcpy(&state, h + 32, sizeof state);
	kind = (state >> 2) & 7;
	if (len < 0 || !(state & 0x20))
		return (-1);	/* not compact */
	if (state & 0x40) {
		if (kind != 1)
			return (-1);
		data = str + lay->str_ascii;
	} else {
		if (kind != 1 && kind != 2 && kind != 4)
			return (-1);
		data = str + lay->str_compact;
	}
	if (len > (int64_t)cap)
		len = (int64_t)cap;
	if (!w->safe) {
		if ((state & 0x40) != 0) {
			memcpy(out, (const void *)data, (size_t)len);
			return (len);
		}
		return ((int64_t)python_utf8(kind, (const void *)data,
		    (size_t)len, out, cap));
	}
	/* Through the kernel, a chunk of whole characters at a time. */
	for (i = 0; i < (size_t)len; i += take) {
		take = sizeof chunk / kind;
		if (take > (size_t)len - i)
			take = (size_t)len - i;
		if (python_read_safe(chunk, data + i * kind, take * kind) != 0)
			return (-1);
		d = chunk;
		k = python_utf8(kind, d, take, out + n, cap - n);
		n += k;
		if (n == cap)
			break;
	}
	return ((int64_t)n);
}

/* A 64-bit mix of what identifies a code object besides its address. */
static uint64_t
python_code_check(uintptr_t file, uintptr_t name, uintptr_t lt, int32_t first)
{
	uint64_t	h = UINT64_C(0x9e3779b97f4a7c15);

	h = (h ^ file) * UINT64_C(0xff51afd7ed558ccd);
	h = (h ^ name) * UINT64_C(0xc4ceb9fe1a85ec53);
	h = (h ^ lt) * UINT64_C(0xff51afd7ed558ccd);
	h = (h ^ (uint32_t)first) * UINT64_C(0xc4ceb9fe1a85ec53);
	return (h ^ (h >> 29) ^ 1);	/* never 0 */
}

/* Where a code object's address starts probing. */
static inline uint64_t
python_code_hash(uintptr_t code)
{
	return (live_hash(code >> 4));
}

/*
 * Look a code object up without a lock: its entry when the table holds it
 * with the same check, else NULL.
 */
static struct python_code_ent *
python_code_find(uintptr_t code, uint64_t check)
{
	struct python_codes	*t;
	struct python_code_ent	*e;
	uint64_t		 i, n;
	uint32_t		 s1;

	t = __atomic_load_n(&python_codes, __ATOMIC_ACQUIRE);
	if (t == NULL)
		return (NULL);
	i = python_code_hash(code) & t->mask;
	for (n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		e = &t->ents[i];
		s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			return (NULL);
		if (__atomic_load_n(&e->code, __ATOMIC_RELAXED) == 0)
			return (NULL);
		if (__atomic_load_n(&e->code, __ATOMIC_RELAXED) != code)
			continue;
		if (__atomic_load_n(&e->check, __ATOMIC_RELAXED) != check)
			return (NULL);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s1)
			return (NULL);
		return (e);
	}
	return (NULL);
}

/* Write an entry (table lock held), with its sequence number odd meanwhile. */
static void
python_code_store(struct python_code_ent *e, uintptr_t code, uint64_t check,
    uint32_t id)
{
	uint32_t	s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&e->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&e->id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&e->check, check, __ATOMIC_RELAXED);
	__atomic_store_n(&e->line, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->code, code, __ATOMIC_RELAXED);
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

/* A new table of n entries; NULL when memory is short. */
static struct python_codes *
python_codes_new(uint64_t n)
{
	struct python_codes	*t;

	t = core_private_map_populated(sizeof *t +
	    n * sizeof(struct python_code_ent));
	if (t == NULL)
		return (NULL);
	t->ents = (struct python_code_ent *)(t + 1);
	t->mask = n - 1;
	t->used = 0;
	return (t);
}

/*
 * Make room for one more entry (lock held): double the table at half
 * load.  The old table stays mapped (a reader may still be in it) and is
 * never reused, so its entries only ever lead to a check and a miss.
 */
static struct python_codes *
python_codes_room(void)
{
	struct python_codes	*t = python_codes, *nt;
	struct python_code_ent	*e, *ne;
	uint64_t		 i, j;

	if (t != NULL && (t->used + 1) * 2 <= t->mask + 1)
		return (t);
	if (t != NULL && t->mask + 1 >= PYTHON_CODES_MAX)
		return ((t->used + 1) * 4 <= (t->mask + 1) * 3 ? t : NULL);
	if ((nt = python_codes_new(t == NULL ? PYTHON_CODES_MIN :
	    (t->mask + 1) * 2)) == NULL)
		return (t != NULL && (t->used + 1) * 4 <= (t->mask + 1) * 3 ?
		    t : NULL);
	for (i = 0; t != NULL && i <= t->mask; i++) {
		e = &t->ents[i];
		if (e->code == 0)
			continue;
		j = python_code_hash(e->code) & nt->mask;
		while (nt->ents[j].code != 0)
			j = (j + 1) & nt->mask;
		ne = &nt->ents[j];
		ne->id = e->id;
		ne->check = e->check;
		ne->code = e->code;
		nt->used++;
	}
	__atomic_store_n(&python_codes, nt, __ATOMIC_RELEASE);
	return (nt);
}

/*
 * Copy a file name into the strings section, sharing the copy of a str
 * object seen before when its text is the same (lock held).  Returns 0,
 * or -1 when there is no room.
 */
static int
python_intern_file(const struct python_walk *w, uintptr_t str, uint32_t *off,
    uint32_t *len)
{
	char		*buf = python_name_buf;
	int64_t		 n, o;
	uint32_t	 slot;

	slot = (uint32_t)(python_code_hash(str) % PYTHON_FILES);
	if ((n = python_str(w, str, buf, PYTHON_FILE_MAX)) < 0)
		n = 0;
	if (python_files[slot].str == str && python_files[slot].len == n &&
	    memcmp(core_shm.strings + python_files[slot].off, buf,
	    (size_t)n) == 0) {
		*off = python_files[slot].off;
		*len = python_files[slot].len;
		return (0);
	}
	if ((o = shm_strings_alloc((size_t)n)) < 0)
		return (-1);
	memcpy(core_shm.strings + o, buf, (size_t)n);
	python_files[slot].str = str;
	python_files[slot].off = (uint32_t)o;
	python_files[slot].len = (uint32_t)n;
	*off = (uint32_t)o;
	*len = (uint32_t)n;
	return (0);
}

/*
 * Give a code object an id in MEMTOP_SEC_CODES (lock held).  Returns the
 * id, or 0 when the code or strings section is full.
 */
static uint32_t
python_intern_code(const struct python_walk *w, uintptr_t file,
    uintptr_t name, int32_t first)
{
	struct memtop_global	*glob = core_shm.glob;
	struct memtop_code	*c;
	uint32_t		 id, foff, flen;
	int64_t			 n, noff;

	id = __atomic_load_n(&glob->code_count, __ATOMIC_RELAXED) + 1;
	if (id >= core_shm.codes_cap || id >= MEMTOP_CODE_SPECIAL)
		goto full;
	if (python_intern_file(w, file, &foff, &flen) != 0)
		goto full;
	if ((n = python_str(w, name, python_name_buf, PYTHON_NAME_MAX)) < 0)
		n = 0;
	if ((noff = shm_strings_alloc((size_t)n)) < 0)
		goto full;
	memcpy(core_shm.strings + noff, python_name_buf, (size_t)n);

	core_ahead(CORE_AHEAD_CODES, core_shm.codes,
	    ((uint64_t)id + 1) * sizeof *c, core_shm.codes_cap * sizeof *c);
	c = &core_shm.codes[id];
	c->file_off = foff;
	c->file_len = flen;
	c->name_off = (uint32_t)noff;
	c->name_len = (uint32_t)n;
	c->firstlineno = first;
	__atomic_store_n(&glob->code_count, id, __ATOMIC_RELEASE);
	__atomic_store_n(&c->flags, MEMTOP_CODE_READY, __ATOMIC_RELEASE);
	return (id);

full:
	__atomic_add_fetch(&glob->code_table_full, 1, __ATOMIC_RELAXED);
	return (0);
}

/*
 * The cache entry of a code object, interning it first when needed.  NULL
 * only when there is no memory for the table; then *id is still set.
 */
static struct python_code_ent *
python_code_get(const struct python_walk *w, uintptr_t code, uintptr_t file,
    uintptr_t name, uintptr_t lt, int32_t first, uint32_t *id)
{
	struct python_codes	*t;
	struct python_code_ent	*e;
	uint64_t		 check, i;

	check = python_code_check(file, name, lt, first);
	if ((e = python_code_find(code, check)) != NULL) {
		*id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
		return (e);
	}

	core_lock(&python_codes_lock);
	if ((t = python_codes_room()) == NULL) {
		core_unlock(&python_codes_lock);
		*id = 0;
		return (NULL);
	}
	i = python_code_hash(code) & t->mask;
	for (;;) {
		e = &t->ents[i];
		if (e->code == 0 || e->code == code)
			break;
		i = (i + 1) & t->mask;
	}
	if (e->code == code && e->check == check) {
		*id = e->id;	/* another thread was first */
		core_unlock(&python_codes_lock);
		return (e);
	}
	if (e->code == 0)
		t->used++;
	*id = python_intern_code(w, file, name, first);
	python_code_store(e, code, check, *id);
	core_unlock(&python_codes_lock);
	return (e);
}

/* The line of byte offset addrq in a code object, with a one-entry cache. */
static int
python_code_line(const struct python_walk *w, struct python_code_ent *e,
    uint32_t id, uintptr_t lt, int first, int64_t addrq)
{
	uint8_t			 hb[64];
	const uint8_t		*h;
	struct python_src	 s;
	uint64_t		 key = 0, v;
	int64_t			 len;
	int			 line;

	if (addrq < 0)
		return (first);
	/* Packed: id (31 bits), offset (17), line (16). */
	if (e != NULL && id != 0 && addrq < (1 << 17)) {
		key = ((uint64_t)id << 33) | ((uint64_t)addrq << 16);
		v = __atomic_load_n(&e->line, __ATOMIC_RELAXED);
		if ((v & ~(uint64_t)0xffff) == key)
			return ((int)(v & 0xffff) - 1);
	}
	if ((h = python_view(w, lt, 32, hb, 8)) == NULL ||
	    python_ptr(h, 8) != python_rt.bytes_type)
		return (0);
	len = python_i64(h, 16);
	if (len < 0 || len > PYTHON_LT_MAX)
		return (0);
	python_src_init(&s, w, lt + 32, (size_t)len);
	line = python_line_src(w->lay->lt_kind, &s, first, addrq);
	if (key != 0 && line >= -1 && line < 0xffff)
		__atomic_store_n(&e->line, key | (uint64_t)(line + 1),
		    __ATOMIC_RELAXED);
	return (line);
}

/*
 * Turn the frame in view fv (owned as owner) into a memtop frame.  Returns
 * 0 when it is not a frame to show (not a code object, or not started).
 */
static int
python_frame(const struct python_walk *w, const uint8_t *fv, int owner,
    uint64_t *out)
{
	const struct python_layout	*lay = w->lay;
	struct python_code_ent		*e;
	uint8_t				 cb[PYTHON_HDR_MAX];
	const uint8_t			*cv;
	uintptr_t			 code, file, name, lt, adaptive, ip;
	int64_t				 addrq, lasti, units;
	int32_t				 first;
	uint32_t			 id;
	int				 line;

	code = python_ptr(fv, lay->f_code);
	if ((cv = python_view(w, code, lay->co_size, cb, 8)) == NULL ||
	    python_ptr(cv, 8) != python_rt.code_type)
		return (0);
	first = python_i32(cv, lay->co_firstlineno);
	file = python_ptr(cv, lay->co_filename);
	name = python_ptr(cv, lay->co_name);
	lt = python_ptr(cv, lay->co_linetable);

	switch (lay->pos_kind) {
	case PYTHON_POS_BYTES:
		lasti = python_i32(fv, lay->f_pos);
		addrq = lasti < 0 ? -1 : lasti;
		break;
	case PYTHON_POS_UNITS:
		lasti = python_i32(fv, lay->f_pos);
		addrq = lasti < 0 ? -1 : lasti * 2;
		break;
	default:
		adaptive = code + (uint32_t)lay->co_adaptive;
		ip = python_ptr(fv, lay->f_pos);
		units = python_i64(cv, 16);	/* ob_size: code units */
		/* Not started yet (CPython's _PyFrame_IsIncomplete). */
		if (owner != PYTHON_OWNER_GENERATOR && ip < adaptive + 2 *
		    (uintptr_t)(uint32_t)python_i32(cv, lay->co_firsttraceable))
			return (0);
		if (ip < adaptive || units < 0 ||
		    (int64_t)(ip - adaptive) >= 2 * units)
			addrq = -1;
		else
			addrq = (int64_t)(ip - adaptive);
		break;
	}

	e = python_code_get(w, code, file, name, lt, first, &id);
	line = python_code_line(w, e, id, lt, first, addrq);
	*out = MEMTOP_FRAME_MAKE_PY(id, line < 0 ? 0 : (uint32_t)line);
	return (1);
}

/*
 * Start a walk of the calling thread's Python frames.  Returns 0 when the
 * thread runs no Python (no thread state, no frame, or the interpreter is
 * shutting down).
 */
int
python_walk_begin(struct python_walk *w)
{
	const struct python_layout	*lay = python_rt.lay;
	uint8_t				 b[16];
	const uint8_t			*v;
	uintptr_t			 ts, cf;

	if (python_rt.finalized)
		return (0);
	if (python_rt.finalizing()) {
		/* From now on thread states may be freed under us. */
		python_rt.finalized = 1;
		return (0);
	}
	if ((ts = (uintptr_t)python_rt.this_tstate()) == 0)
		return (0);
	w->lay = lay;
	w->steps = 0;
	w->safe = python_rt.gil_check != NULL && !python_rt.gil_check();
	if ((v = python_view(w, ts + lay->ts_head, 8, b, 8)) == NULL)
		return (0);
	w->frame = python_ptr(v, 0);
	if (lay->cf_current >= 0 && w->frame != 0) {
		cf = w->frame;
		if ((v = python_view(w, cf + (uint32_t)lay->cf_current, 8,
		    b, 8)) == NULL)
			return (0);
		w->frame = python_ptr(v, 0);
	}
	return (w->frame != 0);
}

/*
 * The next Python frame, innermost first.  Returns PYTHON_WALK_FRAME with
 * *frame set, PYTHON_WALK_EMPTY when an entry frame was skipped (the eval
 * call it belongs to shows no frame), or PYTHON_WALK_END.  *entry is set
 * when the frame is the first one run by its call of the eval loop.
 */
int
python_walk_next(struct python_walk *w, uint64_t *frame, int *entry)
{
	const struct python_layout	*lay = w->lay;
	uint8_t				 fb[PYTHON_HDR_MAX], pb[8];
	const uint8_t			*fv, *pv;
	uintptr_t			 cur, prev;
	int				 owner = 0;

	for (;;) {
		if ((cur = w->frame) == 0 || ++w->steps > PYTHON_MAX_STEPS)
			return (PYTHON_WALK_END);
		if ((fv = python_view(w, cur, lay->f_size, fb, 8)) == NULL) {
			w->frame = 0;
			return (PYTHON_WALK_END);
		}
		prev = python_ptr(fv, lay->f_back);
		w->frame = prev;
		if (lay->f_owner >= 0)
			owner = fv[lay->f_owner];

		*entry = 0;
		switch (lay->entry_kind) {
		case PYTHON_ENTRY_ALL:
			if (python_ptr(fv, 8) != python_rt.frame_type) {
				w->frame = 0;
				return (PYTHON_WALK_END);
			}
			*entry = 1;
			break;
		case PYTHON_ENTRY_FLAG:
			*entry = fv[lay->f_is_entry] != 0;
			break;
		default:
			if (owner == PYTHON_OWNER_CSTACK)
				continue;	/* a shim: its caller is done */
			/* The first frame above a shim is an entry. */
			if (prev == 0)
				*entry = 1;
			else if ((pv = python_view(w, prev + (uint32_t)
			    lay->f_owner, 1, pb, 1)) != NULL &&
			    pv[0] == PYTHON_OWNER_CSTACK)
				*entry = 1;
			break;
		}
		if (python_frame(w, fv, owner, frame))
			return (PYTHON_WALK_FRAME);
		if (*entry)
			return (PYTHON_WALK_EMPTY);
	}
}

/* Set up the code cache; 0 on success. */
int
python_walk_init(void)
{
	struct python_codes	*t;

	if (python_codes != NULL)
		return (0);
	core_lock(&python_codes_lock);
	t = python_codes_room();
	core_unlock(&python_codes_lock);
	return (t == NULL ? -1 : 0);
}

/* In a forked child: the lock may have been held by a thread now gone. */
void
python_walk_fork_child(void)
{
	python_codes_lock = 0;
}
