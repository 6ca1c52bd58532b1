/*
 * memtop shared segment: the one contract between libmemtop.so (core/, which
 * runs inside the target) and the memtop program (tui/, which runs outside).
 *
 * The launcher creates an anonymous memory file (memfd), sizes it, fills in
 * the header and the section table, and hands the descriptor to the target
 * in the environment (MEMTOP_FD).  The library maps it MAP_SHARED and from
 * then on is the only writer of every field marked "target writes".  The
 * front end is the only writer of the fields marked "front end writes".
 *
 * Rules every reader must follow:
 *  - trust nothing: check every offset, index, length and count against the
 *    section it points into before using it (a crashed or hostile target
 *    can leave anything here);
 *  - read shared counters with relaxed atomic loads; fields published with
 *    a flag or sequence number are read after an acquire load of it;
 *  - never wait on the target and never take a lock the target takes.
 *
 * All sizes are in bytes, all times are CLOCK_MONOTONIC nanoseconds, all
 * offsets are from the start of the segment.  Only fixed-width types are
 * used; the layout is the same for every compiler on x86-64 and aarch64.
 */

#ifndef MEMTOP_SHM_H
#define MEMTOP_SHM_H

#include <math.h>
#include <stdint.h>

#define MEMTOP_SHM_MAGIC	"MEMTOP\0\1"	/* 8 bytes, no terminator */
#define MEMTOP_SHM_ABI		6		/* bump on any layout change */
#define MEMTOP_CACHELINE	64

/* Environment variables set by the launcher for the target. */
#define MEMTOP_ENV_FD		"MEMTOP_FD"	/* decimal descriptor of the memfd */

/*
 * Counts of estimated allocations are fixed point with this many units per
 * allocation, so that a sampled allocation of weight 1.37 adds 1403.
 */
#define MEMTOP_COUNT_ONE	1024

/* Sections of the segment, in the order they are laid out. */
enum memtop_section_id {
	MEMTOP_SEC_THREADS,	/* struct memtop_thread_slot[count] */
	MEMTOP_SEC_GLOBAL,	/* struct memtop_global[1] */
	MEMTOP_SEC_CONTROL,	/* struct memtop_control[1] */
	MEMTOP_SEC_STACK_INDEX,	/* uint32_t[count], count a power of two */
	MEMTOP_SEC_STACKS,	/* struct memtop_stack[count] */
	MEMTOP_SEC_STACK_AGGS,	/* struct memtop_stack_agg[count], lanes */
	MEMTOP_SEC_FRAMES,	/* uint64_t[count], see MEMTOP_FRAME_* */
	MEMTOP_SEC_CODES,	/* struct memtop_code[count] (Python) */
	MEMTOP_SEC_MODULES,	/* struct memtop_module[count] */
	MEMTOP_SEC_STRINGS,	/* char[count]: names, files, paths */
	MEMTOP_SEC_LIVE_SHARDS,	/* struct memtop_live_shard[count] */
	MEMTOP_SEC_LIVE_ARENA,	/* struct memtop_live_entry[count] */
	MEMTOP_SEC_RING,	/* rings: a memtop_ring_header + records each */
	MEMTOP_SEC_COUNT
};

/*
 * One section: where it is and how many elements it holds.  Written by the
 * launcher before the target starts; never changed afterwards.  A reader
 * must check off + size <= total_size and count * element size <= size.
 */
struct memtop_section {
	uint64_t	off;		/* from the start of the segment */
	uint64_t	size;		/* bytes */
	uint64_t	count;		/* elements (capacity) */
};

/* Configuration flags, written by the launcher in header.config. */
#define MEMTOP_CFG_EXACT	0x1	/* sample every allocation, weight 1 */
#define MEMTOP_CFG_PYALLOC	0x2	/* wrap CPython's allocator domains */
#define MEMTOP_CFG_NOPYTHON	0x4	/* do not walk Python frames */
#define MEMTOP_CFG_NOEVENTS	0x8	/* write no events: nothing reads them */

