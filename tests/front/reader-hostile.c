/*
 * reader-hostile.c: the front end must survive any segment (invariant 5).
 *
 * A small segment is laid out by hand in private memory; then its header
 * is corrupted in many ways (attach must refuse or read safely), specific
 * out-of-bounds records are planted (every reader must refuse them), and
 * finally every byte after a valid header is filled with random values
 * again and again while the whole front end runs over it: totals, global
 * record, stacks, aggregates, codes, modules, ring, live shards, the model,
 * symbols and the JSON report.  Passing means no crash, no hang, and no
 * sanitizer report in an --enable-asan build.
 *
 * The seed is fixed (MEMTOP_TEST_SEED overrides it) so a failure can be
 * replayed.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"
#include "tap.h"

#define SEG_SIZE	(1 << 20)
#define HEADER_ROUNDS	2000
#define RANDOM_ROUNDS	300

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 0x2545f4914f6cdd1dULL);
}

/* A random value biased towards the edges that break bounds checks. */
static uint64_t
rng_value(void)
{
	switch (rng() % 8) {
	case 0:
		return (0);
	case 1:
		return (rng() % 4);
	case 2:
		return (UINT64_MAX - rng() % 4);
	case 3:
		return (UINT32_MAX - rng() % 4);
	case 4:
		return (rng() % 70000);
	case 5:
		return ((uint64_t)1 << (rng() % 64));
	default:
		return (rng());
	}
}

/* Fill n bytes with random edge-heavy 64-bit words. */
static void
rng_fill(void *p, size_t n)
{
	uint64_t	*w = p, v;
	size_t		 i;

	for (i = 0; i < n / 8; i++)
		w[i] = rng_value();
	for (i = n & ~(size_t)7; i < n; i++) {
		v = rng();
		((char *)p)[i] = (char)v;
	}
}

/* Lay out a small valid segment at base. */
static void
layout(void *base)
{
	static const struct {
		uint64_t	count;
		uint64_t	elsize;
	} secs[MEMTOP_SEC_COUNT] = {
		[MEMTOP_SEC_THREADS] = { 16, sizeof(struct memtop_thread_slot) },
		[MEMTOP_SEC_GLOBAL] = { 1, sizeof(struct memtop_global) },
		[MEMTOP_SEC_CONTROL] = { 1, sizeof(struct memtop_control) },
		[MEMTOP_SEC_STACK_INDEX] = { 256, 4 },
		[MEMTOP_SEC_STACKS] = { 1024, sizeof(struct memtop_stack) },
		[MEMTOP_SEC_STACK_AGGS] = { 1024, sizeof(struct memtop_stack_agg) },
		[MEMTOP_SEC_FRAMES] = { 16384, 8 },
		[MEMTOP_SEC_CODES] = { 256, sizeof(struct memtop_code) },
		[MEMTOP_SEC_MODULES] = { 64, sizeof(struct memtop_module) },
		[MEMTOP_SEC_STRINGS] = { 65536, 1 },
		[MEMTOP_SEC_LIVE_SHARDS] = { 16, sizeof(struct memtop_live_shard) },
		[MEMTOP_SEC_LIVE_ARENA] = { 4096, sizeof(struct memtop_live_entry) },
		[MEMTOP_SEC_RING] = { 1024, sizeof(struct memtop_event) },
	};
	struct memtop_header		*h = base;
	struct memtop_ring_header	*ring;
	uint64_t			 off;
	u_int				 i;

	memset(base, 0, SEG_SIZE);
	memcpy(h->magic, MEMTOP_SHM_MAGIC, sizeof h->magic);
	h->abi = MEMTOP_SHM_ABI;
	h->header_size = sizeof *h;
	h->total_size = SEG_SIZE;
	h->max_frames = 128;
	h->sample_mean = 65536;
	off = 4096;
	for (i = 0; i < MEMTOP_SEC_COUNT; i++) {
		h->sec[i].off = off;
		h->sec[i].count = secs[i].count;
		h->sec[i].size = secs[i].count * secs[i].elsize +
		    (i == MEMTOP_SEC_RING ? sizeof(struct memtop_ring_header) : 0);
		off = (off + h->sec[i].size + 4095) & ~(uint64_t)4095;
	}
	if (off > SEG_SIZE)
		tap_bail("test layout does not fit");
	ring = (void *)((char *)base + h->sec[MEMTOP_SEC_RING].off);
	ring->capacity = secs[MEMTOP_SEC_RING].count;
	ring->rings = 1;
}

