/*
 * report.c: the report printed when the target has exited, as text for a
 * person or as JSON for a program (docs/report-json.md documents every
 * field).  Both are built from the same model, in the same order: the run
 * (command, exit, duration, mode), the totals (peaks, final values,
 * counts, drops), then the top stacks by bytes live at the peak of
 * allocated memory, each with its frames innermost first.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

/* Frames printed per stack in the text report (JSON has them all). */
#define REPORT_TEXT_FRAMES	64

/* Seconds from the start of the run to t, or NaN when t is unknown. */
static double
report_time(struct report *rp, uint64_t t)
{
	uint64_t	start = rp->launch->start_ns;

	if (t == 0 || t < start)
		return (NAN);
	return ((double)(t - start) / 1e9);
}

/* A fixed-point count (x MEMTOP_COUNT_ONE) as a whole number of allocations. */
static int64_t
report_count(int64_t fixed)
{
	return ((int64_t)llround((double)fixed / MEMTOP_COUNT_ONE));
}

/* The name memtop gives a Python support state. */
static const char *
report_python_state(uint32_t state)
{
	switch (state) {
	case MEMTOP_PY_NONE:
		return ("none");
	case MEMTOP_PY_ACTIVE:
		return ("active");
	case MEMTOP_PY_UNSUPPORTED:
		return ("unsupported");
	case MEMTOP_PY_OFF:
		return ("off");
	}
	return ("unknown");
}

/* The frame kind as the JSON names it. */
static const char *
report_kind(const struct sym_frame *f)
{
	if (f->kind == SYM_PYTHON)
		return ("python");
	if (f->kind == SYM_SPECIAL && f->frame !=
	    MEMTOP_FRAME_MAKE_PY(MEMTOP_CODE_SPECIAL, MEMTOP_SPECIAL_MMAP))
		return ("python");
	return ("native");
}

/* The top stacks for the report, by bytes at peak; caller frees. */
static size_t
report_top(struct report *rp, struct model_stack ***out)
{
	struct model	*m = rp->model;
	size_t		 max;

	max = rp->opts->top == 0 ? m->ready : rp->opts->top;
	if (max == 0 || m->ready == 0) {
		*out = NULL;
		return (0);
	}
	*out = xreallocarray(NULL, max, sizeof **out);
	return (model_sorted(m, MODEL_SORT_PEAK, *out, max));
}

/* Number of stacks that ever held memory. */
static size_t
report_nonempty(struct model *m)
{
	struct model_stack	*st;
	size_t			 n = 0;
	uint32_t		 id;

	for (id = 0; id < m->nstacks; id++) {
		st = m->stacks[id];
		if (st != NULL && (st->agg.total_bytes != 0 ||
		    st->agg.live_bytes != 0 || st->agg.peak_bytes != 0))
			n++;
	}
	return (n);
}

/* Print "SIZE (EXACT bytes)". */
static void
report_text_size(FILE *f, int64_t v)
{
	char	a[FORMAT_SIZE_LEN], b[FORMAT_SIZE_LEN];

	if (v < 0) {
		fputs("unknown", f);
		return;
	}
	if (v < 1024)
		fprintf(f, "%s", format_size(a, sizeof a, v));
	else
		fprintf(f, "%s (%s bytes)", format_size(a, sizeof a, v),
		    format_bytes_exact(b, sizeof b, v));
}

/* Print " at T s" when the time is known. */
static void
report_text_when(FILE *f, double t)
{
	if (!isnan(t))
		fprintf(f, " at %.2f s", t);
}

/* Print one frame of a stack. */
static void
report_text_frame(FILE *f, const struct sym_frame *sf)
{
	fprintf(f, "      %s%s", sf->function, sf->outer != NULL ?
	    " (inlined)" : "");
	if (sf->file != NULL) {
		if (sf->line != 0)
			fprintf(f, "  %s:%u", sf->file, sf->line);
		else
			fprintf(f, "  %s", sf->file);
	}
	if (sf->kind == SYM_NATIVE) {
		if (sf->module != NULL)
			fprintf(f, "  %s", sf->module);
		if (!sf->resolved && sf->module == NULL)
			fprintf(f, "  %#" PRIx64, sf->frame);
	}
	fputc('\n', f);
}

