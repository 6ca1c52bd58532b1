/*
 * tui.h: the private header of the memtop program, everything that runs
 * outside the target.  The pieces, and what each offers the others:
 *
 *   main.c     the command line, and the dispatch to a mode
 *   launch.c   creating the segment, starting the target, waiting for it
 *   reader.c   the only code that reads the shared segment: it checks every
 *              offset, index and count it finds there (a hostile target
 *              cannot crash memtop) and hands out private copies
 *   procfs.c   /proc/PID/status: resident and swapped memory
 *   symbols.c  native frames named with libdwfl, Python frames from the
 *              segment's code table, cached per frame
 *   model.c    what the views show: the time series (bounded memory), the
 *              current values and peaks, and the per-stack view
 *   pagemap.c  resident, swapped and untouched bytes per stack, from the
 *              target's page tables
 *   history.c  what every stack held at past moments, for the timeline
 *   report.c   the text and JSON reports
 *   json.c     a small JSON writer with correct string escaping
 *   format.c   sizes: parsing "128K", printing "1.5 MiB"
 *   log.c      the -v log file, fatal() and fatalx()
 *   xmalloc.c  allocation that never returns NULL
 *
 * The data side (reader, procfs, symbols, model) never uses curses: the
 * report and the live views both stand on it.
 */

#ifndef MEMTOP_TUI_H
#define MEMTOP_TUI_H

#include <sys/types.h>
#include <sys/resource.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "memtop/event.h"
#include "memtop/shm.h"

struct history;
struct json;
struct model;
struct pagemap;
struct reader;
struct symbols;

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef __printflike
#define __printflike(a, b) __attribute__((__format__(__printf__, a, b)))
#endif

/* Default mean bytes between samples, when neither --exact nor --sample-bytes. */
#define MEMTOP_DEFAULT_SAMPLE_BYTES	(256 * 1024)
/* Frames kept per stack by default (header.max_frames). */
#define MEMTOP_DEFAULT_MAX_FRAMES	128
/* Stacks shown in the report by default (--top). */
#define MEMTOP_DEFAULT_TOP		20

/* What the command line asked for; filled by main.c, read by everyone. */
struct options {
	int		 report;	/* OPTIONS_REPORT_* */
#define OPTIONS_REPORT_NONE	0
#define OPTIONS_REPORT_TEXT	1
#define OPTIONS_REPORT_JSON	2
	const char	*output;	/* -o FILE, or NULL for stdout */
	int		 exact;
	uint64_t	 sample_bytes;	/* mean; ignored when exact */
	u_int		 top;		/* stacks in the report, 0 = all */
	uint64_t	 break_at;	/* bytes, 0 = no break */
	u_int		 delay;		/* TUI refresh, tenths of a second */
	int		 exit_with_target;
	int		 python_allocators;
	int		 pymalloc;	/* OPTIONS_PYMALLOC_* */
#define OPTIONS_PYMALLOC_DEFAULT 0
#define OPTIONS_PYMALLOC_OFF	1
#define OPTIONS_PYMALLOC_ON	2
	int		 no_python;
	int		 verbose;
	u_int		 max_frames;
	const char	*stdin_path;	/* --stdin FILE: the target's stdin */
	const char	*capture;	/* --capture FILE: the target's output */

	int		 argc;		/* the command */
	char	       **argv;
};

/* log.c */
void	 log_open(const char *);
void	 log_close(void);
int	 log_enabled(void);
void	 log_debug(const char *, ...) __printflike(1, 2);
void	 fatal_set_cleanup(void (*)(void));
__dead void fatal(const char *, ...) __printflike(1, 2);
__dead void fatalx(const char *, ...) __printflike(1, 2);

/* xmalloc.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __printflike(2, 3);
int	 xvasprintf(char **, const char *, va_list) __printflike(2, 0);
int	 xsnprintf(char *, size_t, const char *, ...) __printflike(3, 4);

/* format.c */
#define FORMAT_SIZE_LEN	32
int	 format_parse_size(const char *, uint64_t *, const char **);
const char *format_size(char *, size_t, int64_t);
const char *format_bytes_exact(char *, size_t, int64_t);
uint64_t format_now_ns(void);

