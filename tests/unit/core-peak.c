/*
 * core-peak.c: the peak and the break.
 *
 * In a single thread the peak of allocated bytes is exact, and the bytes
 * each stack held at that peak follow the peak_epoch rule of shm.h:
 *   agg.peak_epoch == glob.peak_epoch ? agg.peak_bytes : agg.live_bytes.
 * The break: the allocation that brings allocated bytes to the armed
 * threshold is described in the control block, an event is written, and
 * the process stops itself (SIGSTOP) until it is continued; it fires once
 * per arming.  The break runs in a child, watched by this process.
 */

#include "config.h"

#include <sys/wait.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "segment.h"
#include "tap.h"

/* Three call sites: three stacks. */
static __attribute__((noinline)) void
site1(uint64_t addr, size_t size)
{
	engine_on_alloc((void *)(uintptr_t)addr, size, 0);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void
site2(uint64_t addr, size_t size)
{
	engine_on_alloc((void *)(uintptr_t)addr, size, 0);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void
site3(uint64_t addr, size_t size)
{
	engine_on_alloc((void *)(uintptr_t)addr, size, 0);
	__asm__ volatile("" ::: "memory");
}

/* Attach a fresh segment; returns its header. */
static struct memtop_header *
attach(struct segment_sizes *z, uint64_t *size)
{
	struct memtop_header	*h;

	core_active = 0;
	if ((h = segment_new(z, size)) == NULL ||
	    shm_attach(h, *size, -1) != 0)
		tap_bail("cannot attach a segment");
	stacks_set_own_range(0, 0);
	return (h);
}

/* What a stack held at the last peak, by the rule of shm.h. */
static int64_t
at_peak(uint32_t stack)
{
	const struct memtop_stack_agg	*a = &core_shm.aggs[stack];

	return (a->peak_epoch == core_shm.glob->peak_epoch ?
	    a->peak_bytes : a->live_bytes);
}

/* The stack of the live entry at addr (exact mode keeps them all). */
static uint32_t
stack_of(uint64_t addr)
{
	struct live_item	e;
	uint32_t		id = 0;

	if (live_remove(addr, &e)) {
		id = e.stack;
		live_insert(e.addr, e.size, e.stack, e.flags);
	}
	return (id);
}

/* The peak and the bytes at the peak per stack, in exact mode. */
static void
test_peak(void)
{
	struct segment_sizes	z = segment_defaults();
	uint64_t		size, epoch;
	uint32_t		s1, s2, s3, s4;

	z.sample_mean = 0;
	z.config = MEMTOP_CFG_EXACT;
	attach(&z, &size);

	site1(0x1000, 1000);
	site2(0x2000, 2000);
	s1 = stack_of(0x1000);
	s2 = stack_of(0x2000);
	engine_on_free((void *)0x1000, 1000, 0);
	site3(0x3000, 500);
	s3 = stack_of(0x3000);
	ok(s1 != 0 && s2 != 0 && s3 != 0 && s1 != s2 && s2 != s3 &&
	    s1 != s3, "three sites, three stacks");
	is_int(core_shm.glob->peak_bytes, 3000, "peak is 3000");
	/* The event clock lags a precise one by up to a tick: never before. */
	if (!ok(core_shm.glob->peak_ns >= core_shm.hdr->attach_ns &&
	    core_shm.glob->peak_ns <= core_now(),
	    "the peak's time lies between the attach and now"))
		diag("attach %llu, peak %llu",
		    (unsigned long long)core_shm.hdr->attach_ns,
		    (unsigned long long)core_shm.glob->peak_ns);
	is_int(at_peak(s1), 1000, "site 1 held 1000 at the peak (freed since)");
	is_int(at_peak(s2), 2000, "site 2 held 2000 (made the peak)");
	is_int(at_peak(s3), 0, "site 3 held nothing (came after)");

	/* Site 3 again, from another line: a fourth stack. */
	epoch = core_shm.glob->peak_epoch;
	site3(0x4000, 1000);
	s4 = stack_of(0x4000);
	is_int(core_shm.glob->peak_bytes, 3500, "a new peak: 3500");
	ok(core_shm.glob->peak_epoch > epoch, "the peak epoch moved");
	if (!ok(s4 != s3 && at_peak(s1) == 0 && at_peak(s2) == 2000 &&
	    at_peak(s3) == 500 && at_peak(s4) == 1000,
	    "at the new peak: 0, 2000, 500, 1000"))
		diag("got %lld %lld %lld %lld", (long long)at_peak(s1),
		    (long long)at_peak(s2), (long long)at_peak(s3),
		    (long long)at_peak(s4));
	engine_on_free((void *)0x2000, 2000, 0);
	engine_on_free((void *)0x4000, 1000, 0);
	ok(at_peak(s2) == 2000 && at_peak(s4) == 1000 &&
	    core_shm.aggs[s2].live_bytes == 0 &&
	    core_shm.aggs[s4].live_bytes == 0,
	    "frees after the peak keep the values at the peak");
	is_int(core_shm.glob->peak_bytes, 3500, "the peak stays");
	is_int(core_shm.glob->flushed_live + core_tls.delta, 500,
	    "flushed live plus the thread's delta is live");
}

/*
 * The peak in sampled mode, where the fast path compares each thread's
 * delta with its own copy of the limit: a random walk of allocations and
 * frees, nothing sampled, and after every call the peak is the walk's
 * running maximum, to the byte.
 */
static void
test_peak_fast(void)
{
	struct segment_sizes	 z = segment_defaults();
	static uint64_t		 addr[512];
	static size_t		 len[512];
	uint64_t		 size, x = 12345, bad = 0, flushes;
	int64_t			 live = 0, top = 0;
	size_t			 k;
	int			 i;

	z.sample_mean = UINT64_C(1) << 40;	/* nothing sampled */
	attach(&z, &size);
	core_active = 1;
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (size_t)(x % 512);
		if (addr[k] != 0) {
			engine_on_free((void *)(uintptr_t)addr[k], len[k], 0);
			live -= (int64_t)len[k];
			addr[k] = 0;
		} else {
			addr[k] = 0x100000 + (uint64_t)k * 0x10000;
			len[k] = 16 + (size_t)((x >> 20) % 8000);
			site1(addr[k], len[k]);
			live += (int64_t)len[k];
		}
		if (live > top)
			top = live;
		if (core_shm.glob->peak_bytes != top && bad++ == 0)
			diag("call %d: peak %lld, the walk's maximum %lld", i,
			    (long long)core_shm.glob->peak_bytes,
			    (long long)top);
	}
	flushes = core_shm.glob->peak_epoch;
	ok(bad == 0, "sampled mode: the peak is exact after every call");
	ok(top > 1000000 && flushes > 10, "the walk made its peak in steps "
	    "(%lld bytes, %llu rises)", (long long)top,
	    (unsigned long long)flushes);
	is_int(core_shm.glob->flushed_live + core_tls.delta, live,
	    "flushed live plus the thread's delta is live");
	ok(core_tls.limit >= 0 && core_tls.limit < MEMTOP_FLUSH_BYTES,
	    "the thread's limit stays below MEMTOP_FLUSH_BYTES");
	core_active = 0;
}

/* The break, in a child that stops itself. */
static void
test_break(void)
{
	struct segment_sizes		 z = segment_defaults();
	struct memtop_header		*h;
	struct memtop_ring_header	*ring;
	struct memtop_event		*ev;
	const struct memtop_stack	*st;
	uint64_t			 size, i, breaks = 0;
	pid_t				 pid;
	int				 status;

	z.sample_mean = UINT64_C(1) << 40;	/* nothing sampled */
	if ((h = segment_new(&z, &size)) == NULL)
		tap_bail("cannot map a segment");
	ring = (void *)((char *)h + h->sec[MEMTOP_SEC_RING].off);
	((struct memtop_control *)((char *)h +
	    h->sec[MEMTOP_SEC_CONTROL].off))->break_bytes = 5000;
	((struct memtop_control *)((char *)h +
	    h->sec[MEMTOP_SEC_CONTROL].off))->break_seq = 1;

	if ((pid = fork()) == 0) {
		h->target_pid = getpid();
		core_active = 0;
		if (shm_attach(h, size, -1) != 0)
			_exit(3);
		for (i = 1; i <= 10; i++)
			site1(0x10000 * i, 1000);
		_exit(0);
	}
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		ok(0, "the child stopped itself");
		return;
	}
	ok(WSTOPSIG(status) == SIGSTOP, "the child stopped itself");

	/* Read what the child published, through this process's mapping. */
	core_shm.hdr = h;
	{
		struct memtop_control *ctl = (void *)((char *)h +
		    h->sec[MEMTOP_SEC_CONTROL].off);
		struct memtop_stack *stacks = (void *)((char *)h +
		    h->sec[MEMTOP_SEC_STACKS].off);

		is_uint(ctl->break_hit_seq, 1, "break_hit_seq published");
		ok(ctl->break_addr == 0x50000 && ctl->break_size == 1000,
		    "the fifth allocation crossed");
		is_uint(ctl->break_allocated, 5000, "allocated after it: 5000");
		ok(ctl->break_tid == pid, "the crossing thread");
		st = &stacks[ctl->break_stack];
		ok(ctl->break_stack != 0 && (st->flags & MEMTOP_STACK_READY) &&
		    st->nframes > 0,
		    "an unsampled allocation still gets its stack");
	}
	kill(pid, SIGCONT);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "continued, the child finished");
	ev = (void *)((char *)ring + sizeof *ring);
	for (i = 0; i < ring->head; i++) {
		if (ev[i].type == MEMTOP_EV_BREAK && ev[i].seq == i + 1)
			breaks++;
	}
	is_uint(breaks, 1, "one break event: a break fires once per arming");
}

int
main(void)
{
	tap_plan(24);
	test_peak();
	test_peak_fast();
	test_break();
	return (tap_done());
}
