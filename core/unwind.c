/*
 * unwind.c: the return addresses of the current thread's stack, from
 * cached call-frame rules, with libunwind as the fallback.
 *
 * On x86-64 a frame is undone by three numbers taken from its function's
 * DWARF call-frame information (.eh_frame) at the return address: where
 * the canonical frame address is (the stack pointer or the frame pointer
 * plus an offset), that the return address lies just below it, and where
 * the caller's frame pointer was saved, if it was.  Those rules depend on
 * the return address alone, so each thread keeps them in a small
 * two-way cache keyed by the address; a sample's unwind is then one
 * cache probe and two loads from the stack a frame.  A miss finds the FDE
 * through the object's .eh_frame_hdr and runs its CFA program up to the
 * address.
 *
 * Anything out of the ordinary sends the whole unwind to libunwind's
 * unw_backtrace, which then gives what it gave before: an address without
 * call-frame information, a signal frame, a rule in a DWARF expression or
 * in another register, a stack pointer outside the thread's stack (a
 * signal stack, a coroutine), a 64-bit or unusual encoding.  Every load
 * from the stack is checked against the thread's stack bounds first: a
 * wrong rule can only give wrong frames, never a fault.
 *
 * The cache is cleared after a dlclose (hooks.c calls unwind_forget), so
 * a rule does not outlive its code; objects unloaded inside the C library
 * without dlclose are not seen, and can only cost wrong frames.
 */

#include "config.h"

#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#if defined(__x86_64__)

#define UNWIND_CACHE_BITS	11
#define UNWIND_CACHE_SLOTS	(1 << UNWIND_CACHE_BITS)

/* DWARF register numbers on x86-64. */
#define UNWIND_RBP	6
#define UNWIND_RSP	7
#define UNWIND_RA	16

/*
 * A cached rule, packed in 64 bits: flags in the low byte, where rbp was
 * saved (from the CFA) in bits 16-31, the CFA's offset in bits 32-63.
 */
#define UNWIND_R_VALID		1u
#define UNWIND_R_END		2u	/* outermost frame */
#define UNWIND_R_BASE_RBP	4u	/* CFA = rbp + off, else rsp + off */
#define UNWIND_R_RBP_SAVED	8u

struct unwind_slot {
	uint64_t	ip;
	uint64_t	rule;
};

#define UNWIND_LAST_FRAMES	32
#define UNWIND_LAST_READS	64

struct unwind_cache {
	uint64_t		stack_hi;	/* the thread's stack top */
	uint64_t		stack_lo;	/* and bottom */
	uint32_t		gen;		/* unwind_gen when filled */
	uint32_t		pad;
	struct unwind_slot	slot[UNWIND_CACHE_SLOTS];

	/* The last walk, to repeat without the rules (unwind_walk). */
	uint64_t		last_ip, last_sp, last_bp;
	int32_t			last_max;	/* 0: none kept */
	uint32_t		last_n;		/* addresses */
	uint32_t		last_reads;	/* stack words read */
	uint32_t		last_bp_used;	/* the walk used bp as given */
	uint64_t		last_addr[UNWIND_LAST_READS];
	uint64_t		last_val[UNWIND_LAST_READS];
	uint64_t		last_ips[UNWIND_LAST_FRAMES];
};

/* Moved by every dlclose: the caches' rules may be stale. */
static uint32_t		unwind_gen;

#define UNWIND_CHECK_MAX	256

/* MEMTOP_UNWIND: walk (default), libunwind (only), check (both). */
#define UNWIND_MODE_WALK	0
#define UNWIND_MODE_LIBUNWIND	1
#define UNWIND_MODE_CHECK	2
static int		unwind_mode;
/* In check mode: unwinds that agreed, left to libunwind, differed. */
static uint64_t		unwind_counts[3];

static inline uint64_t
unwind_pack(int base_rbp, int32_t cfa_off, int rbp_saved, int16_t rbp_off)
{
	return (UNWIND_R_VALID | (base_rbp ? UNWIND_R_BASE_RBP : 0) |
	    (rbp_saved ? UNWIND_R_RBP_SAVED : 0) |
	    ((uint64_t)(uint16_t)rbp_off << 16) |
	    ((uint64_t)(uint32_t)cfa_off << 32));
}

/* A byte cursor over mapped call-frame information. */
struct unwind_rd {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 bad;
};