/*
 * launch.c: the segment and the target.
 *
 * A segment is created by segment_create, filled with the layout and the
 * configuration, sealed against shrinking, and mapped; the reader then
 * opens the same memory.  launch_start starts the command; launch_poll
 * waits up to a timeout for something to happen to it.
 */
struct segment_config {
	uint32_t	 config;	/* MEMTOP_CFG_* */
	uint64_t	 sample_mean;	/* 0 = exact */
	uint32_t	 max_frames;
};
struct segment {
	int		 fd;
	void		*base;
	uint64_t	 size;
};
int	 segment_create(struct segment *, const struct segment_config *,
	     char **);
void	 segment_destroy(struct segment *);
void	 launch_segment(const struct options *, struct segment *,
	     struct reader *, int);
uint64_t segment_resident(struct segment *);

/* Why a target cannot be tracked, found before it starts. */
#define LAUNCH_UNTRACKED_STATIC	1
#define LAUNCH_UNTRACKED_SETID	2

struct launch {
	const char	*library;	/* path of libmemtop.so */
	char		*path;		/* resolved command */
	int		 untracked;	/* LAUNCH_UNTRACKED_*, or 0 */
	char		*untracked_why;
	pid_t		 pid;
	uint64_t	 start_ns;
	uint64_t	 end_ns;
	int		 exited;	/* the target is gone */
	int		 status;	/* wait status once exited */
	struct rusage	 rusage;	/* from wait4 once exited */
	int		 stopped;	/* stopped now (SIGSTOP, break) */
	int		 stop_signal;
	int		 sigfd;		/* signalfd: CHLD, TERM, HUP */
	int		 forwarded;	/* last signal forwarded, or 0 */
	int		 redirect;	/* give the target in_fd and out_fd, in
					   a session of its own (live view) */
	int		 in_fd;		/* its stdin */
	int		 out_fd;	/* its stdout and stderr */
};
int	 launch_find_library(const char *, char **, char **);
int	 launch_resolve(struct launch *, const char *, char **);
int	 launch_start(struct launch *, struct segment *, struct options *,
	     char **);
#define LAUNCH_EVENT_TIMEOUT	0
#define LAUNCH_EVENT_EXITED	1
#define LAUNCH_EVENT_STOPPED	2
#define LAUNCH_EVENT_CONTINUED	3
#define LAUNCH_EVENT_SIGNAL	4
int	 launch_poll(struct launch *, int);
int	 launch_exit_code(struct launch *);
int	 launch_resume(struct launch *);
void	 launch_free(struct launch *);

/*
 * reader.c: the segment, read without trusting it.  The section table is
 * checked and copied once at open; every later read bounds-checks what it
 * reads against that private copy.
 */
struct reader_totals {
	uint64_t	 alloc_bytes;	/* malloc family, usable bytes */
	uint64_t	 free_bytes;
	uint64_t	 alloc_count;
	uint64_t	 free_count;
	uint64_t	 map_bytes;	/* anonymous mmap */
	uint64_t	 unmap_bytes;
	uint64_t	 map_count;
	uint64_t	 unmap_count;
	uint64_t	 samples;
	uint64_t	 sampled_frees;
	int64_t		 allocated;	/* live: malloc + mmap */
	u_int		 threads;	/* slots with an owner now */
};
struct reader_global {
	uint32_t	 state;		/* MEMTOP_ST_* */
	uint32_t	 generation;
	uint64_t	 attach_ns;
	uint64_t	 forks;
	uint32_t	 descendants;	/* untracked programs in children */
	int32_t		 descendant_pid;	/* the first, or 0 */
	char		 descendant_exe[64];
	char		 disabled_reason[160];
	uint32_t	 python_state;	/* MEMTOP_PY_* */
	char		 python_version[32];
	char		 python_note[128];