/* State flags, written by the target in header.state. */
#define MEMTOP_ST_ATTACHED	0x1	/* library mapped the segment, tracking */
#define MEMTOP_ST_DISABLED	0x2	/* tracking stopped, see disabled_reason */
#define MEMTOP_ST_EXITING	0x4	/* the process began exit (destructors) */

/* Python support, written by the target in header.python_state. */
#define MEMTOP_PY_NONE		0	/* no CPython found in the process */
#define MEMTOP_PY_ACTIVE	1	/* Python frames are recorded */
#define MEMTOP_PY_UNSUPPORTED	2	/* CPython found, frames off: see note */
#define MEMTOP_PY_OFF		3	/* disabled by MEMTOP_CFG_NOPYTHON */

/*
 * The header, at offset 0.  The launcher writes everything up to and
 * including target_pid before the target is started; the library refuses a
 * segment whose magic, abi, header_size or target_pid do not match.
 */
struct memtop_header {
	char		magic[8];	/* MEMTOP_SHM_MAGIC */
	uint32_t	abi;		/* MEMTOP_SHM_ABI */
	uint32_t	header_size;	/* sizeof(struct memtop_header) */
	uint64_t	total_size;	/* bytes mapped by both sides */

	/* Launcher writes, before the target runs. */
	uint32_t	config;		/* MEMTOP_CFG_* */
	uint32_t	max_frames;	/* frames kept per stack, <= 1024 */
	uint64_t	sample_mean;	/* mean bytes between samples; 0 = exact */
	int32_t		target_pid;	/* the only process allowed to attach */
	uint32_t	pad0;
	struct memtop_section sec[MEMTOP_SEC_COUNT];

	/* Target writes. */
	uint32_t	state;		/* MEMTOP_ST_* */
	uint32_t	generation;	/* +1 at each attach; an exec re-attaches */
	uint64_t	attach_ns;	/* CLOCK_MONOTONIC when the library attached */
	uint64_t	forks;		/* children forked (they are not tracked) */
	char		disabled_reason[160];	/* NUL-terminated, when DISABLED */

	uint32_t	python_state;	/* MEMTOP_PY_* */
	uint32_t	pad1;
	char		python_version[32];	/* "3.11.7", NUL-terminated */
	char		python_note[128];	/* why frames are off, for the user */

	/*
	 * Written by descendants: processes other than target_pid that loaded
	 * the library with this segment in their environment (the target's
	 * children, after they exec'd a program).  They are not tracked; each
	 * adds 1 to descendants, and the first stores its pid and the file
	 * name of its program.
	 */
	uint32_t	descendants;
	int32_t		descendant_pid;	/* compare-and-swap from 0 */
	char		descendant_exe[64];	/* NUL-terminated, may be cut */

	char		reserved[184];
};

/*
 * Per-thread counters.  Slot 0 is shared: threads that could not claim a
 * slot of their own (too many threads, or a thread already past its exit
 * handlers) add to it with atomic operations.  Every other slot has at most
 * one writer at a time, the thread whose tid is in `tid`; a slot freed by an
 * exiting thread keeps its sums and is reused by the next thread, so the
 * reader sums every slot, free or not, to get exact totals.
 *
 * The four malloc-family sums count usable sizes (malloc_usable_size) on
 * both sides.  The map sums count anonymous private mappings the program
 * made itself, rounded to pages.  Allocated bytes live =
 *   sum(alloc_bytes - free_bytes) + sum(map_bytes - unmap_bytes).
 */
struct memtop_thread_slot {
	int32_t		tid;		/* owner, 0 when free */
	uint32_t	flags;
	uint64_t	alloc_bytes;	/* malloc family, usable size */
	uint64_t	free_bytes;
	uint64_t	alloc_count;
	uint64_t	free_count;
	uint64_t	map_bytes;	/* anonymous mmap, mremap growth */
	uint64_t	unmap_bytes;	/* munmap, mremap shrink */
	uint64_t	map_count;
	uint64_t	unmap_count;
	uint64_t	samples;	/* sampled allocations taken */
	uint64_t	sampled_frees;	/* frees of sampled allocations */
	uint64_t	ring_drops;	/* events it found no room for (event.h) */
	uint64_t	pad[3];
} __attribute__((aligned(MEMTOP_CACHELINE)));