/* A LEB128 number, sign-extended when is_signed; 0 and bad when cut. */
static uint64_t
unwind_leb(struct unwind_rd *r, int is_signed)
{
	uint64_t	v = 0;
	unsigned	shift = 0;
	uint8_t		b;

	do {
		if (r->p >= r->end || shift > 63) {
			r->bad = 1;
			return (0);
		}
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (is_signed && shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (v);
}

#define unwind_uleb(r)	unwind_leb((r), 0)
#define unwind_sleb(r)	((int64_t)unwind_leb((r), 1))

static uint64_t
unwind_u(struct unwind_rd *r, size_t n)
{
	uint64_t	v = 0;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return (0);
	}
	memcpy(&v, r->p, n);	/* little-endian */
	r->p += n;
	return (v);
}

/*
 * A pointer in one of the encodings GCC and clang emit (absolute 8 bytes,
 * 4 bytes signed or unsigned, either of them pc-relative); anything else
 * marks the cursor bad.
 */
static uint64_t
unwind_ptr(struct unwind_rd *r, uint8_t enc)
{
	uint64_t	pc = (uint64_t)(uintptr_t)r->p, v;

	switch (enc & 0x0f) {
	case 0x00:	/* absptr */
		v = unwind_u(r, 8);
		break;
	case 0x03:	/* udata4 */
		v = unwind_u(r, 4);
		break;
	case 0x0b:	/* sdata4 */
		v = (uint64_t)(int64_t)(int32_t)unwind_u(r, 4);
		break;
	default:
		r->bad = 1;
		return (0);
	}
	switch (enc & 0x70) {
	case 0x00:
		return (v);
	case 0x10:	/* pcrel */
		return (pc + v);
	default:
		r->bad = 1;
		return (0);
	}
}

/* What the search for the object holding an address found. */
struct unwind_find {
	uint64_t	 ip;
	const uint8_t	*hdr;	/* its .eh_frame_hdr, or NULL */
	uint64_t	 hdr_len;
};

static int
unwind_find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct unwind_find	*f = arg;
	const ElfW(Phdr)	*ph, *eh = NULL;
	uint64_t		 start;
	int			 i, in = 0;

	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		start = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->ip >= start &&
		    f->ip < start + ph->p_memsz)
			in = 1;
		else if (ph->p_type == PT_GNU_EH_FRAME)
			eh = ph;
	}
	if (!in)
		return (0);
	if (eh != NULL) {
		f->hdr = (const uint8_t *)(uintptr_t)(info->dlpi_addr +
		    eh->p_vaddr);
		f->hdr_len = eh->p_memsz;
	}
	return (1);
}

/* The CFA program's state: the rules memtop follows. */
struct unwind_row {
	int	cfa_reg;
	int64_t	cfa_off;
	int	rbp_how;	/* 0 unchanged, 1 saved at CFA + rbp_off */
	int64_t	rbp_off;
	int	ra_how;		/* 0 at CFA + ra_off, 1 undefined */
	int64_t	ra_off;
	int	fail;
};

#define UNWIND_STATES	8

/* Set how register reg is saved; registers memtop ignores are left. */
static void
unwind_set(struct unwind_row *row, uint64_t reg, int how, int64_t off)
{
	if (reg == UNWIND_RBP) {
		row->rbp_how = how;
		row->rbp_off = off;
	} else if (reg == UNWIND_RA) {
		if (how == 1)
			row->ra_how = 0, row->ra_off = off;
		else if (how == 2)
			row->ra_how = 1;	/* undefined: the last frame */
		else
			row->fail = 1;
	}
}

/*
 * Run a CFA program until the row holding target.  init is the CIE's row
 * (what DW_CFA_restore goes back to), NULL while running the CIE's own.
 */