	int64_t		 flushed_live;
	int64_t		 peak_bytes;
	uint64_t	 peak_ns;
	uint64_t	 peak_epoch;
	uint32_t	 stack_count;	/* ids handed out, capped */
	uint32_t	 code_count;
	uint32_t	 module_count;
	uint64_t	 stack_table_full;
	uint64_t	 frames_truncated;
	uint64_t	 live_table_full;
	uint64_t	 code_table_full;
	uint64_t	 unwind_failures;
	uint64_t	 ring_drops;
};
struct reader_stack {
	uint32_t	 id;
	uint16_t	 nframes;
	uint16_t	 flags;		/* MEMTOP_STACK_* */
	uint32_t	 hash;
	const uint64_t	*frames;	/* inside the segment, bounds checked */
};
struct reader_agg {
	int64_t		 live_bytes;
	int64_t		 live_count;	/* x MEMTOP_COUNT_ONE */
	uint64_t	 total_bytes;
	uint64_t	 total_count;	/* x MEMTOP_COUNT_ONE */
	int64_t		 peak_bytes;	/* at the last global peak */
	int64_t		 peak_count;	/* x MEMTOP_COUNT_ONE */
};
struct reader_code {
	const char	*file;		/* not NUL-terminated */
	size_t		 file_len;
	const char	*name;
	size_t		 name_len;
	int32_t		 firstlineno;
};
struct reader_module {
	uint64_t	 bias;
	uint64_t	 start;
	uint64_t	 end;
	const char	*path;		/* not NUL-terminated */
	size_t		 path_len;
	uint32_t	 flags;		/* MEMTOP_MODULE_* */
};
struct reader_control {
	uint64_t	 break_bytes;
	uint32_t	 break_seq;
	int		 hit;		/* break_hit_seq == break_seq != 0 */
	int32_t		 break_tid;
	uint32_t	 break_stack;
	uint64_t	 break_addr;
	uint64_t	 break_size;
	uint64_t	 break_allocated;
	uint64_t	 break_ns;
};
struct reader {
	void		*base;
	uint64_t	 size;
	int		 owned;		/* reader_close unmaps */

	struct memtop_header *hdr;
	struct memtop_thread_slot *threads;
	uint64_t	 nthreads;
	struct memtop_global *glob;
	struct memtop_control *ctl;
	struct memtop_stack *stacks;
	struct memtop_stack_agg *aggs;
	uint64_t	 nstacks;	/* capacity of both (per lane) */
	uint64_t	 agg_lanes;	/* lanes of aggs, shm.h; 0 is 1 */
	uint64_t	*frames;
	uint64_t	 nframes;
	struct memtop_code *codes;
	uint64_t	 ncodes;
	struct memtop_module *modules;
	uint64_t	 nmodules;
	const char	*strings;
	uint64_t	 nstrings;
	struct memtop_live_shard *shards;
	uint64_t	 nshards;
	struct memtop_live_entry *arena;
	uint64_t	 narena;
	uint64_t	 sample_mean;	/* the header's, read once; 0 = exact */
	struct memtop_ring_header *ring;	/* the first ring (event.h) */
	uint64_t	 ring_cap;	/* records a ring, 0 when off */
	uint64_t	 nrings;
	uint64_t	 ring_stride;	/* bytes from a ring to the next */
	struct reader_ring {
		uint64_t tail;		/* private copy of the tail */
		uint64_t stuck_pos;	/* tail position found unpublished */
		uint64_t stuck_head;	/* head when it was first found so */
	}		 rings[MEMTOP_RINGS_MAX];
	uint64_t	 ring_skipped;	/* records given up on */
};
int	 reader_attach(struct reader *, void *, uint64_t, char **);
int	 reader_open(struct reader *, int, char **);
void	 reader_close(struct reader *);
void	 reader_reset(struct reader *);
void	 reader_totals(struct reader *, struct reader_totals *);
void	 reader_global(struct reader *, struct reader_global *);
void	 reader_control(struct reader *, struct reader_control *);
void	 reader_arm_break(struct reader *, uint64_t);
int	 reader_stack(struct reader *, uint32_t, struct reader_stack *);
void	 reader_agg(struct reader *, uint32_t, uint64_t, struct reader_agg *);
int	 reader_code(struct reader *, uint32_t, struct reader_code *);
uint32_t reader_module_count(struct reader *);
int	 reader_module(struct reader *, uint32_t, struct reader_module *);
typedef void (*reader_event_cb)(const struct memtop_event *, void *);
size_t	 reader_drain(struct reader *, size_t, reader_event_cb, void *);
/* A live entry as reader_shard copies it: unpacked, with its weight. */
struct reader_live {
	uint64_t	 addr;
	uint64_t	 size;		/* usable bytes */
	double		 weight;	/* memtop_sample_weight(size, mean) */
	uint32_t	 stack;
	uint32_t	 flags;		/* MEMTOP_LIVE_* */
};
ssize_t	 reader_shard(struct reader *, uint64_t, struct reader_live *,
	     size_t);