/*
 * The last resident scan and what it explains of the kernel's anonymous
 * resident and swapped memory.
 */
static void
report_text_scan(struct report *rp, FILE *f)
{
	struct model_pages	*p = &rp->model->pages;
	char			 a[FORMAT_SIZE_LEN], b[FORMAT_SIZE_LEN];
	char			 c[FORMAT_SIZE_LEN], d[FORMAT_SIZE_LEN];

	if (!p->valid) {
		fprintf(f, "  resident by stack:  unknown (no scan of the "
		    "target's pages completed before it exited)\n");
		return;
	}
	fprintf(f, "  resident by stack:  from the last scan");
	report_text_when(f, report_time(rp, p->t_ns));
	fprintf(f, " (%" PRIu64 " pass%s, %s): of %s live in allocations, "
	    "%s resident, %s swapped, %s never touched\n", p->passes,
	    p->passes == 1 ? "" : "es", p->method,
	    format_size(a, sizeof a, p->live),
	    format_size(b, sizeof b, p->resident),
	    format_size(c, sizeof c, p->swapped),
	    format_size(d, sizeof d, p->untouched));
	if (p->rss_anon >= 0) {
		fprintf(f, "  anonymous RSS:      %s, of which allocations "
		    "explain %s; %s is not heap (allocator overhead and free "
		    "space, stacks, untracked mappings)\n",
		    format_size(a, sizeof a, p->rss_anon),
		    format_size(b, sizeof b, p->resident),
		    format_size(c, sizeof c, p->rss_anon > p->resident ?
		    p->rss_anon - p->resident : 0));
		fprintf(f, "  swap (VmSwap):      %s, of which allocations "
		    "explain %s\n", format_size(a, sizeof a, p->vm_swap),
		    format_size(b, sizeof b, p->swapped));
	}
}

/* A stack's resident, swapped and untouched bytes at the last scan. */
static void
report_text_pages(FILE *f, struct model_stack *st)
{
	char	a[FORMAT_SIZE_LEN], b[FORMAT_SIZE_LEN], c[FORMAT_SIZE_LEN];

	fprintf(f, "      at the last scan: resident %s, swapped %s, never "
	    "touched %s", format_size(a, sizeof a, st->resident),
	    format_size(b, sizeof b, st->swapped),
	    format_size(c, sizeof c, st->untouched));
	if (st->resident_max > st->resident || st->swapped_max > st->swapped)
		fprintf(f, " (most in one scan: resident %s, swapped %s)",
		    format_size(a, sizeof a, st->resident_max),
		    format_size(b, sizeof b, st->swapped_max));
	fputc('\n', f);
}