static void
unwind_run(struct unwind_rd *r, struct unwind_row *row,
    const struct unwind_row *init, uint64_t loc, uint64_t target,
    uint64_t code_align, int64_t data_align)
{
	struct unwind_row	stack[UNWIND_STATES];
	int			depth = 0;
	uint64_t		reg, delta;
	uint8_t			op;

	while (r->p < r->end && !r->bad && !row->fail) {
		op = *r->p++;
		delta = 0;
		switch (op & 0xc0) {
		case 0x40:
			delta = (uint64_t)(op & 0x3f) * code_align;
			goto advance;
		case 0x80:
			unwind_set(row, op & 0x3f, 1,
			    (int64_t)unwind_uleb(r) * data_align);
			continue;
		case 0xc0:
			reg = op & 0x3f;
			goto restore;
		}
		switch (op) {
		case 0x00:	/* nop */
			break;
		case 0x02:
			delta = unwind_u(r, 1) * code_align;
			goto advance;
		case 0x03:
			delta = unwind_u(r, 2) * code_align;
			goto advance;
		case 0x04:
			delta = unwind_u(r, 4) * code_align;
			goto advance;
		case 0x05:	/* offset_extended */
			reg = unwind_uleb(r);
			unwind_set(row, reg, 1,
			    (int64_t)unwind_uleb(r) * data_align);
			break;
		case 0x06:	/* restore_extended */
			reg = unwind_uleb(r);
			goto restore;
		case 0x07:	/* undefined */
			unwind_set(row, unwind_uleb(r), 2, 0);
			break;
		case 0x08:	/* same_value */
			reg = unwind_uleb(r);
			if (reg == UNWIND_RBP)
				row->rbp_how = 0;
			else if (reg == UNWIND_RA)
				row->fail = 1;
			break;
		case 0x09:	/* register */
			reg = unwind_uleb(r);
			(void)unwind_uleb(r);
			if (reg == UNWIND_RBP || reg == UNWIND_RA)
				row->fail = 1;
			break;
		case 0x0a:	/* remember_state */
			if (depth == UNWIND_STATES)
				row->fail = 1;
			else
				stack[depth++] = *row;
			break;
		case 0x0b:	/* restore_state */
			if (depth == 0)
				row->fail = 1;
			else
				*row = stack[--depth];
			break;
		case 0x0c:	/* def_cfa */
			row->cfa_reg = (int)unwind_uleb(r);
			row->cfa_off = (int64_t)unwind_uleb(r);
			break;
		case 0x0d:	/* def_cfa_register */
			row->cfa_reg = (int)unwind_uleb(r);
			break;
		case 0x0e:	/* def_cfa_offset */
			row->cfa_off = (int64_t)unwind_uleb(r);
			break;
		case 0x11:	/* offset_extended_sf */
			reg = unwind_uleb(r);
			unwind_set(row, reg, 1, unwind_sleb(r) * data_align);
			break;
		case 0x12:	/* def_cfa_sf */
			row->cfa_reg = (int)unwind_uleb(r);
			row->cfa_off = unwind_sleb(r) * data_align;
			break;
		case 0x13:	/* def_cfa_offset_sf */
			row->cfa_off = unwind_sleb(r) * data_align;
			break;
		case 0x14:	/* val_offset */
		case 0x15:	/* val_offset_sf */
			reg = unwind_uleb(r);
			if (op == 0x14)
				(void)unwind_uleb(r);
			else
				(void)unwind_sleb(r);
			if (reg == UNWIND_RBP || reg == UNWIND_RA)
				row->fail = 1;
			break;
		case 0x10:	/* expression */
		case 0x16:	/* val_expression */
			reg = unwind_uleb(r);
			delta = unwind_uleb(r);
			if (reg == UNWIND_RBP || reg == UNWIND_RA ||
			    delta > (uint64_t)(r->end - r->p))
				row->fail = 1;
			else
				r->p += delta;
			break;
		case 0x2e:	/* GNU_args_size */
			(void)unwind_uleb(r);
			break;
		case 0x2f:	/* GNU_negative_offset_extended */
			reg = unwind_uleb(r);
			unwind_set(row, reg, 1,
			    -(int64_t)unwind_uleb(r) * data_align);
			break;
		default:	/* set_loc, def_cfa_expression, others */
			row->fail = 1;
			break;
		}
		continue;
advance:
		if (init != NULL && loc + delta > target)
			return;
		loc += delta;
		continue;
restore:
		if (init == NULL)
			row->fail = 1;
		else if (reg == UNWIND_RBP) {
			row->rbp_how = init->rbp_how;
			row->rbp_off = init->rbp_off;
		} else if (reg == UNWIND_RA) {
			row->ra_how = init->ra_how;
			row->ra_off = init->ra_off;
		}
	}
	if (r->bad)
		row->fail = 1;
}

/*
 * The rule for the return address ip (its call is at ip - 1), from the
 * call-frame information; 0 when memtop cannot follow it.  Called with the
 * engine mark held: dl_iterate_phdr may allocate.
 */