/*
 * Process-wide state, on separate cache lines by who writes how often.
 *
 * The peak: each thread keeps a private net delta and adds it to
 * flushed_live when it passes +-MEMTOP_FLUSH_BYTES, or at once when the
 * delta exceeds flush_limit (the room left below the peak or the break
 * threshold), so the peak is updated on the allocation that makes it.  A
 * thread compares with its own copy of flush_limit, taken at each of its
 * flushes and samples.  In a single-threaded program peak_bytes is exact;
 * with T threads it can be off by at most T * MEMTOP_FLUSH_BYTES.
 *
 * Bytes at peak per stack use peak_epoch, see struct memtop_stack_agg.
 */
#define MEMTOP_FLUSH_BYTES	(256 * 1024)

struct memtop_global {
	/* Written at each flush (rare). */
	int64_t		flushed_live;	/* sum of flushed deltas, bytes */
	int64_t		peak_bytes;	/* highest flushed_live seen */
	uint64_t	peak_ns;	/* when peak_bytes was set */
	uint64_t	peak_epoch;	/* +1 each time peak_bytes rises */
	int64_t		flush_limit;	/* see above, at most
					   MEMTOP_FLUSH_BYTES - 1; anyone may
					   store 0 to force the next flush */
	uint64_t	pad0[3];

	/* Allocation cursors for the append-only sections (slow path). */
	uint32_t	stack_count;	/* ids handed out; ids start at 1 */
	uint32_t	code_count;	/* Python code ids handed out, from 1 */
	uint32_t	module_count;	/* module records handed out */
	uint32_t	pad1;
	uint64_t	frames_used;	/* uint64_t frames handed out */
	uint64_t	strings_used;	/* bytes handed out */
	uint64_t	live_arena_used;	/* live entries handed out */
	uint64_t	agg_lanes_used;	/* bit k: lane k was charged */
	uint64_t	pad2[2];

	/* Problems, counted by the target (slow path). */
	uint64_t	stack_table_full;	/* samples charged to stack 0 */
	uint64_t	frames_truncated;	/* stacks cut at max_frames */
	uint64_t	live_table_full;	/* sampled allocations not kept */
	uint64_t	code_table_full;	/* Python frames without a code id */
	uint64_t	unwind_failures;
	uint64_t	pad3[3];
} __attribute__((aligned(MEMTOP_CACHELINE)));

/*
 * Requests from the front end and the target's answers.
 *
 * Break: the front end stores break_bytes (0 disarms), then increments
 * break_seq, then stores 0 to global.flush_limit.  The first allocation that
 * brings allocated bytes to or above break_bytes afterwards is charged to
 * its stack (sampled or not), described in the break_* fields, and
 * break_hit_seq is set to break_seq; then the target stops itself with
 * SIGSTOP.  A break fires once per arming.  A thread sees the arming at its
 * next flush or sample (every allocation in exact mode): in a
 * single-threaded program a threshold above the peak is caught on the
 * allocation that crosses it, one below the peak within MEMTOP_FLUSH_BYTES
 * or a sample of the crossing.
 */
struct memtop_control {
	/* Front end writes. */
	uint64_t	break_bytes;	/* 0 = no break */
	uint32_t	break_seq;	/* +1 at each arming */
	uint32_t	pad0;
	uint64_t	pad1[6];

	/* Target writes; valid when break_hit_seq == break_seq != 0. */
	uint32_t	break_hit_seq;
	int32_t		break_tid;	/* thread that crossed */
	uint32_t	break_stack;	/* its stack id */
	uint32_t	pad2;
	uint64_t	break_addr;	/* the allocation that crossed */
	uint64_t	break_size;	/* its usable size */
	uint64_t	break_allocated;	/* allocated bytes after it */
	uint64_t	break_ns;
	uint64_t	pad3[2];
} __attribute__((aligned(MEMTOP_CACHELINE)));