/* Write the text report. */
int
report_text(struct report *rp, FILE *f)
{
	struct options		 *o = rp->opts;
	struct launch		 *l = rp->launch;
	struct model		 *m = rp->model;
	struct reader_global	 *g = &m->glob;
	struct model_stack	**top, *st;
	size_t			  ntop, i, total;
	char			  a[FORMAT_SIZE_LEN], b[FORMAT_SIZE_LEN];
	char			  c[FORMAT_SIZE_LEN];
	const struct sym_frame	 *sf;
	int			  j, sig, printed;
	int64_t			  count;

	fprintf(f, "memtop report:");
	for (j = 0; j < o->argc; j++)
		fprintf(f, " %s", o->argv[j]);
	fputc('\n', f);

	if (WIFSIGNALED(l->status)) {
		sig = WTERMSIG(l->status);
		fprintf(f, "  exit:               killed by signal %d (%s)%s\n",
		    sig, strsignal(sig), WCOREDUMP(l->status) ?
		    ", core dumped" : "");
	} else
		fprintf(f, "  exit:               status %d\n",
		    launch_exit_code(l));
	fprintf(f, "  pid:                %ld\n", (long)l->pid);
	fprintf(f, "  duration:           %.2f s\n",
	    (double)(l->end_ns - l->start_ns) / 1e9);
	if (o->exact)
		fprintf(f, "  mode:               exact (every allocation)\n");
	else
		fprintf(f, "  mode:               sampled, one sample per %s "
		    "allocated on average\n", format_size(a, sizeof a,
		    (int64_t)o->sample_bytes));
	if (!rp->tracked) {
		fprintf(f, "  tracking:           none: %s\n",
		    l->untracked_why != NULL ? l->untracked_why :
		    "the tracking library was not loaded");
	} else if (g->state & MEMTOP_ST_DISABLED)
		fprintf(f, "  tracking:           stopped early: %s\n",
		    g->disabled_reason);
	if (m->generations > 1)
		fprintf(f, "  images:             %u (the program exec'd; "
		    "allocations are for the last)\n", m->generations);
	if (g->forks != 0 || g->descendants != 0) {
		fprintf(f, "  children:           not tracked (memtop follows "
		    "the process it starts):\n");
		if (g->forks != 0)
			fprintf(f, "                      %" PRIu64 " forked\n",
			    g->forks);
		if (g->descendants != 0)
			fprintf(f, "                      %u programs started "
			    "(first: %s, pid %d); for a shell, end the command "
			    "with exec PROGRAM\n", g->descendants,
			    *g->descendant_exe != '\0' ? g->descendant_exe :
			    "?", (int)g->descendant_pid);
	}
	if (g->python_state != MEMTOP_PY_NONE) {
		fprintf(f, "  python:             %s%s%s", g->python_version,
		    *g->python_version != '\0' ? ", " : "",
		    g->python_state == MEMTOP_PY_ACTIVE ? "frames recorded" :
		    report_python_state(g->python_state));
		if (*g->python_note != '\0')
			fprintf(f, " (%s)", g->python_note);
		fputc('\n', f);
	}
	if (g->stack_table_full + g->unwind_failures != 0)
		fprintf(f, "  unattributed:       %" PRIu64 " samples without "
		    "a stack (table full %" PRIu64 ", unwinding failed %"
		    PRIu64 ")\n", g->stack_table_full + g->unwind_failures,
		    g->stack_table_full, g->unwind_failures);
	if (g->live_table_full != 0)
		fprintf(f, "  live table full:    %" PRIu64 " samples not "
		    "kept\n", g->live_table_full);
	fputc('\n', f);

	fprintf(f, "  peak allocated:     ");
	report_text_size(f, rp->tracked ? m->peak[MODEL_ALLOCATED] : -1);
	report_text_when(f, report_time(rp, m->peak_ns[MODEL_ALLOCATED]));
	fprintf(f, "\n  allocated at exit:  ");
	report_text_size(f, rp->tracked ? m->cur[MODEL_ALLOCATED] : -1);
	fprintf(f, "\n  peak resident:      ");
	report_text_size(f, m->peak[MODEL_RESIDENT]);
	report_text_when(f, report_time(rp, m->peak_ns[MODEL_RESIDENT]));
	fprintf(f, "\n  peak swapped:       ");
	report_text_size(f, m->peak[MODEL_SWAPPED]);
	if (m->peak[MODEL_SWAPPED] > 0)
		report_text_when(f, report_time(rp, m->peak_ns[MODEL_SWAPPED]));
	fputc('\n', f);
	if (rp->tracked) {
		fprintf(f, "  allocations:        %s (frees %s",
		    format_bytes_exact(a, sizeof a,
		    (int64_t)m->totals.alloc_count),
		    format_bytes_exact(b, sizeof b,
		    (int64_t)m->totals.free_count));
		if (m->totals.map_count != 0 || m->totals.unmap_count != 0)
			fprintf(f, ", mmaps %s, munmaps %s",
			    format_bytes_exact(c, sizeof c,
			    (int64_t)m->totals.map_count),
			    format_bytes_exact(a, sizeof a,
			    (int64_t)m->totals.unmap_count));
		fprintf(f, ")\n");
	}
	if (rp->tracked)
		report_text_scan(rp, f);
	if (m->brk.hit) {
		fprintf(f, "  break:              allocated reached ");
		report_text_size(f, (int64_t)m->brk.allocated);
		report_text_when(f, report_time(rp, m->brk.t_ns));
		fprintf(f, " (threshold %s, stack %u)\n",
		    format_size(a, sizeof a, (int64_t)m->brk.bytes),
		    m->brk.stack);
	}

	if (!rp->tracked)
		return (ferror(f) ? -1 : 0);
	total = report_nonempty(m);
	ntop = report_top(rp, &top);
	fprintf(f, "\nTop %zu of %zu stacks by bytes live at the peak of "
	    "allocated memory%s:\n", ntop, total, o->exact ? "" :
	    " (estimated from samples)");
	for (i = 0; i < ntop; i++) {
		st = top[i];
		fprintf(f, "\n  #%zu  at peak ", i + 1);
		report_text_size(f, st->agg.peak_bytes);
		count = report_count((int64_t)st->agg.total_count);
		fprintf(f, "\n      live at exit %s, total allocated %s, "
		    "%s allocation%s\n",
		    format_size(a, sizeof a, st->agg.live_bytes),
		    format_size(b, sizeof b, (int64_t)st->agg.total_bytes),
		    format_bytes_exact(c, sizeof c, count), count == 1 ? "" : "s");
		if (m->pages.valid)
			report_text_pages(f, st);
		if (st->nframes == 0)
			fprintf(f, "      [no stack: %s]\n", st->id == 0 ?
			    "stack table full or unwinding failed" :
			    "no frames recorded");
		printed = 0;
		for (j = 0; j < st->nframes; j++) {
			sf = model_frame(m, st, (u_int)j);
			for (; sf != NULL; sf = sf->outer) {
				if (printed++ < REPORT_TEXT_FRAMES)
					report_text_frame(f, sf);
			}
		}
		if (printed > REPORT_TEXT_FRAMES)
			fprintf(f, "      ... %d more frames (see --report=json)\n",
			    printed - REPORT_TEXT_FRAMES);
		if (st->flags & MEMTOP_STACK_TRUNCATED)
			fprintf(f, "      ... (deeper frames were cut)\n");
	}
	free(top);
	return (ferror(f) ? -1 : 0);
}