static __attribute__((noinline)) uint64_t
unwind_rule(uint64_t ip)
{
	struct unwind_find	 f;
	struct unwind_rd	 r, c;
	struct unwind_row	 row, init;
	const uint8_t		*hdr, *table, *fde, *cie, *aug;
	uint64_t		 target = ip - 1, count, lo, hi, mid, len;
	uint64_t		 pc_begin, pc_range, code_align, auglen;
	int64_t			 data_align, start;
	uint32_t		 cie_off;
	uint8_t			 fde_enc = 0;
	int			 signal_frame = 0;

	memset(&f, 0, sizeof f);
	f.ip = target;
	if (dl_iterate_phdr(unwind_find_cb, &f) == 0 || f.hdr == NULL ||
	    f.hdr_len < 12)
		return (0);
	hdr = f.hdr;
	/* version 1; eh_frame_ptr any; count udata4; table datarel sdata4 */
	if (hdr[0] != 1 || hdr[2] != 0x03 || hdr[3] != 0x3b)
		return (0);
	r.p = hdr + 4;
	r.end = hdr + f.hdr_len;
	r.bad = 0;
	(void)unwind_ptr(&r, hdr[1]);
	count = unwind_u(&r, 4);
	if (r.bad || count == 0 || count > (uint64_t)(r.end - r.p) / 8)
		return (0);
	table = r.p;

	/* The last entry whose start is at or below target. */
	lo = 0;
	hi = count;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		memcpy(&start, table + mid * 8, 4);
		start = (int32_t)start;
		if ((uint64_t)((int64_t)(uintptr_t)hdr + start) <= target)
			lo = mid;
		else
			hi = mid;
	}
	{
		int32_t	s, o;

		memcpy(&s, table + lo * 8, 4);
		memcpy(&o, table + lo * 8 + 4, 4);
		if ((uint64_t)(uintptr_t)hdr + (uint64_t)(int64_t)s > target)
			return (0);
		fde = hdr + o;
	}

	/* The FDE: length, CIE pointer, then its fields. */
	memcpy(&cie_off, fde, 4);
	len = cie_off;
	if (len == 0 || len == 0xffffffffu)
		return (0);
	memcpy(&cie_off, fde + 4, 4);
	if (cie_off == 0)
		return (0);	/* a CIE, not an FDE */
	cie = fde + 4 - cie_off;

	/* The CIE. */
	memcpy(&cie_off, cie, 4);
	if (cie_off == 0 || cie_off == 0xffffffffu)
		return (0);
	c.p = cie + 4;
	c.end = cie + 4 + cie_off;
	c.bad = 0;
	if (unwind_u(&c, 4) != 0)
		return (0);	/* CIE id */
	{
		uint64_t	version = unwind_u(&c, 1);

		if (version != 1 && version != 3)
			return (0);
	}
	aug = c.p;
	while (c.p < c.end && *c.p != '\0')
		c.p++;
	if (c.p >= c.end)
		return (0);
	c.p++;
	code_align = unwind_uleb(&c);
	data_align = unwind_sleb(&c);
	if (aug[-1] == 1)
		(void)unwind_u(&c, 1);	/* return column, version 1 */
	else
		(void)unwind_uleb(&c);
	if (aug[0] == 'z') {
		auglen = unwind_uleb(&c);
		{
			const uint8_t	*a, *aend = c.p + auglen;

			if (auglen > (uint64_t)(c.end - c.p))
				return (0);
			for (a = aug + 1; *a != '\0' && !c.bad; a++) {
				switch (*a) {
				case 'R':
					fde_enc = (uint8_t)unwind_u(&c, 1);
					break;
				case 'P': {
					uint8_t	pe = (uint8_t)unwind_u(&c, 1);

					/* Skip the personality pointer. */
					switch (pe & 0x0f) {
					case 0x00:
						(void)unwind_u(&c, 8);
						break;
					case 0x03:
					case 0x0b:
						(void)unwind_u(&c, 4);
						break;
					default:
						return (0);
					}
					break;
				}
				case 'L':
					(void)unwind_u(&c, 1);
					break;
				case 'S':
					signal_frame = 1;
					break;
				default:
					return (0);
				}
			}
			c.p = aend;
		}
	} else if (aug[0] != '\0')
		return (0);
	if (c.bad || signal_frame)
		return (0);

	memset(&init, 0, sizeof init);
	init.cfa_reg = -1;
	init.ra_how = 0;
	init.ra_off = 0;
	unwind_run(&c, &init, NULL, 0, 0, code_align, data_align);
	if (init.fail)
		return (0);

	r.p = fde + 8;
	r.end = fde + 4 + len;
	r.bad = 0;
	pc_begin = unwind_ptr(&r, fde_enc);
	pc_range = unwind_ptr(&r, fde_enc & 0x0f);
	if (r.bad || target < pc_begin || target >= pc_begin + pc_range)
		return (0);
	if (aug[0] == 'z') {
		auglen = unwind_uleb(&r);
		if (r.bad || auglen > (uint64_t)(r.end - r.p))
			return (0);
		r.p += auglen;
	}
	row = init;
	unwind_run(&r, &row, &init, pc_begin, target, code_align, data_align);
	if (row.fail || (row.cfa_reg != UNWIND_RSP &&
	    row.cfa_reg != UNWIND_RBP) || row.cfa_off < INT32_MIN ||
	    row.cfa_off > INT32_MAX || row.rbp_off < INT16_MIN ||
	    row.rbp_off > INT16_MAX)
		return (0);
	if (row.ra_how == 1)
		return (UNWIND_R_VALID | UNWIND_R_END);
	if (row.ra_off != -8)
		return (0);
	return (unwind_pack(row.cfa_reg == UNWIND_RBP, (int32_t)row.cfa_off,
	    row.rbp_how == 1, (int16_t)row.rbp_off));
}