/* procfs.c: what the kernel says about the target. */
struct procfs_status {
	int		 valid;
	uint64_t	 vm_rss;	/* bytes */
	uint64_t	 vm_hwm;
	uint64_t	 vm_swap;
	uint64_t	 rss_anon;
	uint64_t	 rss_file;
	uint64_t	 rss_shmem;
	char		 state;		/* R, S, T, Z, ... */
};
int	 procfs_read_status(pid_t, struct procfs_status *);

/*
 * symbols.c: frames to names.  A sym_frame is owned by the cache and lives
 * as long as the symbols object (or until symbols_reset).
 */
#define SYM_NATIVE	0
#define SYM_PYTHON	1
#define SYM_SPECIAL	2
struct sym_frame {
	uint64_t	 frame;		/* the raw frame value */
	int		 kind;		/* SYM_* */
	const char	*function;	/* never NULL */
	const char	*file;		/* NULL when unknown */
	uint32_t	 line;		/* 0 when unknown */
	const char	*module;	/* basename; NULL when unknown */
	uint64_t	 offset;	/* native: address in the module file */
	int		 resolved;	/* a function name was found */
	/*
	 * When the compiler inlined this function into another, the frame
	 * of that other function at the line of the inlined call, and so on
	 * out to the real function; NULL for a function not inlined.  A
	 * native frame thus stands for 1 + the length of this chain.
	 */
	const struct sym_frame *outer;
};
struct symbols *symbols_create(struct reader *);
void	 symbols_free(struct symbols *);
void	 symbols_reset(struct symbols *);
void	 symbols_update(struct symbols *);
const struct sym_frame *symbols_resolve(struct symbols *, uint64_t);
int	 symbols_check_file(const char *, uint64_t *, uint64_t *, char *,
	     size_t);

/*
 * model.c: the data the views show.
 *
 * The time series keeps every poll for the last MODEL_RECENT polls, and
 * older history in MODEL_BUCKETS buckets of min/max/last that double in
 * width when they fill, so its memory is fixed whatever the run's length.
 */
#define MODEL_ALLOCATED	0
#define MODEL_RESIDENT	1
#define MODEL_SWAPPED	2
#define MODEL_NSERIES	3
#define MODEL_RECENT	6000		/* ten minutes at ten polls a second */
#define MODEL_BUCKETS	8192
#define MODEL_GROWTH_SLOTS 8		/* seconds of per-stack history */
#define MODEL_GROWTH_WINDOW 5		/* growth is over this many seconds */

struct model_point {
	uint64_t	 t_ns;		/* CLOCK_MONOTONIC */
	int64_t		 v[MODEL_NSERIES];	/* -1 = unknown */
};
struct model_bucket {
	uint64_t	 t0_ns;		/* first point in the bucket */
	uint64_t	 t1_ns;		/* last point */
	int64_t		 min[MODEL_NSERIES];
	int64_t		 max[MODEL_NSERIES];
	int64_t		 last[MODEL_NSERIES];
};
struct model_series {
	struct model_point *recent;	/* ring of MODEL_RECENT */
	u_int		 recent_first;
	u_int		 recent_n;
	struct model_bucket *buckets;	/* MODEL_BUCKETS, oldest first */
	u_int		 nbuckets;
	uint64_t	 width_ns;	/* of a bucket; doubles */
};

#define MODEL_SORT_LIVE		0
#define MODEL_SORT_PEAK		1
#define MODEL_SORT_TOTAL	2
#define MODEL_SORT_COUNT	3	/* live allocations */
#define MODEL_SORT_ALLOCS	4	/* allocations ever */
#define MODEL_SORT_GROWTH	5
#define MODEL_SORT_RESIDENT	6	/* from pagemap.c's last pass */
#define MODEL_SORT_SWAPPED	7