/* Write a number of seconds, or null. */
static void
report_json_time(struct json *j, const char *key, double t)
{
	json_double(j, key, t, 3);
}

/* Write a byte value, or null when unknown (negative). */
static void
report_json_bytes(struct json *j, const char *key, int64_t v, int known)
{
	if (!known || v < 0)
		json_null(j, key);
	else
		json_int(j, key, v);
}

static void	report_json_frame(struct json *, const struct sym_frame *);

/* Write one stack. */
static void
report_json_stack(struct json *j, struct model *m, struct model_stack *st)
{
	const struct sym_frame	*sf;
	u_int			 i;

	json_object_begin(j, NULL);
	json_uint(j, "id", st->id);
	json_int(j, "peak_bytes", st->agg.peak_bytes);
	json_int(j, "peak_allocations", report_count(st->agg.peak_count));
	json_int(j, "live_bytes", st->agg.live_bytes);
	json_int(j, "live_allocations", report_count(st->agg.live_count));
	json_uint(j, "total_bytes", st->agg.total_bytes);
	json_int(j, "allocations", report_count((int64_t)st->agg.total_count));
	report_json_bytes(j, "resident_bytes", st->resident, m->pages.valid);
	report_json_bytes(j, "swapped_bytes", st->swapped, m->pages.valid);
	report_json_bytes(j, "untouched_bytes", st->untouched, m->pages.valid);
	report_json_bytes(j, "resident_max_bytes", st->resident_max,
	    m->pages.valid);
	report_json_bytes(j, "swapped_max_bytes", st->swapped_max,
	    m->pages.valid);
	json_bool(j, "truncated", (st->flags & MEMTOP_STACK_TRUNCATED) != 0);
	if (st->id == 0)
		json_string(j, "note", "samples without a stack of their own "
		    "(stack table full or unwinding failed)");
	json_array_begin(j, "frames");
	for (i = 0; i < st->nframes; i++) {
		sf = model_frame(m, st, i);
		for (; sf != NULL; sf = sf->outer)
			report_json_frame(j, sf);
	}
	json_array_end(j);
	json_object_end(j);
}