static uint64_t	events_seen;

/* Count drained events, touching every field. */
static void
on_event(const struct memtop_event *ev, void *arg)
{
	events_seen += ev->stack + ev->size + (uint64_t)ev->tid;
}

/* Run every reader, the model, symbols and the report over the segment. */
static void
run_everything(struct reader *r, struct model *m, FILE *sink)
{
	static struct reader_live	 entries[64];
	struct reader_totals		 t;
	struct reader_global		 g;
	struct reader_control		 c;
	struct reader_stack		 s;
	struct reader_agg		 a;
	struct reader_code		 code;
	struct reader_module		 mod;
	struct options			 o;
	struct launch			 l;
	struct report			 rp;
	volatile uint64_t		 sum = 0;
	uint64_t			 i, j;

	reader_totals(r, &t);
	reader_global(r, &g);
	reader_control(r, &c);
	sum += t.allocated + strlen(g.disabled_reason) +
	    strlen(g.python_version) + strlen(g.python_note) + c.break_stack;
	for (i = 0; i <= (uint64_t)g.stack_count + 4 && i < 2000; i++) {
		if (reader_stack(r, (uint32_t)i, &s) == 0) {
			for (j = 0; j < s.nframes; j++)
				sum += s.frames[j];
		}
		reader_agg(r, (uint32_t)i, g.peak_epoch, &a);
		sum += (uint64_t)a.peak_bytes;
	}
	for (i = 0; i < 300; i++) {
		if (reader_code(r, (uint32_t)i, &code) == 0) {
			for (j = 0; j < code.file_len; j++)
				sum += (u_char)code.file[j];
			for (j = 0; j < code.name_len; j++)
				sum += (u_char)code.name[j];
		}
	}
	for (i = 0; i < reader_module_count(r) + 2; i++) {
		if (reader_module(r, (uint32_t)i, &mod) == 0) {
			for (j = 0; j < mod.path_len; j++)
				sum += (u_char)mod.path[j];
		}
	}
	reader_drain(r, 5000, on_event, NULL);
	for (i = 0; i < r->nshards + 2; i++)
		reader_shard(r, i, entries, 64);

	model_update(m, NULL, 0, format_now_ns());
	for (i = 0, j = 0; i < m->nstacks && j < 50; i++) {
		if (m->stacks[i] == NULL)
			continue;
		j++;
		for (u_int k = 0; k < m->stacks[i]->nframes && k < 64; k++)
			sum += model_frame(m, m->stacks[i], k)->line;
	}

	memset(&o, 0, sizeof o);
	memset(&l, 0, sizeof l);
	o.top = 5;
	o.report = OPTIONS_REPORT_JSON;
	l.pid = 1;
	rp.opts = &o;
	rp.launch = &l;
	rp.model = m;
	rp.tracked = 1;
	report_json(&rp, sink);
	report_text(&rp, sink);
	(void)sum;
}

/* Plant a module record whose path is a real file, so libdwfl opens it. */
static void
plant_module(struct reader *r)
{
	static const char	 path[] = "/proc/self/exe";
	struct memtop_module	*mod;
	uint64_t		 n = r->nmodules;

	if (n == 0 || r->nstrings < sizeof path)
		return;
	memcpy((char *)r->strings, path, sizeof path - 1);
	mod = &r->modules[rng() % n];
	mod->path_off = 0;
	mod->path_len = sizeof path - 1;
	mod->flags = MEMTOP_MODULE_READY;
	mod->start = rng() % 4096;
	mod->end = mod->start + rng() % (1 << 30);
	mod->bias = rng_value();
}