struct model_stack {
	uint32_t	 id;
	uint16_t	 nframes;
	uint16_t	 flags;		/* MEMTOP_STACK_* */
	uint64_t	*frames;	/* private copy, innermost first (after the record) */
	const struct sym_frame **sym;	/* resolved lazily, see model_frame */
	struct reader_agg agg;
	int64_t		 growth;	/* live bytes over MODEL_GROWTH_WINDOW s */
	int64_t		 hist[MODEL_GROWTH_SLOTS];	/* live, one per second */

	/* Estimated bytes, from pagemap.c's last complete pass. */
	int64_t		 resident;	/* in RAM */
	int64_t		 swapped;	/* in swap */
	int64_t		 untouched;	/* allocated, never touched */
	int64_t		 resident_max;	/* the most seen in one pass */
	int64_t		 swapped_max;
};
struct model_break {
	int		 hit;
	uint64_t	 bytes;		/* the threshold */
	int32_t		 tid;
	uint32_t	 stack;
	uint64_t	 addr;
	uint64_t	 size;
	uint64_t	 allocated;
	uint64_t	 t_ns;
};
/*
 * What pagemap.c's last complete pass over the live allocations found
 * (valid once a pass completed).  Bytes are estimates from the samples,
 * exact in exact mode; the kernel's numbers are from the same moment, -1
 * when unknown.
 */
struct model_pages {
	int		 valid;
	const char	*method;	/* "PAGEMAP_SCAN", "pread" or "none" */
	uint64_t	 passes;	/* complete passes */
	uint64_t	 t_ns;		/* when the last one ended */
	uint64_t	 took_ns;	/* from its start to its end */
	uint64_t	 cpu_ns;	/* memtop's CPU time in it */
	uint64_t	 updates;	/* polls it spanned */
	uint64_t	 pages;		/* pages asked of the kernel */
	uint64_t	 calls;		/* ioctl or pread calls */
	uint64_t	 allocations;	/* live allocations seen */
	uint64_t	 skipped;	/* live shards not read (always busy) */
	int64_t		 live;		/* bytes of those allocations */
	int64_t		 resident;	/* of them, in RAM */
	int64_t		 swapped;	/* in swap */
	int64_t		 untouched;	/* on pages never touched */
	int64_t		 resident_max;	/* the most in one pass */
	int64_t		 swapped_max;
	int64_t		 rss_anon;	/* the kernel's RssAnon, same moment */
	int64_t		 rss_file;	/* RssFile */
	int64_t		 vm_swap;	/* VmSwap */
};
struct model {
	struct reader	*reader;
	struct symbols	*symbols;
	uint64_t	 start_ns;	/* the run's time zero */
	uint64_t	 now_ns;	/* last update */
	uint32_t	 generation;
	u_int		 generations;	/* images seen (an exec adds one) */
	int		 attached;	/* the library ever attached */

	struct reader_totals totals;
	struct reader_global glob;

	int64_t		 cur[MODEL_NSERIES];	/* -1 = unknown */
	int64_t		 peak[MODEL_NSERIES];
	uint64_t	 peak_ns[MODEL_NSERIES];
	struct procfs_status status;	/* last read */
	uint64_t	 segment_resident;

	struct model_series series;

	struct model_stack **stacks;	/* by id, NULL until ready */
	struct model_block *blocks;	/* where the stack records live */
	uint32_t	 nstacks;	/* slots in stacks[] */
	uint32_t	 ready;		/* stacks ready so far */
	uint32_t	 scan_from;	/* lowest id not yet picked up */
	uint64_t	 tick;		/* seconds since start, for growth */
	u_int		 stacks_duty;	/* per-stack work: 1/duty of the time */
	uint64_t	 stacks_next_ns; /* per-stack work not before then */
	uint64_t	 stacks_cost_ns; /* what the last round of it took */
	uint64_t	 polls;		/* model_update calls */
	uint64_t	 stacks_rounds;	/* of them, with the stacks read */

	uint64_t	 ev_allocs;	/* ring events read */
	uint64_t	 ev_frees;
	uint64_t	 ev_breaks;
	struct model_break brk;

	reader_event_cb	 event_cb;	/* for the views, may be NULL */
	void		*event_arg;

	struct pagemap	*pagemap;	/* resident per stack, may be NULL */
	struct model_pages pages;
	struct history	*history;	/* the timeline, may be NULL */
};
void	 model_init(struct model *, struct reader *, struct symbols *,
	     uint64_t);