/* Make the thread's cache, or clear it; NULL if it cannot be made. */
static __attribute__((noinline)) struct unwind_cache *
unwind_cache_slow(struct core_thread *t, uint32_t gen)
{
	struct unwind_cache	*uc = t->unwind;
	pthread_attr_t		 attr;
	void			*addr;
	size_t			 size;

	if (uc != NULL) {
		memset(uc->slot, 0, sizeof uc->slot);
		uc->last_max = 0;
		uc->gen = gen;
		return (uc);
	}
	if (t->unwind_failed)
		return (NULL);
	t->unwind_failed = 1;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return (NULL);
	if (pthread_attr_getstack(&attr, &addr, &size) != 0) {
		pthread_attr_destroy(&attr);
		return (NULL);
	}
	pthread_attr_destroy(&attr);
	if ((uc = core_private_map_populated(sizeof *uc)) == NULL)
		return (NULL);
	uc->stack_lo = (uint64_t)(uintptr_t)addr;
	uc->stack_hi = (uint64_t)(uintptr_t)addr + size;
	uc->gen = gen;
	t->unwind = uc;
	t->unwind_failed = 0;
	return (uc);
}

/* The thread's cache, current; NULL if it cannot be made. */
static inline struct unwind_cache *
unwind_cache(struct core_thread *t)
{
	struct unwind_cache	*uc = t->unwind;
	uint32_t		 gen = __atomic_load_n(&unwind_gen,
				    __ATOMIC_ACQUIRE);

	if (__builtin_expect(uc != NULL && uc->gen == gen, 1))
		return (uc);
	return (unwind_cache_slow(t, gen));
}

/* An object was unloaded: every thread clears its cache before using it. */
void
unwind_forget(void)
{
	__atomic_add_fetch(&unwind_gen, 1, __ATOMIC_RELEASE);
}

/*
 * Give the thread's cache back (the thread is exiting).  What it still
 * allocates afterwards (later key destructors) is unwound by libunwind:
 * a cache made now would never be given back.
 */
void
unwind_thread_release(struct core_thread *t)
{
	if (t->unwind != NULL)
		core_private_unmap(t->unwind, sizeof *t->unwind);
	t->unwind = NULL;
	t->unwind_failed = 1;
}

/* Keep a word the walk read, for the next walk's check; 0 when full. */
static inline int
unwind_note(struct unwind_cache *uc, uint32_t *reads, uint64_t a, uint64_t v)
{
	if (*reads == UNWIND_LAST_READS)
		return (0);
	uc->last_addr[*reads] = a;
	uc->last_val[(*reads)++] = v;
	return (1);
}