/* Write one frame. */
static void
report_json_frame(struct json *j, const struct sym_frame *sf)
{
	char	addr[32];

	json_object_begin(j, NULL);
	json_string(j, "function", sf->function);
	json_string(j, "file", sf->file);
	if (sf->line != 0)
		json_uint(j, "line", sf->line);
	else
		json_null(j, "line");
	json_string(j, "module", sf->module);
	json_string(j, "kind", report_kind(sf));
	if (sf->kind == SYM_NATIVE) {
		snprintf(addr, sizeof addr, "0x%" PRIx64, sf->frame);
		json_string(j, "address", addr);
	}
	json_bool(j, "inlined", sf->outer != NULL);
	json_object_end(j);
}

/* The last resident scan and the reconciliation with the kernel's numbers. */
static void
report_json_scan(struct report *rp, struct json *j)
{
	struct model_pages	*p = &rp->model->pages;
	int			 v = rp->tracked && p->valid;

	json_object_begin(j, "resident_scan");
	json_string(j, "method", rp->tracked && p->method != NULL ?
	    p->method : "none");
	json_uint(j, "passes", rp->tracked ? p->passes : 0);
	report_json_time(j, "time_s", v ? report_time(rp, p->t_ns) : NAN);
	report_json_time(j, "pass_s", v ? p->took_ns / 1e9 : NAN);
	report_json_time(j, "work_s", v ? p->cpu_ns / 1e9 : NAN);
	if (v) {
		json_uint(j, "polls", p->updates);
		json_uint(j, "pages", p->pages);
		json_uint(j, "allocations", p->allocations);
		json_uint(j, "skipped_shards", p->skipped);
	} else {
		json_null(j, "polls");
		json_null(j, "pages");
		json_null(j, "allocations");
		json_null(j, "skipped_shards");
	}
	report_json_bytes(j, "live_bytes", p->live, v);
	report_json_bytes(j, "resident_bytes", p->resident, v);
	report_json_bytes(j, "swapped_bytes", p->swapped, v);
	report_json_bytes(j, "untouched_bytes", p->untouched, v);
	report_json_bytes(j, "rss_anon", p->rss_anon, v);
	report_json_bytes(j, "rss_file", p->rss_file, v);
	report_json_bytes(j, "vm_swap", p->vm_swap, v);
	report_json_bytes(j, "rss_anon_not_heap", p->rss_anon > p->resident ?
	    p->rss_anon - p->resident : 0, v && p->rss_anon >= 0);
	report_json_bytes(j, "resident_max_bytes", p->resident_max, v);
	report_json_bytes(j, "swapped_max_bytes", p->swapped_max, v);
	json_object_end(j);
}