void	 model_free(struct model *);
void	 model_update(struct model *, const struct procfs_status *,
	     uint64_t, uint64_t);
void	 model_final(struct model *, const struct rusage *, uint64_t);
const struct sym_frame *model_frame(struct model *, struct model_stack *,
	     u_int);
size_t	 model_sorted(struct model *, int, struct model_stack **, size_t);
int64_t	 model_sort_value(struct model *, const struct model_stack *, int);
typedef void (*model_point_cb)(uint64_t, const int64_t *, const int64_t *,
	     const int64_t *, void *);
void	 model_series_walk(struct model *, uint64_t, uint64_t,
	     model_point_cb, void *);
size_t	 model_series_memory(void);

/*
 * pagemap.c: resident, swapped and untouched bytes per stack, from the
 * target's page tables, a pass at a time, within a time budget per poll.
 * model_update() drives it once pagemap_create() has been called; the
 * report mode gives it more time per poll than the live view, which must
 * answer keys.
 */
#define PAGEMAP_LIVE_BUDGET_NS		UINT64_C(4000000)	/* 4 ms a poll */
#define PAGEMAP_LIVE_INTERVAL_NS	UINT64_C(100000000)	/* at most a poll */
#define PAGEMAP_REPORT_BUDGET_NS	UINT64_C(20000000)	/* 20 ms a poll */
#define PAGEMAP_REPORT_INTERVAL_NS	0			/* back to back */
struct pagemap *pagemap_create(struct model *, pid_t, uint64_t, uint64_t);
void	 pagemap_free(struct pagemap *);
void	 pagemap_update(struct pagemap *, uint64_t);

/*
 * history.c: every stack's live, resident and swapped bytes over the run,
 * in bounded memory, and the moment the table and tree show: now, the
 * peak of allocated memory, a past moment, or the change between two.
 * model_update() records a frame per poll once history_create() has been
 * called; model_sort_value() answers from the moment chosen.
 */
#define HISTORY_NOW	0
#define HISTORY_PEAK	1
#define HISTORY_AT	2
#define HISTORY_DIFF	3
struct history *history_create(struct model *);
void	 history_free(struct history *);
void	 history_record(struct history *, uint64_t);
void	 history_moment(struct history *, int, uint64_t, uint64_t);
int	 history_kind(struct history *, uint64_t *, uint64_t *);
int64_t	 history_value(struct history *, const struct model_stack *, int);
int64_t	 history_allocated(struct history *, uint64_t *);
uint64_t history_state_ns(struct history *, uint64_t *);
size_t	 history_memory(struct history *);
void	 history_stats(struct history *, u_int *, u_int *, uint64_t *);

/* report.c */
struct report {
	struct options	*opts;
	struct launch	*launch;
	struct model	*model;
	int		 tracked;	/* the library attached at some point */
};
int	 report_write(struct report *, FILE *);
int	 report_text(struct report *, FILE *);
int	 report_json(struct report *, FILE *);

/* json.c */
struct json *json_create(FILE *);
void	 json_free(struct json *);
void	 json_object_begin(struct json *, const char *);
void	 json_object_end(struct json *);
void	 json_array_begin(struct json *, const char *);
void	 json_array_end(struct json *);
void	 json_string(struct json *, const char *, const char *);
void	 json_string_len(struct json *, const char *, const char *, size_t);
void	 json_int(struct json *, const char *, int64_t);
void	 json_uint(struct json *, const char *, uint64_t);
void	 json_double(struct json *, const char *, double, int);
void	 json_bool(struct json *, const char *, int);
void	 json_null(struct json *, const char *);
void	 json_escape(FILE *, const char *, size_t);

/* main.c */
extern struct options options;
int	 main_report(struct options *);

/*
 * The live view: ui.c and the views.
 *
 * ui.c owns the terminal (all curses setup and teardown), the one loop that
 * owns time (poll on the terminal, the launcher's signalfd and a timer; the
 * model is updated on the refresh tick), the key table that drives the
 * dispatch, the help screen, the function-key bar and the man page's key
 * list, and the dialogs.  The screen is a header, a chart, a main area
 * where one view draws (with an optional detail pane under it) and the
 * function-key bar.
 *
 * A view is a table of functions (struct view).  Views read the model on
 * update (never while the screen is frozen), keep what they show in their
 * own snapshot, and draw only from it.  They never read the segment.
 * Adding a view: write its functions, add a UI_VIEW_* bit and an entry in
 * ui.c's view list, and keys for it in ui.c's key table.  Adding a column:
 * an entry in table.c's column table.  Nothing here includes curses.
 */
