/*
 * report-synth.c: the reader, symbols, model and report on a segment
 * filled by hand, with no tracker involved.
 *
 * The segment is the launcher's own (segment_create); this program writes
 * what a target would: its loaded modules (from dl_iterate_phdr, so this
 * PIE and its shared libraries are named through their load bias), stacks
 * made of its own return addresses (captured in functions whose names and
 * lines are known), Python code records (one with hostile strings),
 * synthetic frames, counters, aggregates with the peak_epoch rule, ring
 * events and a break.  Then it checks what the model and the symbols make
 * of it, writes the JSON report, and has python3 ($PYTHON3) parse it and
 * compare the escaped strings.
 */

#include "config.h"

/* The expected lines hold only without optimisation, whatever CFLAGS say. */
#pragma GCC optimize("O0")

#include <sys/types.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"
#include "tap.h"

static struct reader	 r;

/* The return address into the caller: a frame as the tracker records it. */
__attribute__((noinline)) static uint64_t
capture(void)
{
	return ((uint64_t)(uintptr_t)__builtin_return_address(0));
}

static int	line_a, line_b;

__attribute__((noinline)) static uint64_t
synth_site_a(void)
{
	uint64_t ip = capture(); line_a = __LINE__;
	return (ip);
}

__attribute__((noinline)) static uint64_t
synth_site_b(void)
{
	uint64_t ip = capture(); line_b = __LINE__;
	return (ip);
}

/* Put a string in the strings section; its offset. */
static uint32_t
put_string(const char *s, size_t len)
{
	uint64_t	off = r.glob->strings_used;

	memcpy((char *)r.strings + off, s, len);
	r.glob->strings_used += len;
	return ((uint32_t)off);
}

/* Record one loaded object, as the tracker does. */
static int
put_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct memtop_module	*m;
	char			 exe[PATH_MAX];
	const char		*path = info->dlpi_name;
	uint64_t		 lo = UINT64_MAX, hi = 0, a;
	ssize_t			 n;
	int			 i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		if (a < lo)
			lo = a;
		if (a + info->dlpi_phdr[i].p_memsz > hi)
			hi = a + info->dlpi_phdr[i].p_memsz;
	}
	if (path == NULL || *path == '\0') {
		if (r.glob->module_count != 0)
			return (0);	/* the vdso, unnamed */
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n <= 0)
			return (0);
		exe[n] = '\0';
		path = exe;
	}
	m = &r.modules[r.glob->module_count++];
	m->bias = info->dlpi_addr;
	m->start = lo;
	m->end = hi;
	m->path_len = (uint32_t)strlen(path);
	m->path_off = put_string(path, m->path_len);
	m->flags = MEMTOP_MODULE_READY |
	    (r.glob->module_count == 1 ? MEMTOP_MODULE_MAIN : 0);
	return (0);
}

/* Add a stack of frames; its id. */
static uint32_t
put_stack(const uint64_t *frames, uint16_t n)
{
	uint32_t	id = ++r.glob->stack_count;

	memcpy(r.frames + r.glob->frames_used, frames, n * sizeof *frames);
	r.stacks[id].frame_idx = (uint32_t)r.glob->frames_used;
	r.stacks[id].nframes = n;
	r.glob->frames_used += n;
	r.stacks[id].flags = MEMTOP_STACK_READY;
	return (id);
}

/* Add a Python code record; its id. */
static uint32_t
put_code(const char *file, const char *name, size_t name_len)
{
	uint32_t	id = ++r.glob->code_count;

	r.codes[id].file_len = (uint32_t)strlen(file);
	r.codes[id].file_off = put_string(file, strlen(file));
	r.codes[id].name_len = (uint32_t)name_len;
	r.codes[id].name_off = put_string(name, name_len);
	r.codes[id].firstlineno = 1;
	r.codes[id].flags = MEMTOP_CODE_READY;
	return (id);
}

/* Publish one ring event. */
static void
put_event(uint16_t type, uint32_t stack, int64_t bytes)
{
	uint64_t		 pos = r.ring->head++;
	struct memtop_event	*ev = (struct memtop_event *)(r.ring + 1) +
	    (pos & (r.ring_cap - 1));

	ev->time_ns = format_now_ns();
	ev->type = type;
	ev->stack = stack;
	ev->est_bytes = bytes;
	ev->seq = pos + 1;
}

