/*
 * core-stacks.c: the stack table.  Interning gives one id per distinct
 * stack, also when threads race to add the same stacks; a full table or
 * frame space charges stack 0 and counts it; deep stacks keep their
 * innermost max_frames frames and are marked; the tracker's own frames
 * are dropped from the top of a captured stack; a thread's memory of its
 * last stack gives the right id, and is forgotten with the table.
 */

#include "config.h"

#include <link.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

#define N_STACKS	3000
#define N_THREADS	4

static uint32_t	ids[N_THREADS][N_STACKS];

/* Attach a fresh segment. */
static void
attach(struct segment_sizes *z)
{
	struct memtop_header	*h;
	uint64_t		 size;

	core_active = 0;
	if ((h = segment_new(z, &size)) == NULL ||
	    shm_attach(h, size, -1) != 0)
		tap_bail("cannot attach a segment");
	stacks_set_own_range(0, 0);
}

/* Made-up stack number k: 1 to 12 frames, all different. */
static size_t
make_stack(uint64_t *f, int k)
{
	size_t	n = 1 + (size_t)k % 12, i;

	for (i = 0; i < n; i++)
		f[i] = UINT64_C(0x400000) + (uint64_t)k * 0x1000 + i * 8;
	return (n);
}

/* Nonzero when published stack id holds these frames. */
static int
holds(uint32_t id, const uint64_t *f, size_t n)
{
	const struct memtop_stack	*st = &core_shm.stacks[id];

	return ((st->flags & MEMTOP_STACK_READY) && st->nframes == n &&
	    memcmp(&core_shm.frames[st->frame_idx], f, n * 8) == 0);
}

/* A thread interning every stack, starting at its own place. */
static void *
interner(void *arg)
{
	int		t = (int)(intptr_t)arg, i, k;
	uint64_t	f[16];
	size_t		n;

	for (i = 0; i < N_STACKS; i++) {
		k = (i + t * N_STACKS / N_THREADS) % N_STACKS;
		n = make_stack(f, k);
		ids[t][k] = stacks_intern(f, n, 0);
	}
	return (NULL);
}

/* Interning by hand, one thread then several. */
static void
test_intern(void)
{
	struct segment_sizes	 z = segment_defaults();
	uint64_t		 a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 3, 5 };
	uint64_t		 f[16];
	uint32_t		 ia, ib, it, i;
	pthread_t		 tid[N_THREADS];
	int			 t, k, same = 1, ready = 0, dup = 0, right = 1;
	size_t			 n;

	attach(&z);
	ia = stacks_intern(a, 4, 0);
	ok(ia != 0 && holds(ia, a, 4), "a new stack gets an id, published");
	is_uint(stacks_intern(a, 4, 0), ia, "the same stack, the same id");
	ib = stacks_intern(b, 4, 0);
	ok(ib != 0 && ib != ia && holds(ib, b, 4), "another stack, another id");
	it = stacks_intern(a, 4, MEMTOP_STACK_TRUNCATED);
	ok(it != ia && it != 0 &&
	    (core_shm.stacks[it].flags & MEMTOP_STACK_TRUNCATED),
	    "the same frames with other flags are another stack");
	is_uint(stacks_intern(a, 3, 0) != ia, 1, "a prefix is another stack");

	attach(&z);
	for (t = 0; t < N_THREADS; t++)
		pthread_create(&tid[t], NULL, interner, (void *)(intptr_t)t);
	for (t = 0; t < N_THREADS; t++)
		pthread_join(tid[t], NULL);
	for (k = 0; k < N_STACKS; k++) {
		n = make_stack(f, k);
		for (t = 1; t < N_THREADS; t++) {
			if (ids[t][k] != ids[0][k])
				same = 0;
		}
		if (ids[0][k] == 0 || !holds(ids[0][k], f, n))
			right = 0;
	}
	ok(same, "%d threads racing: every thread got the same ids",
	    N_THREADS);
	ok(right, "each id holds its stack");
	for (i = 1; i <= core_shm.glob->stack_count; i++) {
		if (!(core_shm.stacks[i].flags & MEMTOP_STACK_READY))
			continue;
		ready++;
		/* Published records are distinct: no stack twice. */
		for (k = 0; k < N_STACKS; k++) {
			if (ids[0][k] == i)
				break;
		}
		if (k == N_STACKS)
			dup++;
	}
	is_int(ready, N_STACKS, "exactly one published record per stack");
	is_int(dup, 0, "no duplicate records");
}

/* Full tables charge stack 0. */
static void
test_full(void)
{
	struct segment_sizes	z = segment_defaults();
	uint64_t		f[16];
	uint32_t		id, zeros = 0, max = 0;
	int			k;

	z.stacks = 64;
	attach(&z);
	for (k = 0; k < 100; k++) {
		id = stacks_intern(f, make_stack(f, k), 0);
		if (id == 0)
			zeros++;
		if (id > max)
			max = id;
	}
	ok(max < 64 && zeros == 100 - 63, "a full stack table gives stack 0 "
	    "(max id %u, %u zeros)", max, zeros);
	is_uint(core_shm.glob->stack_table_full, zeros,
	    "and counts stack_table_full");

	z = segment_defaults();
	z.frames = 40;
	attach(&z);
	for (k = 0, zeros = 0; k < 20; k++) {
		if (stacks_intern(f, make_stack(f, 11), 0) == 0)
			zeros++;
		if (stacks_intern(f, make_stack(f, 23 + k * 12), 0) == 0)
			zeros++;
	}
	ok(zeros > 0 && core_shm.glob->frames_used <= 40,
	    "a full frame space gives stack 0 and never overflows");
}