/*
 * Walk from the frame of unwind_backtrace's caller: ip is the return
 * address into it, sp and bp its stack and frame pointers there.
 * Returns the number of addresses, or -1 to leave it to libunwind.
 *
 * A walk depends only on where it starts (ip, sp, and bp if a frame's
 * CFA was taken from it before a saved one was read), on the rules and on
 * the stack words it reads (a saved bp only if a CFA was taken from it).  So the last walk is kept with the words
 * it read: one that starts from the same place, while each of those words
 * still holds what it held, gives the same addresses, and is only checked
 * (an allocation made again and again from one place: the words lie
 * between the same stack pointer and the stack's top, still mapped).
 */
static int
unwind_walk(void **buf, int max, uint64_t ip, uint64_t sp, uint64_t bp)
{
	struct core_thread	*t = &core_tls;
	struct unwind_cache	*uc;
	struct unwind_slot	*s;
	uint64_t		 rule, cfa, lo = sp, hi, a, bp_at = 0;
	uint32_t		 k, reads = 0, bp_given = 1, bp_used = 0;
	int			 n = 0, keep = 1;

	if (max <= 0 || (uc = unwind_cache(t)) == NULL)
		return (-1);
	if (uc->last_max == max && ip == uc->last_ip && sp == uc->last_sp &&
	    (bp == uc->last_bp || !uc->last_bp_used)) {
		for (k = 0; k < uc->last_reads; k++) {
			if (*(const uint64_t *)(uintptr_t)uc->last_addr[k] !=
			    uc->last_val[k])
				break;
		}
		if (k == uc->last_reads) {
			memcpy(buf, uc->last_ips, uc->last_n * sizeof *buf);
			t->unwind_repeat = 1;
			return ((int)uc->last_n);
		}
	}
	uc->last_max = 0;
	hi = uc->stack_hi;
	if (sp < uc->stack_lo || sp >= hi)
		return (-1);	/* another stack: a signal stack, a fiber */
	uc->last_ip = ip;
	uc->last_sp = sp;
	uc->last_bp = bp;
	for (;;) {
		buf[n++] = (void *)(uintptr_t)ip;
		if (n == max)
			break;
		/* Two ways a set, the newest first. */
		s = &uc->slot[((ip * UINT64_C(0x9e3779b97f4a7c15)) >>
		    (64 - UNWIND_CACHE_BITS)) & ~(uint64_t)1];
		if (s[0].ip == ip)
			rule = s[0].rule;
		else if (s[1].ip == ip)
			rule = s[1].rule;
		else {
			if ((rule = unwind_rule(ip)) == 0)
				return (-1);
			s[1] = s[0];
			s[0].ip = ip;
			s[0].rule = rule;
		}
		if (rule & UNWIND_R_END)
			break;
		if (rule & UNWIND_R_BASE_RBP) {
			cfa = bp;
			bp_used |= bp_given;
			/* A saved bp matters once a CFA is taken from it. */
			if (bp_at != 0) {
				keep = keep && unwind_note(uc, &reads, bp_at,
				    bp);
				bp_at = 0;
			}
		} else
			cfa = sp;
		cfa += (uint64_t)((int64_t)rule >> 32);
		/* The return address at cfa - 8, inside the stack. */
		if (cfa < lo + 8 || cfa > hi)
			return (-1);
		if (rule & UNWIND_R_RBP_SAVED) {
			a = cfa + (uint64_t)(int64_t)(int16_t)(rule >> 16);
			if (a < lo || a > hi - 8)
				return (-1);
			bp = *(const uint64_t *)(uintptr_t)a;
			bp_given = 0;
			bp_at = a;
		}
		ip = ((const uint64_t *)(uintptr_t)cfa)[-1];
		keep = keep && unwind_note(uc, &reads, cfa - 8, ip);
		sp = lo = cfa;
		if (ip == 0)
			break;
	}
	if (keep && n <= UNWIND_LAST_FRAMES) {
		for (k = 0; k < (uint32_t)n; k++)
			uc->last_ips[k] = (uint64_t)(uintptr_t)buf[k];
		uc->last_n = (uint32_t)n;
		uc->last_reads = reads;
		uc->last_bp_used = bp_used;
		uc->last_max = max;
	}
	return (n);
}

/*
 * MEMTOP_UNWIND=check: compare a walk with libunwind's answer for the same
 * stack (the tracker's own frames left out), and count.
 */