/* Header corruptions: attach refuses them or reads them safely. */
static void
test_headers(void *base, FILE *sink)
{
	/* Ring headers the reader must not follow (0: as laid out). */
	static const struct {
		uint64_t	 capacity, rings;
		const char	*what;
	} bad_rings[] = {
		{ 1000, 0, "rings of a capacity not a power of two" },
		{ 0, 2, "two rings in a section that holds one" },
		{ 0, 6, "six rings (not a power of two)" },
	};
	struct memtop_header		*h = base;
	struct memtop_ring_header	*ring;
	struct reader			 r;
	struct symbols			*sy;
	struct model			 m;
	char				*cause;
	u_int				 i, refused = 0, accepted = 0;
	size_t				 pos;

	layout(base);
	ok(reader_attach(&r, base, SEG_SIZE, &cause) == 0,
	    "a valid segment attaches");

	layout(base);
	h->magic[3] ^= 1;
	ok(reader_attach(&r, base, SEG_SIZE, &cause) != 0 && cause != NULL,
	    "bad magic is refused");
	free(cause);

	layout(base);
	h->abi++;
	ok(reader_attach(&r, base, SEG_SIZE, &cause) != 0, "other ABI is refused");
	free(cause);

	layout(base);
	ok(reader_attach(&r, base, SEG_SIZE - 4096, &cause) != 0,
	    "a mapping smaller than total_size is refused");
	free(cause);

	layout(base);
	h->sec[MEMTOP_SEC_FRAMES].size = SEG_SIZE;
	ok(reader_attach(&r, base, SEG_SIZE, &cause) != 0,
	    "a section past the end is refused");
	free(cause);

	layout(base);
	h->sec[MEMTOP_SEC_STRINGS].off = UINT64_MAX - 10;
	ok(reader_attach(&r, base, SEG_SIZE, &cause) != 0,
	    "an offset that overflows is refused");
	free(cause);

	layout(base);
	h->sec[MEMTOP_SEC_STACKS].count = UINT64_MAX / 2;
	ok(reader_attach(&r, base, SEG_SIZE, &cause) != 0,
	    "a count larger than its section is refused");
	free(cause);

	layout(base);
	h->sec[MEMTOP_SEC_STACK_AGGS].off += 8;
	ok(reader_attach(&r, base, SEG_SIZE, &cause) != 0,
	    "a misaligned section is refused");
	free(cause);

	for (i = 0; i < sizeof bad_rings / sizeof bad_rings[0]; i++) {
		layout(base);
		ring = (void *)((char *)base + h->sec[MEMTOP_SEC_RING].off);
		if (bad_rings[i].capacity != 0)
			ring->capacity = bad_rings[i].capacity;
		if (bad_rings[i].rings != 0)
			ring->rings = bad_rings[i].rings;
		ok(reader_attach(&r, base, SEG_SIZE, &cause) == 0 &&
		    r.ring_cap == 0 && reader_drain(&r, 10, NULL, NULL) == 0,
		    "%s are ignored", bad_rings[i].what);
	}

	for (i = 0; i < HEADER_ROUNDS; i++) {
		layout(base);
		pos = (size_t)(rng() % sizeof *h);
		if (rng() % 2)
			((char *)base)[pos] = (char)rng();
		else
			rng_fill((char *)base + (pos & ~(size_t)7), 8);
		if (rng() % 4 == 0)
			rng_fill(&h->sec, sizeof h->sec);
		if (reader_attach(&r, base, SEG_SIZE, &cause) != 0) {
			refused++;
			free(cause);
			continue;
		}
		accepted++;
		rng_fill((char *)base + 4096, 64 * 1024);
		sy = symbols_create(&r);
		model_init(&m, &r, sy, format_now_ns());
		run_everything(&r, &m, sink);
		model_free(&m);
		symbols_free(sy);
	}
	ok(1, "%u corrupted headers: %u refused, %u read safely", HEADER_ROUNDS,
	    refused, accepted);
}