/*
 * Frames.  A stack is a run of uint64_t frames, innermost first, already
 * merged by the target: CPython eval-loop frames are replaced by the Python
 * frames they run.  A native frame is a return address (look up ip - 1).
 * A Python frame has the top bit set, a code id (struct memtop_code) in
 * bits 32-62 and the line in bits 0-31 (0 when unknown).  Code id
 * MEMTOP_CODE_SPECIAL marks a synthetic frame whose low bits name it.
 */
#define MEMTOP_FRAME_PYTHON	(UINT64_C(1) << 63)
#define MEMTOP_CODE_SPECIAL	UINT32_C(0x7fffffff)
#define MEMTOP_FRAME_IS_PYTHON(f)	(((f) & MEMTOP_FRAME_PYTHON) != 0)
#define MEMTOP_FRAME_CODE(f)	((uint32_t)(((f) >> 32) & 0x7fffffff))
#define MEMTOP_FRAME_LINE(f)	((uint32_t)((f) & 0xffffffff))
#define MEMTOP_FRAME_MAKE_PY(code, line) \
	(MEMTOP_FRAME_PYTHON | ((uint64_t)((code) & 0x7fffffff) << 32) | \
	 (uint32_t)(line))

/* Synthetic frames (code id MEMTOP_CODE_SPECIAL). */
#define MEMTOP_SPECIAL_PYMALLOC	1	/* "[pymalloc arena]" */
#define MEMTOP_SPECIAL_MMAP	2	/* "[mmap]": a direct mmap call */
#define MEMTOP_SPECIAL_PYOBJ	3	/* "[python object]" (PyMem domains) */

/*
 * A stack.  Id 0 is reserved: it collects whatever could not be given a
 * stack of its own (table full, unwinding failed).  The target hands out
 * ids with global.stack_count, writes frame_idx, nframes and hash, then
 * sets MEMTOP_STACK_READY with a release store; readers skip records
 * without it.  Records never change once ready.
 */
#define MEMTOP_STACK_READY	0x1
#define MEMTOP_STACK_TRUNCATED	0x2	/* deeper than max_frames, cut */
#define MEMTOP_STACK_PYTHON	0x4	/* has Python frames */
#define MEMTOP_STACK_PYMALLOC	0x8	/* a pymalloc arena mapping */

struct memtop_stack {
	uint32_t	frame_idx;	/* first frame in MEMTOP_SEC_FRAMES */
	uint16_t	nframes;
	uint16_t	flags;		/* MEMTOP_STACK_* */
	uint32_t	hash;
	uint32_t	pad;
};

/*
 * What a stack holds, estimated from its samples (exact in exact mode).
 * Written by the target with atomic adds on the sampled path.
 *
 * Bytes at the global peak: when a stack changes and its peak_epoch differs
 * from global.peak_epoch, the target first copies live into peak and
 * stores the epoch.  So the value at the last peak is
 *   peak_epoch == global.peak_epoch ? peak_bytes : live_bytes
 * (the same for counts).
 *
 * Lanes: MEMTOP_SEC_STACK_AGGS holds lanes * S aggregates, S being the
 * count of MEMTOP_SEC_STACKS and lanes = (its own count) / S, at least 1.
 * The aggregate of stack id in lane k is element k * S + id.  A thread of
 * the target charges its own lane, so that threads allocating from the
 * same place do not write the same cache line; a free is charged to the
 * freeing thread's lane, where a stack's live values may go negative.  A
 * stack's values are the sums over its lanes, each lane's value at the last
 * peak taken by the rule above.  The launcher asks for MEMTOP_AGG_LANES.
 * A thread sets its lane's bit in global.agg_lanes_used before it charges
 * it, and lane 0's is set at attach, so that a reader may skip the lanes
 * never used (a single-threaded program uses lane 0 alone).  Lanes past
 * MEMTOP_AGG_LANES_MAX, the width of that mask, are never used or read.
 */