/* Recurse, then capture at the bottom. */
static __attribute__((noinline)) uint32_t
deep(int n)
{
	uint32_t	id;

	if (n > 0)
		id = deep(n - 1);
	else
		id = stacks_capture(0);
	__asm__ volatile("" ::: "memory");
	return (id);
}

/* Capture here: the stack must contain this function. */
static __attribute__((noinline)) uint32_t
here(void)
{
	uint32_t	id = stacks_capture(0);

	__asm__ volatile("" ::: "memory");
	return (id);
}

/* dl_iterate_phdr callback: the main program's range. */
static int
main_range(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t	*r = arg, a;
	int		 i;

	r[0] = UINTPTR_MAX;
	r[1] = 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		if (a < r[0])
			r[0] = a;
		if (a + info->dlpi_phdr[i].p_memsz > r[1])
			r[1] = a + info->dlpi_phdr[i].p_memsz;
	}
	return (1);	/* the first object is the main program */
}

/* A thread capturing from the same place as the others. */
static void *
capturer(void *arg)
{
	uint32_t	*out = arg;

	*out = here();
	return (NULL);
}

/* Captured stacks: truncation, own frames, threads. */
static void
test_capture(void)
{
	struct segment_sizes		 z = segment_defaults();
	const struct memtop_stack	*st;
	const uint64_t			*f;
	uintptr_t			 r[2];
	uint32_t			 id, tids[4], i;
	pthread_t			 tid[4];
	int				 found = 0, t;

	z.max_frames = 8;
	attach(&z);
	id = deep(30);
	st = &core_shm.stacks[id];
	ok(id != 0 && st->nframes == 8 &&
	    (st->flags & MEMTOP_STACK_TRUNCATED),
	    "a deep stack keeps max_frames frames, marked truncated");
	is_uint(core_shm.glob->frames_truncated, 1, "and is counted");
	id = here();
	st = &core_shm.stacks[id];
	f = &core_shm.frames[st->frame_idx];
	for (i = 0; i < st->nframes; i++) {
		if (f[i] >= (uintptr_t)here && f[i] < (uintptr_t)here + 256)
			found = 1;
	}
	ok(id != 0 && !(st->flags & MEMTOP_STACK_TRUNCATED) && found,
	    "a shallow stack is whole and holds its caller");

	/* Everything in the test program counts as "own": dropped. */
	dl_iterate_phdr(main_range, r);
	stacks_set_own_range(r[0], r[1]);
	id = here();
	st = &core_shm.stacks[id];
	f = &core_shm.frames[st->frame_idx];
	ok(id != 0 && st->nframes > 0 && (f[0] < r[0] || f[0] >= r[1]),
	    "the tracker's own frames are dropped from the top");
	stacks_set_own_range(0, 0);

	z = segment_defaults();
	attach(&z);
	for (t = 0; t < 4; t++)
		pthread_create(&tid[t], NULL, capturer, &tids[t]);
	for (t = 0; t < 4; t++)
		pthread_join(tid[t], NULL);
	ok(tids[0] != 0 && tids[0] == tids[1] && tids[1] == tids[2] &&
	    tids[2] == tids[3], "threads at the same place share a stack");
}

/* Nonzero when stack id holds a frame inside here(). */
static int
holds_here(uint32_t id)
{
	const struct memtop_stack	*st = &core_shm.stacks[id];
	const uint64_t			*f = &core_shm.frames[st->frame_idx];
	uint32_t			 i;

	if (id == 0 || !(st->flags & MEMTOP_STACK_READY))
		return (0);
	for (i = 0; i < st->nframes; i++) {
		if (f[i] >= (uintptr_t)here && f[i] < (uintptr_t)here + 256)
			return (1);
	}
	return (0);
}

/* deep(3), for the table of captures below. */
static uint32_t
deep3(void)
{
	return (deep(3));
}

/*
 * A fresh segment, where the first ids are other stacks: 8 of them the
 * first time, 12 the next, so that no stack has the same id in both.
 */
static uint32_t
new_table(void)
{
	static int		 tables;
	struct segment_sizes	 z = segment_defaults();
	uint64_t		 f[16];
	int			 i;

	attach(&z);
	core_tls.slot = &core_shm.threads[1];	/* capture into scratch */
	for (i = 1; i <= 8 + 4 * tables; i++)
		stacks_intern(f, make_stack(f, i), 0);
	tables++;
	return (0);
}

static uint32_t (*volatile test_ops[])(void) = { here, deep3, new_table };

/*
 * Run test_ops[what[i]] for each i: every capture is made through one call
 * instruction, so that the same function gives the same stack.
 */
static __attribute__((noipa)) void
run_ops(const int *what, uint32_t *got, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		got[i] = test_ops[what[i]]();
}

/* A thread with a slot remembers its last stack (stacks.c). */
static void
test_last(void)
{
	static const int	 what[] = { 2, 0, 0, 1, 0, 2, 0 };
	uint32_t		 got[7];

	run_ops(what, got, 7);
	ok(got[1] != 0 && got[2] == got[1] && got[3] != 0 &&
	    got[3] != got[1] && got[4] == got[1],
	    "the same stack twice, another, the first again: their ids");
	ok(holds_here(got[6]) && got[6] != got[1],
	    "after a new table, that stack gets an id of the new table");
	core_tls.slot = NULL;
}

int
main(void)
{
	tap_plan(19);
	test_intern();
	test_full();
	test_capture();
	test_last();
	return (tap_done());
}