/* Records that point just outside their sections are refused. */
static void
test_records(void *base)
{
	struct reader		 r;
	struct reader_stack	 s;
	struct reader_code	 c;
	struct reader_module	 mod;
	struct reader_live	 e[4];
	char			*cause;

	layout(base);
	if (reader_attach(&r, base, SEG_SIZE, &cause) != 0)
		tap_bail("valid layout refused");

	r.stacks[5].frame_idx = (uint32_t)r.nframes - 1;
	r.stacks[5].nframes = 2;
	r.stacks[5].flags = MEMTOP_STACK_READY;
	ok(reader_stack(&r, 5, &s) != 0, "a stack whose frames run past the end "
	    "is refused");
	r.stacks[6].frame_idx = (uint32_t)r.nframes - 2;
	r.stacks[6].nframes = 2;
	r.stacks[6].flags = MEMTOP_STACK_READY;
	ok(reader_stack(&r, 6, &s) == 0 && s.nframes == 2,
	    "a stack ending exactly at the end is read");
	r.stacks[7].nframes = 2;
	r.stacks[7].flags = 0;
	ok(reader_stack(&r, 7, &s) != 0, "a stack not yet ready is skipped");
	ok(reader_stack(&r, (uint32_t)r.nstacks, &s) != 0,
	    "a stack id past the table is refused");

	r.codes[3].file_off = (uint32_t)r.nstrings;
	r.codes[3].file_len = 1;
	r.codes[3].flags = MEMTOP_CODE_READY;
	ok(reader_code(&r, 3, &c) != 0, "a code name past the strings is refused");
	r.codes[4].name_off = UINT32_MAX;
	r.codes[4].name_len = UINT32_MAX;
	r.codes[4].flags = MEMTOP_CODE_READY;
	ok(reader_code(&r, 4, &c) != 0, "a code name that wraps is refused");
	ok(reader_code(&r, 0, &c) != 0, "code id 0 is refused");

	r.modules[1].path_off = (uint32_t)r.nstrings - 3;
	r.modules[1].path_len = 4;
	r.modules[1].flags = MEMTOP_MODULE_READY;
	r.glob->module_count = UINT32_MAX;
	ok(reader_module(&r, 1, &mod) != 0, "a module path past the strings is "
	    "refused");
	ok(reader_module_count(&r) == r.nmodules, "the module count is capped "
	    "at the table");

	r.shards[2].table = UINT64_MAX - 1;
	r.shards[2].capacity = 4;
	ok(reader_shard(&r, 2, e, 4) < 0, "a shard table that wraps is refused");
	r.shards[3].table = r.narena - 2;
	r.shards[3].capacity = 4;
	ok(reader_shard(&r, 3, e, 4) < 0, "a shard table past the arena is "
	    "refused");
	r.shards[4].seq = 1;
	r.shards[4].capacity = 0;
	ok(reader_shard(&r, 4, e, 4) < 0, "a shard being written (odd seq) is "
	    "not read");

	r.ring->head = UINT64_MAX / 3;
	ok(reader_drain(&r, 100000, NULL, NULL) == 0, "a ring head far ahead "
	    "with nothing published yields nothing");
}

/* Random contents behind a valid header, again and again. */
static void
test_random(void *base, FILE *sink)
{
	struct memtop_header	*h = base;
	struct reader		 r;
	struct symbols		*sy;
	struct model		 m;
	char			*cause;
	u_int			 i;

	layout(base);
	if (reader_attach(&r, base, SEG_SIZE, &cause) != 0)
		tap_bail("valid layout refused");
	sy = symbols_create(&r);
	model_init(&m, &r, sy, format_now_ns());
	for (i = 0; i < RANDOM_ROUNDS; i++) {
		rng_fill((char *)base + 4096, SEG_SIZE - 4096);
		/* The header's own fields the target writes. */
		rng_fill(&h->state, offsetof(struct memtop_header, reserved) -
		    offsetof(struct memtop_header, state));
		if (rng() % 3 == 0)
			plant_module(&r);
		run_everything(&r, &m, sink);
	}
	model_free(&m);
	symbols_free(sy);
	ok(1, "%u random segments read, modelled and reported", RANDOM_ROUNDS);
	diag("ring events drained: checksum %llu",
	    (unsigned long long)events_seen);
}

int
main(void)
{
	const char	*seed;
	void		*base;
	FILE		*sink;

	if ((seed = getenv("MEMTOP_TEST_SEED")) != NULL)
		rng_state = strtoull(seed, NULL, 0) | 1;
	tap_plan(26);
	diag("seed %#llx", (unsigned long long)rng_state);
	base = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		tap_bail("mmap");
	if ((sink = fopen("/dev/null", "w")) == NULL)
		tap_bail("/dev/null");

	test_headers(base, sink);
	test_records(base);
	test_random(base, sink);
	return (tap_done());
}