#define MEMTOP_AGG_LANES	4
#define MEMTOP_AGG_LANES_MAX	64
struct memtop_stack_agg {
	int64_t		live_bytes;	/* estimated bytes live now */
	int64_t		live_count;	/* x MEMTOP_COUNT_ONE */
	uint64_t	total_bytes;	/* estimated bytes ever allocated */
	uint64_t	total_count;	/* x MEMTOP_COUNT_ONE */
	int64_t		peak_bytes;	/* see above */
	int64_t		peak_count;	/* x MEMTOP_COUNT_ONE */
	uint64_t	peak_epoch;
	uint64_t	pad;
} __attribute__((aligned(MEMTOP_CACHELINE)));

/*
 * A Python code object, copied once by the target so that the front end
 * can name Python frames.  Strings live in MEMTOP_SEC_STRINGS (UTF-8, not
 * NUL-terminated).  Ids start at 1; published with MEMTOP_CODE_READY.
 */
#define MEMTOP_CODE_READY	0x1

struct memtop_code {
	uint32_t	file_off;	/* into MEMTOP_SEC_STRINGS */
	uint32_t	file_len;
	uint32_t	name_off;	/* qualified name (co_qualname, or
					   co_name before 3.11) */
	uint32_t	name_len;
	int32_t		firstlineno;
	uint32_t	flags;		/* MEMTOP_CODE_* */
};

/*
 * A loaded ELF object, recorded by the target so that native frames can be
 * named after it exits.  bias is the load bias (dl_phdr_info.dlpi_addr);
 * [start, end) covers its PT_LOAD segments.  The main program has its
 * path from /proc/self/exe.  Published with MEMTOP_MODULE_READY; a module
 * seen unloaded later gets MEMTOP_MODULE_GONE and stays in the table.
 */
#define MEMTOP_MODULE_READY	0x1
#define MEMTOP_MODULE_GONE	0x2
#define MEMTOP_MODULE_MAIN	0x4

struct memtop_module {
	uint64_t	bias;
	uint64_t	start;
	uint64_t	end;
	uint32_t	path_off;	/* into MEMTOP_SEC_STRINGS */
	uint32_t	path_len;
	uint32_t	flags;		/* MEMTOP_MODULE_* */
	uint32_t	pad;
};

/*
 * Live sampled allocations (every allocation in exact mode), so that a free
 * finds the stack it is charged to, and so that the front end knows the
 * address ranges to ask the kernel about.  The table is split in shards by
 * address hash; each shard is an open-addressing table of `capacity`
 * entries starting at entry `table` of MEMTOP_SEC_LIVE_ARENA.  The target
 * changes a shard under its lock and makes seq odd while it does; a reader
 * takes seq (even), copies what it needs, and keeps the copy only if seq is
 * unchanged.  An entry with addr 0 is empty.
 *
 * An entry is two words: the address, and `info`, which packs the size in
 * its low MEMTOP_LIVE_SIZE_BITS bits (usable bytes; for a mapping, 4 KiB
 * pages), the flags in the next two and the stack in the top
 * MEMTOP_LIVE_STACK_BITS.  The weight of a sample is not kept: it is
 * memtop_sample_weight(size, sample_mean), a function of the size alone
 * for the whole run (1 in exact mode).  A malloc block of 4 TiB or more, or
 * a stack id past the limit, has no entry (live_table_full counts it).
 */
#define MEMTOP_LIVE_MMAP	0x1	/* a direct mmap, not a malloc block */
#define MEMTOP_LIVE_PYOBJ	0x2	/* from a wrapped Python domain */

#define MEMTOP_LIVE_SIZE_BITS	42
#define MEMTOP_LIVE_FLAG_BITS	2
#define MEMTOP_LIVE_STACK_BITS	20
#define MEMTOP_LIVE_PAGE_SHIFT	12	/* a mapping's size unit */
#define MEMTOP_LIVE_STACK_LIMIT	(UINT32_C(1) << MEMTOP_LIVE_STACK_BITS)

struct memtop_live_entry {
	uint64_t	addr;		/* 0 = empty */
	uint64_t	info;		/* size, flags, stack: see above */
};