/* Write the JSON report. */
int
report_json(struct report *rp, FILE *f)
{
	struct options		 *o = rp->opts;
	struct launch		 *l = rp->launch;
	struct model		 *m = rp->model;
	struct reader_global	 *g = &m->glob;
	struct model_stack	**top;
	struct json		 *j;
	size_t			  ntop, i;
	int			  k, tracked = rp->tracked;

	j = json_create(f);
	json_object_begin(j, NULL);
	json_string(j, "memtop_version", PACKAGE_VERSION);
	json_array_begin(j, "command");
	for (k = 0; k < o->argc; k++)
		json_string(j, NULL, o->argv[k]);
	json_array_end(j);
	json_int(j, "pid", l->pid);
	json_int(j, "exit_status", launch_exit_code(l));
	if (WIFSIGNALED(l->status))
		json_int(j, "exit_signal", WTERMSIG(l->status));
	else
		json_null(j, "exit_signal");
	json_string(j, "mode", o->exact ? "exact" : "sampled");
	if (o->exact)
		json_null(j, "sample_bytes");
	else
		json_uint(j, "sample_bytes", o->sample_bytes);
	json_double(j, "duration_s", (double)(l->end_ns - l->start_ns) / 1e9, 3);
	json_bool(j, "tracked", tracked);
	if (!tracked)
		json_string(j, "untracked_reason", l->untracked_why != NULL ?
		    l->untracked_why : "the tracking library was not loaded");
	else
		json_null(j, "untracked_reason");
	if (g->state & MEMTOP_ST_DISABLED)
		json_string(j, "disabled_reason", g->disabled_reason);
	else
		json_null(j, "disabled_reason");
	json_uint(j, "images", m->generations);

	json_object_begin(j, "python");
	json_string(j, "state", report_python_state(g->python_state));
	json_string(j, "version", *g->python_version != '\0' ?
	    g->python_version : NULL);
	json_string(j, "note", *g->python_note != '\0' ? g->python_note : NULL);
	json_object_end(j);

	json_object_begin(j, "peak");
	report_json_bytes(j, "allocated", m->peak[MODEL_ALLOCATED], tracked);
	report_json_time(j, "time_s", tracked ?
	    report_time(rp, m->peak_ns[MODEL_ALLOCATED]) : NAN);
	report_json_bytes(j, "resident", m->peak[MODEL_RESIDENT], 1);
	report_json_time(j, "resident_time_s",
	    report_time(rp, m->peak_ns[MODEL_RESIDENT]));
	report_json_bytes(j, "swapped", m->peak[MODEL_SWAPPED], 1);
	report_json_time(j, "swapped_time_s",
	    report_time(rp, m->peak_ns[MODEL_SWAPPED]));
	json_object_end(j);

	json_object_begin(j, "final");
	report_json_bytes(j, "allocated", m->cur[MODEL_ALLOCATED], tracked);
	report_json_bytes(j, "resident", m->cur[MODEL_RESIDENT], 1);
	report_json_bytes(j, "swapped", m->cur[MODEL_SWAPPED], 1);
	json_object_end(j);

	json_object_begin(j, "counts");
	if (tracked) {
		json_uint(j, "allocations", m->totals.alloc_count);
		json_uint(j, "frees", m->totals.free_count);
		json_uint(j, "mmaps", m->totals.map_count);
		json_uint(j, "munmaps", m->totals.unmap_count);
		json_uint(j, "allocated_bytes", m->totals.alloc_bytes);
		json_uint(j, "freed_bytes", m->totals.free_bytes);
		json_uint(j, "mapped_bytes", m->totals.map_bytes);
		json_uint(j, "unmapped_bytes", m->totals.unmap_bytes);
		json_uint(j, "samples", m->totals.samples);
		json_uint(j, "sampled_frees", m->totals.sampled_frees);
		json_uint(j, "forks", g->forks);
	}
	json_object_end(j);

	json_object_begin(j, "children");
	json_uint(j, "forked", g->forks);
	json_uint(j, "programs", g->descendants);
	if (g->descendant_pid > 0) {
		json_int(j, "first_pid", g->descendant_pid);
		json_string(j, "first_program", g->descendant_exe);
	} else {
		json_null(j, "first_pid");
		json_null(j, "first_program");
	}
	json_object_end(j);

	json_object_begin(j, "drops");
	json_uint(j, "events", g->ring_drops);
	json_uint(j, "stack_table_full", g->stack_table_full);
	json_uint(j, "frames_truncated", g->frames_truncated);
	json_uint(j, "live_table_full", g->live_table_full);
	json_uint(j, "code_table_full", g->code_table_full);
	json_uint(j, "unwind_failures", g->unwind_failures);
	json_object_end(j);

	report_json_scan(rp, j);

	if (m->brk.hit) {
		json_object_begin(j, "break");
		json_uint(j, "threshold", m->brk.bytes);
		json_uint(j, "allocated", m->brk.allocated);
		json_uint(j, "size", m->brk.size);
		json_uint(j, "stack", m->brk.stack);
		json_int(j, "tid", m->brk.tid);
		report_json_time(j, "time_s", report_time(rp, m->brk.t_ns));
		json_object_end(j);
	} else
		json_null(j, "break");

	json_uint(j, "stacks_total", tracked ? report_nonempty(m) : 0);
	json_array_begin(j, "stacks");
	if (tracked) {
		ntop = report_top(rp, &top);
		for (i = 0; i < ntop; i++)
			report_json_stack(j, m, top[i]);
		free(top);
	}
	json_array_end(j);
	json_object_end(j);
	json_free(j);
	return (ferror(f) ? -1 : 0);
}

/* Write the report the options ask for. */
int
report_write(struct report *rp, FILE *f)
{
	int	r;

	if (rp->opts->report == OPTIONS_REPORT_JSON)
		r = report_json(rp, f);
	else
		r = report_text(rp, f);
	if (fflush(f) != 0)
		r = -1;
	return (r);
}