struct chart;
struct logview;
struct table;
struct tree;
struct ui;

/* The smallest screen memtop draws on. */
#define UI_MIN_COLS	60
#define UI_MIN_LINES	16

/* Values kept per stack by the table and tree: one per MODEL_SORT_* key. */
#define UI_NSORT	(MODEL_SORT_SWAPPED + 1)

/* A rectangle of the screen. */
struct ui_rect {
	int		 y;
	int		 x;
	int		 h;
	int		 w;
};

/* What a key handler or a view asks for next, or'ed together. */
#define UI_DRAW_HEADER	0x1
#define UI_DRAW_CHART	0x2
#define UI_DRAW_MAIN	0x4
#define UI_DRAW_BAR	0x8
#define UI_DRAW_ALL	0xf
#define UI_LAYOUT	0x10	/* lay the screen out again, draw all */
#define UI_QUIT		0x20	/* leave the loop */

/* The views; a key table entry applies in the views of its mask. */
#define UI_VIEW_TABLE	0x1
#define UI_VIEW_TREE	0x2
#define UI_VIEW_STACK	0x4	/* every frame of one stack */
#define UI_VIEW_LOG	0x8
#define UI_VIEW_HELP	0x10
#define UI_VIEW_STACKS	(UI_VIEW_TABLE|UI_VIEW_TREE)
#define UI_VIEW_LISTS	(UI_VIEW_TABLE|UI_VIEW_TREE|UI_VIEW_STACK|UI_VIEW_LOG|UI_VIEW_HELP)
#define UI_VIEW_ANY	0xffff

/* Cursor moves (view->cursor). */
#define UI_MOVE_LINE	0	/* by n lines, negative is up */
#define UI_MOVE_PAGE	1	/* by n pages */
#define UI_MOVE_HOME	2
#define UI_MOVE_END	3
#define UI_MOVE_ROW	4	/* to row n of the view's rectangle (a click) */
#define UI_MOVE_SCROLL	5	/* scroll by n lines (the mouse wheel) */

struct view {
	const char	*name;		/* in the help screen */
	u_int		 id;		/* UI_VIEW_* */
	void		 (*init)(struct ui *);
	void		 (*free)(struct ui *);
	void		 (*update)(struct ui *);	/* the model changed */
	void		 (*draw)(struct ui *, const struct ui_rect *);
	void		 (*detail)(struct ui *, const struct ui_rect *);
	int		 (*cursor)(struct ui *, int, int);	/* UI_MOVE_* */
	int		 (*click)(struct ui *, int, int);	/* y, x in rect */
	int		 (*search)(struct ui *, const char *, int);
	int		 (*select)(struct ui *, uint32_t);	/* a stack id */
};

/*
 * The key table (ui.c): one entry per key and view mask.  It drives the
 * dispatch, the help screen, the function-key bar (entries with a label)
 * and the man page's key list (checked by a test).
 */
struct ui_key {
	int		 key;		/* curses key code */
	const char	*name;		/* as help shows it: "F10", "q" */
	u_int		 views;		/* UI_VIEW_* where it applies */
	int		 (*handler)(struct ui *, int);	/* returns UI_* bits */
	const char	*help;		/* one line */
	const char	*bar;		/* function-key bar label, or NULL */
};

/* What the header shows; held still while the screen is frozen. */
struct ui_snap {
	uint64_t	 now_ns;
	int64_t		 cur[MODEL_NSERIES];
	int64_t		 peak[MODEL_NSERIES];
	uint64_t	 peak_ns[MODEL_NSERIES];
	struct reader_totals totals;
	uint64_t	 drops;		/* samples without their stack, or not kept */
	uint32_t	 stacks;
	struct model_pages pages;	/* the last scan of the pages */
};

struct ui {
	struct options	*opts;
	struct launch	*launch;
	struct segment	*segment;
	struct reader	*reader;
	struct model	*model;
	int		 tracked;	/* the library can be loaded */