static void
unwind_check(void *const *buf, int n, int max)
{
	void	*ref[UNWIND_CHECK_MAX];
	int	 m, i, j, k;

	if (max > UNWIND_CHECK_MAX)
		max = UNWIND_CHECK_MAX;
	if (n > max)
		n = max;
	m = unw_backtrace(ref, max);
	i = (int)stacks_skip_own((const uint64_t *)buf, (size_t)n);
	j = (int)stacks_skip_own((const uint64_t *)ref, (size_t)m);
	/* libunwind's own call adds a frame: compare what both reached. */
	for (k = 0; i + k < n && j + k < m; k++) {
		if (buf[i + k] != ref[j + k])
			break;
	}
	if ((i + k == n || j + k == m) && (n - i == m - j || n == max ||
	    m == max)) {
		__atomic_add_fetch(&unwind_counts[0], 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_fetch_add(&unwind_counts[2], 1, __ATOMIC_RELAXED) == 0) {
		core_write_stderr("memtop: unwind check: differs at frame ");
		core_write_u64(k);
		core_write_stderr(": walked");
		for (k = i; k < n; k++) {
			core_write_stderr(" ");
			core_write_hex((uint64_t)(uintptr_t)buf[k]);
		}
		core_write_stderr("; libunwind");
		for (k = j; k < m; k++) {
			core_write_stderr(" ");
			core_write_hex((uint64_t)(uintptr_t)ref[k]);
		}
		core_write_stderr("\n");
	}
}

int	unwind_backtrace_from(void **, int, uint64_t, uint64_t, uint64_t);

/* unwind_backtrace's second half: the walk, or libunwind's. */
__attribute__((used, noinline)) int
unwind_backtrace_from(void **buf, int max, uint64_t ip, uint64_t sp,
    uint64_t bp)
{
	int	n;

	core_tls.unwind_repeat = 0;
	if (unwind_mode != UNWIND_MODE_LIBUNWIND &&
	    (n = unwind_walk(buf, max, ip, sp, bp)) >= 0) {
		if (unwind_mode == UNWIND_MODE_CHECK)
			unwind_check(buf, n, max);
		return (n);
	}
	if (unwind_mode == UNWIND_MODE_CHECK)
		__atomic_add_fetch(&unwind_counts[1], 1, __ATOMIC_RELAXED);
	return (unw_backtrace(buf, max));
}

/*
 * int unwind_backtrace(void **buf, int max): takes its caller's return
 * address, stack pointer after the return and frame pointer, and goes on
 * in C (a tail jump: no frame of its own).
 */
__asm__(
	"	.text\n"
	"	.globl	unwind_backtrace\n"
	"	.hidden	unwind_backtrace\n"
	"	.type	unwind_backtrace, @function\n"
	"unwind_backtrace:\n"
	"	.cfi_startproc\n"
	"	movq	(%rsp), %rdx\n"
	"	leaq	8(%rsp), %rcx\n"
	"	movq	%rbp, %r8\n"
	"	jmp	unwind_backtrace_from\n"
	"	.cfi_endproc\n"
	"	.size	unwind_backtrace, .-unwind_backtrace\n");

/* Read MEMTOP_UNWIND (at attach). */
void
unwind_init(void)
{
	const char	*v = getenv("MEMTOP_UNWIND");

	unwind_mode = UNWIND_MODE_WALK;
	if (v != NULL && strcmp(v, "libunwind") == 0)
		unwind_mode = UNWIND_MODE_LIBUNWIND;
	else if (v != NULL && strcmp(v, "check") == 0)
		unwind_mode = UNWIND_MODE_CHECK;
}

/* In check mode, say at exit how the unwinds went. */
void
unwind_report(void)
{
	if (unwind_mode != UNWIND_MODE_CHECK)
		return;
	core_write_stderr("memtop: unwind check: ");
	core_write_u64(__atomic_load_n(&unwind_counts[0], __ATOMIC_RELAXED));
	core_write_stderr(" walked and agreed, ");
	core_write_u64(__atomic_load_n(&unwind_counts[1], __ATOMIC_RELAXED));
	core_write_stderr(" left to libunwind, ");
	core_write_u64(__atomic_load_n(&unwind_counts[2], __ATOMIC_RELAXED));
	core_write_stderr(" differed\n");
}

#else	/* not x86-64: libunwind does it all */

void
unwind_init(void)
{
}

void
unwind_report(void)
{
}


int
unwind_backtrace(void **buf, int max)
{
	return (unw_backtrace(buf, max));
}

void
unwind_thread_release(struct core_thread *t)
{
}

void
unwind_forget(void)
{
}

#endif