int
main(void)
{
	static const char	 nasty[] = "we\"ird\\\n\x01\xff\xc3\xa9";
	struct segment_config	 cfg = { 0, 65536, 128 };
	struct segment		 seg;
	struct symbols		*sy;
	struct model		 m;
	struct model_stack	*top[8];
	const struct sym_frame	*f;
	struct options		 o;
	struct launch		 l;
	struct report		 rp;
	struct memtop_module	*foo;
	uint64_t		 frames[8], t0;
	uint32_t		 s1, s2, s3, code1, code2;
	char			*cause, path[] = "/tmp/memtop-synth.XXXXXX";
	char			 cmd[1024];
	const char		*py;
	void			*terminate, *cxx;
	FILE			*out;
	int			 fd;

	tap_plan(30);
	if (segment_create(&seg, &cfg, &cause) != 0)
		tap_bail(cause);
	if (reader_attach(&r, seg.base, seg.size, &cause) != 0)
		tap_bail(cause);
	ok(1, "the launcher's segment passes the reader's checks");

	/* What a target writes. */
	r.hdr->state = MEMTOP_ST_ATTACHED;
	r.hdr->generation = 1;
	r.hdr->python_state = MEMTOP_PY_ACTIVE;
	r.stacks[0].flags = MEMTOP_STACK_READY;	/* as the tracker does */
	strcpy(r.hdr->python_version, "3.11.2");
	/* The C++ runtime, for a C++ frame: loaded as in a C++ target. */
	cxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
	dl_iterate_phdr(put_module, NULL);
	foo = &r.modules[r.glob->module_count++];
	foo->bias = foo->start = UINT64_C(0x7e0000000000);
	foo->end = foo->start + 0x10000;
	foo->path_len = (uint32_t)strlen("/nonexistent/libfoo.so");
	foo->path_off = put_string("/nonexistent/libfoo.so", foo->path_len);
	foo->flags = MEMTOP_MODULE_READY;

	terminate = cxx != NULL ? dlsym(cxx, "_ZSt9terminatev") : NULL;
	frames[0] = synth_site_a();
	frames[1] = (uint64_t)(uintptr_t)&abort + 1;
	frames[2] = (uint64_t)(uintptr_t)terminate + 1;
	frames[3] = 0x10;
	frames[4] = foo->start + 0x1234;
	s1 = put_stack(frames, 5);
	code1 = put_code("/srv/app/train.py", "Loader.load_batch",
	    strlen("Loader.load_batch"));
	code2 = put_code("caf\xc3\xa9.py", nasty, sizeof nasty - 1);
	frames[0] = MEMTOP_FRAME_MAKE_PY(MEMTOP_CODE_SPECIAL,
	    MEMTOP_SPECIAL_PYMALLOC);
	frames[1] = MEMTOP_FRAME_MAKE_PY(code1, 42);
	frames[2] = MEMTOP_FRAME_MAKE_PY(code2, 7);
	frames[3] = synth_site_b();
	s2 = put_stack(frames, 4);
	frames[0] = MEMTOP_FRAME_MAKE_PY(MEMTOP_CODE_SPECIAL,
	    MEMTOP_SPECIAL_MMAP);
	frames[1] = MEMTOP_FRAME_MAKE_PY(999, 1);	/* never published */
	s3 = put_stack(frames, 2);

	r.threads[1].tid = 1234;
	r.threads[1].alloc_bytes = 1000;
	r.threads[1].free_bytes = 400;
	r.threads[1].alloc_count = 10;
	r.threads[0].map_bytes = 4096;
	r.threads[0].map_count = 1;
	r.threads[1].ring_drops = 5;
	r.ring->drops = 2;
	r.glob->peak_bytes = 9000;
	r.glob->peak_epoch = 5;
	/*
	 * s1 in two lanes (shm.h): the reader adds them up; a lane whose bit
	 * is clear in agg_lanes_used was never charged and is not read.
	 */
	r.glob->agg_lanes_used = 1 | 4;
	r.aggs[3 * r.nstacks + s1].live_bytes = (int64_t)1 << 40;
	r.aggs[3 * r.nstacks + s1].total_count = 1000 * MEMTOP_COUNT_ONE;
	r.aggs[s1].live_bytes = 60;
	r.aggs[s1].total_bytes = 200;
	r.aggs[s1].total_count = 2 * MEMTOP_COUNT_ONE;
	r.aggs[s1].peak_bytes = 150;
	r.aggs[s1].peak_epoch = 5;	/* changed since the peak */
	r.aggs[2 * r.nstacks + s1].live_bytes = 40;
	r.aggs[2 * r.nstacks + s1].total_bytes = 100;
	r.aggs[2 * r.nstacks + s1].total_count = 1 * MEMTOP_COUNT_ONE;
	r.aggs[2 * r.nstacks + s1].peak_bytes = 100;
	r.aggs[2 * r.nstacks + s1].peak_epoch = 5;
	r.aggs[s2].live_bytes = 80;
	r.aggs[s2].total_bytes = 80;
	r.aggs[s2].peak_bytes = 1 << 20;
	r.aggs[s2].peak_epoch = 4;	/* unchanged since: live is the peak */
	r.aggs[s3].total_bytes = 4096;
	put_event(MEMTOP_EV_ALLOC, s1, 100);
	put_event(MEMTOP_EV_ALLOC, s2, 80);
	put_event(MEMTOP_EV_FREE, s1, -100);
	r.ctl->break_bytes = 8000;
	r.ctl->break_seq = 1;
	r.ctl->break_stack = s1;
	r.ctl->break_allocated = 8100;
	r.ctl->break_hit_seq = 1;

	t0 = format_now_ns();
	sy = symbols_create(&r);
	model_init(&m, &r, sy, t0);
	model_update(&m, NULL, 0, t0 + 1000);

	is_int(m.totals.allocated, 1000 - 400 + 4096,
	    "allocated sums the thread slots, malloc and mmap");
	is_int(m.peak[MODEL_ALLOCATED], 9000, "the peak comes from the segment");
	is_uint(m.ready, 4, "every published stack is picked up (and stack 0)");
	is_uint(m.ev_allocs + m.ev_frees, 3, "ring events are drained");
	is_uint(m.glob.ring_drops, 7,
	    "event drops sum the ring's count and the thread slots'");
	ok(m.brk.hit && m.brk.stack == s1, "the break is seen");
	ok(model_sorted(&m, MODEL_SORT_PEAK, top, 8) == 3 && top[0]->id == s1 &&
	    top[0]->agg.peak_bytes == 250 && top[1]->id == s2 &&
	    top[1]->agg.peak_bytes == 80,
	    "bytes at peak follow the peak_epoch rule, sorted");

	f = model_frame(&m, m.stacks[s1], 0);
	ok(strcmp(f->function, "synth_site_a") == 0 && f->file != NULL &&
	    strcmp(strrchr(f->file, '/') + 1, "report-synth.c") == 0 &&
	    f->line == (uint32_t)line_a && f->kind == SYM_NATIVE,
	    "a return address in this PIE names its function, file and line");
	diag("got %s %s:%u, want synth_site_a line %d", f->function,
	    f->file ? f->file : "?", f->line, line_a);
	ok(f->module != NULL && strncmp(f->module, "report-synth", 12) == 0,
	    "its module is this program");
	f = model_frame(&m, m.stacks[s1], 1);
	ok(strcmp(f->function, "abort") == 0 && f->module != NULL &&
	    strncmp(f->module, "libc.so", 7) == 0,
	    "a libc address is named (%s in %s)", f->function,
	    f->module ? f->module : "?");
	f = model_frame(&m, m.stacks[s1], 2);
	ok(terminate != NULL && strcmp(f->function, "std::terminate()") == 0,
	    "C++ names are demangled (%s)", f->function);
	f = model_frame(&m, m.stacks[s1], 3);
	ok(strcmp(f->function, "[unknown]") == 0 && f->module == NULL &&
	    !f->resolved, "an address in no module is unknown");
	f = model_frame(&m, m.stacks[s1], 4);
	ok(strcmp(f->function, "libfoo.so+0x1234") == 0 &&
	    strcmp(f->module, "libfoo.so") == 0,
	    "an unreadable module gives module+offset (%s)", f->function);
	f = model_frame(&m, m.stacks[s2], 0);
	ok(strcmp(f->function, "[pymalloc arena]") == 0 &&
	    f->kind == SYM_SPECIAL, "the pymalloc special frame is named");
	f = model_frame(&m, m.stacks[s2], 1);
	ok(strcmp(f->function, "Loader.load_batch") == 0 &&
	    strcmp(f->file, "/srv/app/train.py") == 0 && f->line == 42 &&
	    f->kind == SYM_PYTHON, "a Python frame names its code and line");
	f = model_frame(&m, m.stacks[s2], 3);
	ok(strcmp(f->function, "synth_site_b") == 0 &&
	    f->line == (uint32_t)line_b, "native frames below Python ones too");
	f = model_frame(&m, m.stacks[s3], 0);
	ok(strcmp(f->function, "[mmap]") == 0, "the mmap special frame");
	f = model_frame(&m, m.stacks[s3], 1);
	ok(strcmp(f->function, "[python code 999]") == 0 && !f->resolved,
	    "a code id never published is named by its number");
	ok(symbols_resolve(sy, frames[1]) == f, "frames are cached");

	/* Publish the missing code: the frame is named on the next look. */
	r.glob->code_count = 999;
	r.codes[999].file_len = 4;
	r.codes[999].file_off = put_string("x.py", 4);
	r.codes[999].name_len = 4;
	r.codes[999].name_off = put_string("late", 4);
	r.codes[999].flags = MEMTOP_CODE_READY;
	f = model_frame(&m, m.stacks[s3], 1);
	ok(strcmp(f->function, "late") == 0, "a code published late is named "
	    "then");

	/* The JSON report, parsed by Python. */
	memset(&o, 0, sizeof o);
	memset(&l, 0, sizeof l);
	o.report = OPTIONS_REPORT_JSON;
	o.sample_bytes = 65536;
	o.top = 20;
	o.argc = 1;
	o.argv = (char *[]){ (char *)"synth\t\"x\"", NULL };
	l.pid = getpid();
	l.start_ns = t0;
	l.end_ns = t0 + 1500000000;
	rp.opts = &o;
	rp.launch = &l;
	rp.model = &m;
	rp.tracked = 1;
	if ((fd = mkstemp(path)) == -1 || (out = fdopen(fd, "w")) == NULL)
		tap_bail("mkstemp");
	ok(report_json(&rp, out) == 0 && fclose(out) == 0, "the JSON report "
	    "is written");

	if ((py = getenv("PYTHON3")) == NULL)
		py = "python3";
	snprintf(cmd, sizeof cmd, "%s -c '"
	    "import json, sys\n"
	    "r = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
	    "s = r[\"stacks\"]\n"
	    "fr = s[1][\"frames\"]\n"
	    "sys.exit(0 if r[\"command\"] == [\"synth\\t\\\"x\\\"\"] and "
	    "fr[2][\"function\"] == \"we\\\"ird\\\\\\n\\x01\\ufffd\\u00e9\" and "
	    "fr[2][\"file\"] == \"caf\\u00e9.py\" and fr[2][\"kind\"] == \"python\" and "
	    "fr[0][\"kind\"] == \"python\" and fr[0][\"file\"] is None and "
	    "s[0][\"frames\"][0][\"function\"] == \"synth_site_a\" and "
	    "s[0][\"peak_bytes\"] == 250 and s[0][\"allocations\"] == 3 and "
	    "s[2][\"frames\"][0][\"kind\"] == \"native\" and "
	    "r[\"peak\"][\"allocated\"] == 9000 and r[\"final\"][\"allocated\"] == 4696 and "
	    "r[\"duration_s\"] == 1.5 and r[\"break\"][\"stack\"] == %u "
	    "else 1)' %s", py, s1, path);
	ok(system(cmd) == 0, "python parses the JSON; strings with quotes, "
	    "control bytes, invalid and valid UTF-8 come back right");

	snprintf(cmd, sizeof cmd, "%s %s/tests/lib/checkjson.py %s 'schema()'",
	    py, getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".",
	    path);
	ok(system(cmd) == 0, "the report follows the documented schema");

	out = fopen(path, "w");
	o.report = OPTIONS_REPORT_TEXT;
	ok(out != NULL && report_text(&rp, out) == 0 && fclose(out) == 0,
	    "the text report is written");
	snprintf(cmd, sizeof cmd, "grep -q 'synth_site_a  .*report-synth.c:%d' "
	    "%s && grep -q 'Loader.load_batch  /srv/app/train.py:42' %s && "
	    "grep -q 'at peak 250 B' %s", line_a, path, path, path);
	ok(system(cmd) == 0, "the text report shows frames and bytes at peak");
	unlink(path);

	/* An exec: a new generation resets the stacks. */
	r.hdr->generation = 2;
	memset(r.stacks, 0, 16 * sizeof *r.stacks);
	r.glob->stack_count = 0;
	model_update(&m, NULL, 0, t0 + 2000);
	ok(m.ready == 0 && m.generations == 2, "a new generation starts afresh");

	/* The series keeps its memory fixed over a very long run. */
	{
		uint64_t	t, n = 0;
		struct procfs_status st = { .valid = 1, .vm_rss = 1 << 20 };

		for (t = 0; t < 20000; t++)
			model_update(&m, &st, 0, t0 + t * 1000000000ULL);
		n = m.series.nbuckets + m.series.recent_n;
		ok(n <= MODEL_RECENT + MODEL_BUCKETS && m.series.recent_n ==
		    MODEL_RECENT, "20000 polls fit the fixed series (%llu points "
		    "and buckets, %zu bytes)", (unsigned long long)n,
		    model_series_memory());
	}
	{
		uint64_t	t;
		struct procfs_status st = { .valid = 1, .vm_rss = 1 << 20 };

		for (t = 0; t < 3 * MODEL_BUCKETS; t++)
			model_update(&m, &st, 0, t0 + (20000 + t * 10) *
			    1000000000ULL);
		ok(m.series.nbuckets <= MODEL_BUCKETS && m.series.width_ns >
		    1000000000ULL, "old history is folded into wider buckets "
		    "(%u buckets of %llu s)", m.series.nbuckets,
		    (unsigned long long)(m.series.width_ns / 1000000000ULL));
	}

	model_free(&m);
	symbols_free(sy);
	segment_destroy(&seg);
	ok(1, "everything freed");
	return (tap_done());
}