	int		 utf8;		/* braille and line characters */
	int		 color;		/* the terminal has colours */
	int		 sx;		/* screen size */
	int		 sy;
	int		 small;		/* too small: only a message */

	u_int		 delay;		/* refresh, tenths of a second */
	int		 frozen;	/* space: the screen holds still */
	int		 sort;		/* MODEL_SORT_* of table and tree */
	int		 detail;	/* the detail pane is on */
	int		 follow;	/* the cursor follows a stack */
	uint32_t	 selected;	/* the stack under the cursor, 0 none */
	int		 zoom;		/* chart window, index in chart.c */
	char		 search[128];	/* the last search, for n and N */

	struct view	*view;		/* drawn in the main area */
	struct view	*back;		/* where Esc returns to */
	uint64_t	 view_cost_ns;	/* the view's last update took */
	uint64_t	 view_next_ns;	/* its next update, on a tick */
	struct ui_rect	 r_header;
	struct ui_rect	 r_chart;
	struct ui_rect	 r_main;
	struct ui_rect	 r_detail;	/* h == 0 when off */
	struct ui_rect	 r_bar;
	int		 dirty;		/* UI_DRAW_* */

	struct ui_snap	 snap;
	char		 message[256];	/* the header's last line */
	int		 message_warn;
	uint64_t	 message_ns;	/* when set; 0 = stays */

	struct chart	*chart;
	struct table	*table;
	struct tree	*tree;
	struct logview	*logview;
	int		 help_top;	/* first line of the help screen */
	int		 stack_top;	/* first line of the stack view */
	uint32_t	 stack_id;	/* the stack view's stack */
};

/* ui.c */
extern const struct ui_key ui_keys[];
int	 ui_main(struct options *);
void	 ui_list_keys(FILE *);
void	 ui_message(struct ui *, int, const char *, ...) __printflike(3, 4);
int	 ui_attr(struct ui *, int);
#define UI_A_NORMAL	0
#define UI_A_ALLOCATED	1
#define UI_A_RESIDENT	2
#define UI_A_SWAPPED	3
#define UI_A_TITLE	4	/* column titles */
#define UI_A_CURSOR	5	/* the selected row */
#define UI_A_BARKEY	6
#define UI_A_BARLABEL	7
#define UI_A_WARN	8
#define UI_A_DIM	9
#define UI_A_VALUE	10
#define UI_A_MATCH	11
uint64_t ui_now(struct ui *);
const char *ui_size(char *, size_t, int64_t);
const char *ui_duration(char *, size_t, uint64_t);
void	 ui_put(struct ui *, int, int, int, int, const char *);
void	 ui_fill(struct ui *, int, int, int, int);
int	 ui_match(const char *, const char *);
u_int	 ui_frame_first(struct model *, struct model_stack *);
void	 ui_frame_text(const struct sym_frame *, char *, size_t, int);
void	 ui_draw_frames(struct ui *, const struct ui_rect *,
	     struct model_stack *, u_int, u_int);

/* header.c */
void	 header_draw(struct ui *, const struct ui_rect *);

/* chart.c */
void	 chart_draw(struct ui *, const struct ui_rect *);
int	 chart_zoom(struct ui *, int);
const char *chart_window_name(struct ui *);
void	 chart_window(struct ui *, uint64_t *, uint64_t *, int *);

/* timeline.c */
int	 timeline_key_peak(struct ui *, int);
int	 timeline_key_move(struct ui *, int);
int	 timeline_key_mark(struct ui *, int);
int	 timeline_key_now(struct ui *, int);
const char *timeline_label(struct ui *, char *, size_t);
void	 timeline_columns(struct ui *, uint64_t, uint64_t, int, int *,
	     int *);

/* table.c */
extern struct view table_view;
extern struct view stack_view;
int	 table_key_sort(struct ui *, int);
int	 table_titles(struct ui *, int, const char *);
int	 table_values(struct ui *, int, const int64_t *, int);
uint32_t table_selected(struct ui *);

/* tree.c */
extern struct view tree_view;
int	 tree_key_fold(struct ui *, int);
int	 tree_key_reverse(struct ui *, int);

/* logview.c */
extern struct view log_view;
int	 logview_open(struct ui *, const char *);

#endif /* MEMTOP_TUI_H */