/* The usable bytes of a live entry's info word. */
static inline uint64_t
memtop_live_size(uint64_t info)
{
	uint64_t	n = info & ((UINT64_C(1) << MEMTOP_LIVE_SIZE_BITS) - 1);

	if ((info >> MEMTOP_LIVE_SIZE_BITS) & MEMTOP_LIVE_MMAP)
		return (n << MEMTOP_LIVE_PAGE_SHIFT);
	return (n);
}

/* The MEMTOP_LIVE_* flags of a live entry's info word. */
static inline uint32_t
memtop_live_flags(uint64_t info)
{
	return ((uint32_t)(info >> MEMTOP_LIVE_SIZE_BITS) &
	    ((1u << MEMTOP_LIVE_FLAG_BITS) - 1));
}

/* The stack id of a live entry's info word. */
static inline uint32_t
memtop_live_stack(uint64_t info)
{
	return ((uint32_t)(info >> (MEMTOP_LIVE_SIZE_BITS +
	    MEMTOP_LIVE_FLAG_BITS)));
}

/*
 * Pack a size, flags and stack into *info.  Returns -1 when they do not
 * fit: a block of 4 TiB or more, a mapping's size that is not whole pages,
 * unknown flags or a stack id past MEMTOP_LIVE_STACK_LIMIT.
 */
static inline int
memtop_live_pack(uint64_t size, uint32_t flags, uint32_t stack,
    uint64_t *info)
{
	uint64_t	n = size;

	if (flags & MEMTOP_LIVE_MMAP) {
		if (size & ((UINT64_C(1) << MEMTOP_LIVE_PAGE_SHIFT) - 1))
			return (-1);
		n = size >> MEMTOP_LIVE_PAGE_SHIFT;
	}
	if ((n >> MEMTOP_LIVE_SIZE_BITS) != 0 ||
	    (flags >> MEMTOP_LIVE_FLAG_BITS) != 0 ||
	    stack >= MEMTOP_LIVE_STACK_LIMIT)
		return (-1);
	*info = n | (uint64_t)flags << MEMTOP_LIVE_SIZE_BITS |
	    (uint64_t)stack << (MEMTOP_LIVE_SIZE_BITS + MEMTOP_LIVE_FLAG_BITS);
	return (0);
}

/*
 * The unbiased weight of a sample of size bytes under Poisson sampling
 * with mean bytes between samples: the inverse of the probability
 * 1 - exp(-size / mean) that it is sampled.  1 in exact mode (mean 0).
 */
static inline double
memtop_sample_weight(uint64_t size, uint64_t mean)
{
	if (mean == 0 || size == 0)
		return (1.0);
	return (1.0 / -expm1(-(double)size / (double)mean));
}

struct memtop_live_shard {
	uint32_t	lock;		/* target only */
	uint32_t	seq;		/* odd while the target writes */
	uint32_t	count;		/* entries in use */
	uint32_t	pad;
	uint64_t	table;		/* first entry in MEMTOP_SEC_LIVE_ARENA */
	uint64_t	capacity;	/* entries, a power of two, or 0 */
	uint64_t	pad1[4];
} __attribute__((aligned(MEMTOP_CACHELINE)));

_Static_assert(sizeof(struct memtop_header) == 968, "header");
_Static_assert(sizeof(struct memtop_thread_slot) == 128, "thread slot");
_Static_assert(sizeof(struct memtop_global) == 192, "global");
_Static_assert(sizeof(struct memtop_control) == 128, "control");
_Static_assert(sizeof(struct memtop_stack) == 16, "stack record");
_Static_assert(sizeof(struct memtop_stack_agg) == 64, "stack aggregate");
_Static_assert(sizeof(struct memtop_code) == 24, "code record");
_Static_assert(sizeof(struct memtop_module) == 40, "module record");
_Static_assert(sizeof(struct memtop_live_entry) == 16, "live entry");
_Static_assert(sizeof(struct memtop_live_shard) == 64, "live shard");

#endif /* MEMTOP_SHM_H */
