/*
 * sample.c: what happens on every allocation and every free.
 *
 * Counting is exact and always on: each thread owns a slot in
 * MEMTOP_SEC_THREADS and adds usable sizes to it with plain stores (it is
 * the only writer), so the fast path touches no shared cache line, takes no
 * lock and makes no atomic operation.  Threads without a slot (more threads
 * than slots, or a thread past its exit handlers) use slot 0 with atomics.
 *
 * Sampling is Poisson over bytes: each thread counts down a random number
 * of bytes drawn from an exponential distribution of mean core_sample_mean;
 * the allocation that takes the countdown to zero or below is sampled, with
 * weight w = 1 / (1 - exp(-size / mean)), the inverse of the probability
 * that an allocation of that size is sampled.  Memorylessness makes a fresh
 * draw after each sample exact.  A sample is unwound, interned, kept in the
 * live table and added to its stack's aggregate as size * w bytes
 * and w * MEMTOP_COUNT_ONE counts, rounded; the free subtracts the same
 * numbers, computed from the (size, weight) kept in the live entry, so the
 * aggregates return exactly to zero.  In exact mode every allocation is
 * sampled with weight 1.
 *
 * The peak: each thread keeps its net change in `delta` and adds it to
 * glob->flushed_live (one atomic add; plain stores in solo mode, core.h)
 * when it passes MEMTOP_FLUSH_BYTES either way, or when it exceeds
 * glob->flush_limit, the room left below the peak or the armed break
 * threshold.  While a program grows, every allocation makes a new peak
 * and so flushes: in solo mode that is a few plain stores and a reading
 * of the event clock.  The fast paths compare with the thread's own copy
 * of the limit, t->limit, taken at each of its flushes and samples (no
 * line shared between threads is read on every call); the slow paths
 * compare with glob->flush_limit itself.  So in a
 * single-threaded program the peak is exact; the break fires on the
 * allocation that crosses it in exact mode, and in sampled mode when it
 * lies above the peak, else at the thread's next sample or flush.
 */

#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

__thread struct core_thread core_tls __attribute__((tls_model("initial-exec")));

int		  core_glibc_malloc;
size_t		(*core_real_usable)(void *) = malloc_usable_size;

static uint32_t	sample_slot_hint;	/* where slot searches start */
/* The thread (tid) that owns each lane of the aggregates but the last. */
static int32_t	sample_lane_owner[MEMTOP_AGG_LANES_MAX];
static uint32_t	sample_break_claim;	/* break_seq of the break we fire */

#define SAMPLE_NO_STACK	UINT32_MAX
#define SAMPLE_NOT_UNWOUND	INT32_MIN	/* the hook did not unwind */

/* Enter the reentrancy guard: nested calls on this thread pass through. */
void
core_guard_enter(void)
{
	CORE_GUARD_ENTER(&core_tls);
}

/* Leave the reentrancy guard. */
void
core_guard_leave(void)
{
	CORE_GUARD_LEAVE(&core_tls);
}

/* Nonzero while this thread is inside the tracker. */
int
core_guard_held(void)
{
	return (core_tls.guard != 0);
}

/* Add to a counter of the thread's own slot: one writer, no lock prefix. */
static inline void
sample_own_add(uint64_t *field, uint64_t v)
{
	__atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) + v,
	    __ATOMIC_RELAXED);
}

/* Add to a slot counter, atomically when the slot is shared. */
static inline void
sample_slot_add(struct core_thread *t, uint64_t *field, uint64_t v)
{
	if (t->slot != NULL)
		sample_own_add(field, v);
	else
		__atomic_fetch_add(field, v, __ATOMIC_RELAXED);
}

/* The slot a thread counts into: its own, or the shared slot 0. */
static inline struct memtop_thread_slot *
sample_slot(struct core_thread *t)
{
	return (t->slot != NULL ? t->slot : &core_shm.threads[0]);
}

/* Next number of the thread's xorshift64* generator. */
static uint64_t
sample_random(struct core_thread *t)
{
	uint64_t	x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return (x * UINT64_C(0x2545f4914f6cdd1d));
}

/* Draw the bytes until the next sample, exponential with the mean. */
static int64_t
sample_draw(struct core_thread *t)
{
	double	u, v;

	/* u is uniform in (0, 1]: never log(0). */
	u = (double)((sample_random(t) >> 11) + 1) * 0x1.0p-53;
	v = -log(u) * (double)core_sample_mean;
	if (v < 1)
		return (1);
	if (v > 0x1.0p62)
		return (INT64_C(1) << 62);
	return ((int64_t)v);
}

/* Fill the estimated bytes and count a sample of size bytes stands for. */
void
sample_estimate(struct engine_sample *s, uint64_t size, double weight)
{
	s->weight = weight;
	if (weight == 1.0) {
		s->est_bytes = (int64_t)size;
		s->est_count = MEMTOP_COUNT_ONE;
		return;
	}
	/* Both are positive: adding a half and truncating rounds. */
	s->est_bytes = (int64_t)((double)size * weight + 0.5);
	s->est_count = (int64_t)(weight * MEMTOP_COUNT_ONE + 0.5);
}

/*
 * Choose the lane of the aggregates the thread charges (shm.h).  Every lane
 * but the last can be owned by one thread with a slot of its own, which
 * then updates it with plain loads and stores, no atomic read-modify-write:
 * the first thread gets lane 0.  Everybody else shares the last lane, with
 * atomics (or in solo mode).  The lane's bit is set before its first
 * charge.
 */
static void
sample_set_lane(struct core_thread *t)
{
	uint64_t	k, shared = core_shm.agg_lanes - 1, bit;
	int32_t		zero;

	t->lane = (uint16_t)shared;
	t->lane_own = 0;
	for (k = 0; t->slot != NULL && k < shared; k++) {
		zero = 0;
		if (__atomic_load_n(&sample_lane_owner[k], __ATOMIC_RELAXED) ==
		    0 && __atomic_compare_exchange_n(&sample_lane_owner[k],
		    &zero, t->tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			t->lane = (uint16_t)k;
			t->lane_own = 1;
			break;
		}
	}
	bit = UINT64_C(1) << t->lane;
	if ((__atomic_load_n(&core_shm.glob->agg_lanes_used,
	    __ATOMIC_RELAXED) & bit) == 0)
		__atomic_or_fetch(&core_shm.glob->agg_lanes_used, bit,
		    __ATOMIC_RELEASE);
}

/*
 * Give up the lane the thread owns: it charges the shared lane from now on,
 * and the next thread to claim the lane sees what it wrote.
 */
static void
sample_drop_lane(struct core_thread *t)
{
	uint16_t	k = t->lane;

	if (!t->lane_own)
		return;
	t->lane_own = 0;
	t->lane = (uint16_t)(core_shm.agg_lanes - 1);
	__atomic_or_fetch(&core_shm.glob->agg_lanes_used,
	    UINT64_C(1) << t->lane, __ATOMIC_RELEASE);
	__atomic_store_n(&sample_lane_owner[k], 0, __ATOMIC_RELEASE);
}

/*
 * Set up a thread on its first tracked call: its id, its generator, a slot
 * of its own if one is free (released by the pthread key destructor at
 * thread exit), and its first countdown.
 */
static void
sample_thread_init(struct core_thread *t)
{
	struct memtop_thread_slot	*slots = core_shm.threads;
	uint64_t			 n = core_shm.nthreads, i, k;
	uint32_t			 hint;
	int32_t				 zero;

	t->tid = core_gettid();
	t->rng = core_now() ^ ((uint64_t)t->tid << 32) ^
	    (uint64_t)(uintptr_t)t * UINT64_C(0x9e3779b97f4a7c15);
	if (t->rng == 0)
		t->rng = 1;
	t->slot = NULL;
	t->state = CORE_THREAD_SHARED;
	hint = __atomic_load_n(&sample_slot_hint, __ATOMIC_RELAXED);
	for (k = 0; n > 1 && k < n - 1; k++) {
		i = 1 + (hint + k) % (n - 1);
		zero = 0;
		if (__atomic_load_n(&slots[i].tid, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&slots[i].tid, &zero, t->tid,
		    0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			t->slot = &slots[i];
			t->state = CORE_THREAD_OWN;
			/* The next search starts here (i is 1-based). */
			__atomic_store_n(&sample_slot_hint, (uint32_t)(i - 1),
			    __ATOMIC_RELAXED);
			break;
		}
	}
	sample_set_lane(t);
	if (t->slot != NULL)
		fork_thread_start(t);
	t->shared_countdown = core_exact ? 0 : sample_draw(t);
	t->countdown = 0;
}

/*
 * A thread is exiting (its pthread key destructor runs): flush its delta,
 * give its slot back (the sums stay in it) and count anything it still does
 * in the shared slot.
 */
void
sample_thread_release(struct core_thread *t)
{
	if (t->state != CORE_THREAD_OWN)
		return;
	sample_flush_thread(t);
	t->shared_countdown = t->countdown;
	t->countdown = 0;
	t->state = CORE_THREAD_SHARED;
	sample_drop_lane(t);
	__atomic_store_n(&t->slot->tid, 0, __ATOMIC_RELEASE);
	t->slot = NULL;
	unwind_thread_release(t);
	if (t->scratch != NULL) {
		core_private_unmap(t->scratch, t->scratch_len * sizeof(uint64_t));
		t->scratch = NULL;
		t->scratch_len = 0;
	}
}

/*
 * Recompute glob->flush_limit after t's flush left live bytes flushed, and
 * t's copy of it.
 */
static void
sample_set_limit(struct core_thread *t, int64_t live)
{
	struct memtop_global	*glob = core_shm.glob;
	struct memtop_control	*ctl = core_shm.ctl;
	uint32_t		 seq;
	uint64_t		 brk;
	int64_t			 room;

	seq = __atomic_load_n(&ctl->break_seq, __ATOMIC_ACQUIRE);
	room = __atomic_load_n(&glob->peak_bytes, __ATOMIC_RELAXED) - live;
	brk = __atomic_load_n(&ctl->break_bytes, __ATOMIC_RELAXED);
	if (brk != 0 && seq != __atomic_load_n(&ctl->break_hit_seq,
	    __ATOMIC_RELAXED) && brk <= INT64_MAX && (int64_t)brk - live < room)
		room = (int64_t)brk - live;
	if (room < 0)
		room = 0;
	/* Below MEMTOP_FLUSH_BYTES: the hooks then make one comparison. */
	if (room > MEMTOP_FLUSH_BYTES - 1)
		room = MEMTOP_FLUSH_BYTES - 1;
	__atomic_store_n(&glob->flush_limit, room, __ATOMIC_RELAXED);
	/* The front end armed a break meanwhile: make the next one flush. */
	if (__atomic_load_n(&ctl->break_seq, __ATOMIC_ACQUIRE) != seq) {
		__atomic_store_n(&glob->flush_limit, 0, __ATOMIC_RELAXED);
		room = 0;
	}
	t->limit = room;
}

/*
 * The break: allocated bytes reached the armed threshold.  Charge the
 * allocation that crossed to its stack (unwinding it if it was not
 * sampled), describe it in the control block, publish it, write an event
 * and stop the whole process; the front end resumes it with SIGCONT.
 */
static void
sample_break(struct core_thread *t, void *p, size_t size, uint32_t stack,
    int64_t live, uint32_t seq)
{
	struct memtop_control	*ctl = core_shm.ctl;
	uint32_t		 claim;
	uint64_t		 now;

	claim = __atomic_load_n(&sample_break_claim, __ATOMIC_RELAXED);
	if (claim == seq || !__atomic_compare_exchange_n(&sample_break_claim,
	    &claim, seq, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;	/* another thread fires this one */
	if (stack == SAMPLE_NO_STACK)
		stack = stacks_capture(0);
	now = core_now();
	ctl->break_tid = t->tid;
	ctl->break_stack = stack;
	ctl->break_addr = (uint64_t)(uintptr_t)p;
	ctl->break_size = size;
	ctl->break_allocated = live > 0 ? (uint64_t)live : 0;
	ctl->break_ns = now;
	__atomic_store_n(&ctl->break_hit_seq, seq, __ATOMIC_RELEASE);
	ring_write(MEMTOP_EV_BREAK, (uint64_t)(uintptr_t)p, size, 0, 0, stack,
	    0, now, t->tid);
	kill(getpid(), SIGSTOP);
}

/*
 * The time of a new peak: the event clock (a few milliseconds coarse, a
 * third of the cost of a precise reading, and taken at every allocation
 * while the program grows), never before the attach.  now is the clock
 * already read for the allocation's sample (its event's time), or 0.
 */
static uint64_t
sample_peak_now(uint64_t now)
{
	uint64_t	floor;

	if (now == 0)
		now = core_now_event();

	floor = __atomic_load_n(&core_shm.hdr->attach_ns, __ATOMIC_RELAXED);
	return (now > floor ? now : floor);
}

/*
 * Add the thread's delta to flushed_live and move the peak.  p and size
 * describe the allocation that caused the flush (NULL for a free), stack
 * its stack id if known, for the break; now is the event clock when the
 * caller read it already (a sample's event), else 0.
 */
static void
sample_flush(struct core_thread *t, void *p, size_t size, uint32_t stack,
    uint64_t now)
{
	struct memtop_global	*glob = core_shm.glob;
	struct memtop_control	*ctl = core_shm.ctl;
	int64_t			 d = t->delta, live, peak;
	uint64_t		 brk;
	uint32_t		 seq;

	t->delta = 0;
	if (core_solo_begin()) {
		/* The only writer: plain stores, each whole (core.h). */
		live = glob->flushed_live + d;
		__atomic_store_n(&glob->flushed_live, live, __ATOMIC_RELAXED);
		if (live > glob->peak_bytes) {
			__atomic_store_n(&glob->peak_bytes, live,
			    __ATOMIC_RELAXED);
			__atomic_store_n(&glob->peak_ns, sample_peak_now(now),
			    __ATOMIC_RELAXED);
			__atomic_store_n(&glob->peak_epoch,
			    glob->peak_epoch + 1, __ATOMIC_RELEASE);
		}
		core_solo_end();
	} else {
		live = __atomic_add_fetch(&glob->flushed_live, d,
		    __ATOMIC_RELAXED);
		peak = __atomic_load_n(&glob->peak_bytes, __ATOMIC_RELAXED);
		while (live > peak) {
			if (__atomic_compare_exchange_n(&glob->peak_bytes,
			    &peak, live, 1, __ATOMIC_RELAXED,
			    __ATOMIC_RELAXED)) {
				__atomic_store_n(&glob->peak_ns,
				    sample_peak_now(now), __ATOMIC_RELAXED);
				__atomic_add_fetch(&glob->peak_epoch, 1,
				    __ATOMIC_RELEASE);
				break;
			}
		}
	}
	if (p != NULL) {
		seq = __atomic_load_n(&ctl->break_seq, __ATOMIC_ACQUIRE);
		brk = __atomic_load_n(&ctl->break_bytes, __ATOMIC_RELAXED);
		if (brk != 0 && seq != __atomic_load_n(&ctl->break_hit_seq,
		    __ATOMIC_RELAXED) && live >= 0 && (uint64_t)live >= brk)
			sample_break(t, p, size, stack, live, seq);
	}
	sample_set_limit(t, live);
}

/* Flush whatever the thread has not flushed yet (thread exit, fork). */
void
sample_flush_thread(struct core_thread *t)
{
	if (t->delta != 0 && core_shm.glob != NULL)
		sample_flush(t, NULL, 0, SAMPLE_NO_STACK, 0);
}

/*
 * Account a change of delta after an allocation; flush when due.  now is
 * the sample's time, or 0.
 */
static inline void
sample_delta_alloc(struct core_thread *t, void *p, size_t size,
    uint32_t stack, uint64_t now)
{
	t->delta += (int64_t)size;
	t->limit = __atomic_load_n(&core_shm.glob->flush_limit,
	    __ATOMIC_RELAXED);
	if (t->slot == NULL || t->delta >= MEMTOP_FLUSH_BYTES ||
	    t->delta > t->limit)
		sample_flush(t, p, size, stack, now);
}

/* Account a change of delta after a free; flush when due. */
static inline void
sample_delta_free(struct core_thread *t, size_t size)
{
	t->delta -= (int64_t)size;
	if (t->slot == NULL || t->delta <= -MEMTOP_FLUSH_BYTES)
		sample_flush(t, NULL, 0, SAMPLE_NO_STACK, 0);
}

/*
 * Change a stack's aggregate by a sample: live bytes and count (negative
 * for a free) and total bytes and count.  Before the first change since the
 * global peak last rose, the stack's live values are its values at that
 * peak: keep them (see struct memtop_stack_agg).
 */
void
sample_charge(uint32_t stack, int64_t bytes, int64_t count,
    int64_t total_bytes, int64_t total_count)
{
	struct memtop_stack_agg	*a;
	uint64_t		 epoch, old;
	int64_t			 pb, pc;
	int			 solo;

	if (stack >= core_shm.stacks_cap)
		stack = 0;
	/* The thread's lane (shm.h): no line shared with other threads. */
	a = &core_shm.aggs[core_tls.lane * core_shm.stacks_cap];
	core_ahead(CORE_AHEAD_AGGS + core_tls.lane, a,
	    ((uint64_t)stack + 1) * sizeof *a, core_shm.stacks_cap * sizeof *a);
	a += stack;
	/* A lane of its own: the only writer, as in solo mode. */
	solo = core_tls.lane_own ? 2 : core_solo_begin();
	epoch = __atomic_load_n(&core_shm.glob->peak_epoch, __ATOMIC_ACQUIRE);
	old = __atomic_load_n(&a->peak_epoch, __ATOMIC_RELAXED);
	if (old != epoch) {
		pb = __atomic_load_n(&a->live_bytes, __ATOMIC_RELAXED);
		pc = __atomic_load_n(&a->live_count, __ATOMIC_RELAXED);
		if (solo) {
			__atomic_store_n(&a->peak_epoch, epoch,
			    __ATOMIC_RELAXED);
			__atomic_store_n(&a->peak_bytes, pb, __ATOMIC_RELAXED);
			__atomic_store_n(&a->peak_count, pc, __ATOMIC_RELAXED);
		} else if (__atomic_compare_exchange_n(&a->peak_epoch, &old,
		    epoch, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&a->peak_bytes, pb, __ATOMIC_RELAXED);
			__atomic_store_n(&a->peak_count, pc, __ATOMIC_RELAXED);
		}
	}
	if (solo) {
		/* The only writer: plain additions, each store whole. */
		__atomic_store_n(&a->live_bytes, a->live_bytes + bytes,
		    __ATOMIC_RELAXED);
		__atomic_store_n(&a->live_count, a->live_count + count,
		    __ATOMIC_RELAXED);
		__atomic_store_n(&a->total_bytes, a->total_bytes +
		    (uint64_t)total_bytes, __ATOMIC_RELAXED);
		__atomic_store_n(&a->total_count, a->total_count +
		    (uint64_t)total_count, __ATOMIC_RELAXED);
		if (solo == 1)
			core_solo_end();
		return;
	}
	if (bytes != 0)
		__atomic_add_fetch(&a->live_bytes, bytes, __ATOMIC_RELAXED);
	if (count != 0)
		__atomic_add_fetch(&a->live_count, count, __ATOMIC_RELAXED);
	if (total_bytes != 0)
		__atomic_add_fetch(&a->total_bytes, (uint64_t)total_bytes,
		    __ATOMIC_RELAXED);
	if (total_count != 0)
		__atomic_add_fetch(&a->total_count, (uint64_t)total_count,
		    __ATOMIC_RELAXED);
}

/*
 * The slow part of an allocation: a new thread, a thread on the shared
 * slot, or the countdown reached zero.  Counts the allocation (malloc
 * family, or mapping with is_map) and decides whether it is sampled; when
 * it is, records its stack and fills *out.  Returns nonzero when sampled.
 * The live table, the aggregate and the event are the caller's business.
 */
static int
sample_alloc_slow(struct core_thread *t, void *p, size_t size, int is_map,
    struct engine_sample *out, int unwound)
{
	struct memtop_thread_slot	*slot;
	int64_t				 cd;
	int				 sampled, saved = errno;

	if (t->state == CORE_THREAD_NEW)
		sample_thread_init(t);
	else if (t->state == CORE_THREAD_OWN && !core_exact)
		t->shared_countdown = t->countdown + (int64_t)size;

	/* The countdown lives in shared_countdown on this path. */
	if (core_exact)
		sampled = 1;
	else {
		cd = t->shared_countdown - (int64_t)size;
		sampled = cd <= 0;
		if (sampled)
			cd = sample_draw(t);
		t->shared_countdown = cd;
	}
	t->countdown = (t->state == CORE_THREAD_OWN && !core_exact) ?
	    t->shared_countdown : 0;

	slot = sample_slot(t);
	if (is_map) {
		sample_slot_add(t, &slot->map_bytes, size);
		sample_slot_add(t, &slot->map_count, 1);
	} else {
		sample_slot_add(t, &slot->alloc_bytes, size);
		sample_slot_add(t, &slot->alloc_count, 1);
	}
	if (!sampled) {
		errno = saved;
		return (0);
	}

	sample_slot_add(t, &slot->samples, 1);
	if (!is_map && unwound == SAMPLE_NOT_UNWOUND)
		live_prefetch((uint64_t)(uintptr_t)p);	/* while unwinding */
	if (unwound != SAMPLE_NOT_UNWOUND)
		out->stack = stacks_unwound(unwound, is_map);
	else
		out->stack = stacks_capture(is_map);
	sample_estimate(out, size,
	    memtop_sample_weight(size, core_sample_mean));
	out->now = ring_now();
	errno = saved;
	return (1);
}

/*
 * The event of a sampled allocation, written by the caller of
 * sample_alloc_slow once the sample is charged.  Last, because the event's
 * line is usually not in this core's cache (the front end read it): with
 * threads, the locks and atomic adds of the live table and the aggregate
 * would wait for its stores to complete, and afterwards they need not.
 */
static void
sample_event_alloc(struct core_thread *t, void *p, size_t size,
    uint32_t flags, const struct engine_sample *s)
{
	ring_write(MEMTOP_EV_ALLOC, (uint64_t)(uintptr_t)p, size,
	    s->est_bytes, s->est_count, s->stack, (uint16_t)flags, s->now,
	    t->tid);
}

static void	sample_alloc_common(void *, size_t, uint32_t, int);

/*
 * The slow part of an allocation (engine_alloc_fast found the countdown at
 * zero or below, already lowered by size): count it, sample it if due,
 * keep it in the live table.  Holds the guard: unwinding allocates.
 */
void
engine_alloc_slow(void *p, size_t size, uint32_t live_flags)
{
	CORE_ENGINE_ENTER(&core_tls);
	sample_alloc_common(p, size, live_flags, SAMPLE_NOT_UNWOUND);
	CORE_ENGINE_LEAVE(&core_tls);
}

/*
 * engine_alloc_slow for a sample the hook already unwound (n return
 * addresses in the thread's scratch buffer).  The caller holds the engine
 * mark.
 */
void
engine_alloc_unwound(void *p, size_t size, uint32_t live_flags, int n)
{
	sample_alloc_common(p, size, live_flags, n);
}

/* Count, sample and keep an allocation (engine mark held). */
static void
sample_alloc_common(void *p, size_t size, uint32_t live_flags, int unwound)
{
	struct core_thread	*t = &core_tls;
	struct engine_sample	 s;
	uint64_t		 now;

	if (!sample_alloc_slow(t, p, size, 0, &s, unwound)) {
		sample_delta_alloc(t, p, size, SAMPLE_NO_STACK, 0);
		return;
	}
	now = s.now;
	if (live_insert((uint64_t)(uintptr_t)p, size, s.stack, live_flags) == 0)
		sample_charge(s.stack, s.est_bytes, s.est_count, s.est_bytes,
		    s.est_count);
	else {
		/*
		 * Not kept: its free could not subtract, so it goes to the
		 * totals only (live_table_full counts it).
		 */
		sample_charge(s.stack, 0, 0, s.est_bytes, s.est_count);
	}
	sample_event_alloc(t, p, size, live_flags, &s);
	sample_delta_alloc(t, p, size, s.stack, now);
}

/* The fast path's delta passed a flush threshold after an allocation. */
void
engine_flush_alloc(void *p, size_t size)
{
	struct core_thread	*t = &core_tls;

	CORE_ENGINE_ENTER(t);
	sample_flush(t, p, size, SAMPLE_NO_STACK, 0);
	CORE_ENGINE_LEAVE(t);
}

/* The fast path's delta passed the flush threshold after a free. */
void
engine_flush_free(void)
{
	struct core_thread	*t = &core_tls;

	CORE_ENGINE_ENTER(t);
	sample_flush(t, NULL, 0, SAMPLE_NO_STACK, 0);
	CORE_ENGINE_LEAVE(t);
}

/*
 * Count an allocation of size usable bytes at p (malloc family, or a
 * wrapped Python domain with MEMTOP_LIVE_PYOBJ) and sample it.
 */
void
engine_on_alloc(void *p, size_t size, uint32_t live_flags)
{
	engine_alloc_fast(p, size, live_flags);
}

/* Subtract a sampled allocation that is being freed. */
static void
sample_free_entry(struct core_thread *t, const struct live_item *e)
{
	struct engine_sample	 s;
	uint64_t		 now = ring_now();
	int			 saved = errno;

	sample_estimate(&s, e->size, e->weight);
	sample_charge(e->stack, -s.est_bytes, -s.est_count, 0, 0);
	sample_slot_add(t, &sample_slot(t)->sampled_frees, 1);
	ring_write(MEMTOP_EV_FREE, e->addr, e->size, -s.est_bytes,
	    -s.est_count, e->stack, (uint16_t)e->flags, now, t->tid);
	errno = saved;
}

/*
 * Count a free whose live entry, if any, was already taken out (e, or NULL
 * when it was not sampled).
 */
static void
sample_free(struct core_thread *t, size_t size, const struct live_item *e)
{
	struct memtop_thread_slot	*slot;

	if (t->state == CORE_THREAD_NEW) {
		sample_thread_init(t);
		t->countdown = (t->state == CORE_THREAD_OWN && !core_exact) ?
		    t->shared_countdown : 0;
	}
	slot = sample_slot(t);
	sample_slot_add(t, &slot->free_bytes, size);
	sample_slot_add(t, &slot->free_count, 1);
	if (e != NULL)
		sample_free_entry(t, e);
	sample_delta_free(t, size);
}

/*
 * The slow part of a free (engine_free_fast): a thread without its own
 * slot, or an address the filter says may be sampled or internal.
 */
void
engine_free_slow(void *p, size_t size)
{
	struct core_thread	*t = &core_tls;
	struct live_item	 e;
	uint64_t		 a = (uint64_t)(uintptr_t)p;

	CORE_ENGINE_ENTER(t);
	if (live_internal_maybe(a) && live_internal_take(a)) {
		/* Allocated for the engine, never counted. */
	} else if (live_maybe(a) && live_remove(a, &e))
		sample_free(t, size, &e);
	else
		sample_free(t, size, NULL);
	CORE_ENGINE_LEAVE(t);
}

/*
 * Take p's entry out of the live table before a realloc, so that no other
 * thread can be handed the address while the table still holds it.
 * Returns ENGINE_SAMPLED (filling *e), ENGINE_INTERNAL (p was allocated for
 * the engine: its free is not counted) or ENGINE_PLAIN.
 */
int
engine_take(void *p, struct live_item *e)
{
	struct core_thread	*t = &core_tls;
	uint64_t		 a = (uint64_t)(uintptr_t)p;
	int			 r = ENGINE_PLAIN;

	CORE_ENGINE_ENTER(t);
	if (live_internal_maybe(a) && live_internal_take(a))
		r = ENGINE_INTERNAL;
	else if (live_maybe(a) && live_remove(a, e))
		r = ENGINE_SAMPLED;
	CORE_ENGINE_LEAVE(t);
	return (r);
}

/* Undo engine_take: the realloc failed and the block is still live. */
void
engine_put_back(const struct live_item *e)
{
	struct core_thread	*t = &core_tls;
	struct engine_sample	 s;

	CORE_ENGINE_ENTER(t);
	if (live_insert(e->addr, e->size, e->stack, e->flags) != 0) {
		/* Could not keep it: it leaves the live aggregates. */
		sample_estimate(&s, e->size, e->weight);
		sample_charge(e->stack, -s.est_bytes, -s.est_count, 0, 0);
	}
	CORE_ENGINE_LEAVE(t);
}

/*
 * Count a free of size usable bytes at p whose live entry, if any, was
 * already taken out (e, or NULL when it was not sampled).
 */
void
engine_on_free_taken(void *p, size_t size, const struct live_item *e)
{
	struct core_thread	*t = &core_tls;

	CORE_ENGINE_ENTER(t);
	sample_free(t, size, e);
	CORE_ENGINE_LEAVE(t);
}

/*
 * Count a free of size usable bytes at p, before the memory is released
 * (so that no other thread can be handed the same address meanwhile).
 */
void
engine_on_free(void *p, size_t size, uint32_t live_flags)
{
	engine_free_fast(p, size);
}

/*
 * Count a new tracked mapping of len bytes (already rounded to pages) and
 * sample it.  Returns nonzero when sampled, with the sample in *out; its
 * stack is charged here, and maps.c keeps it in the live table.
 */
int
engine_map_add(void *p, size_t len, struct engine_sample *out)
{
	struct core_thread	*t = &core_tls;
	int			 sampled;

	if ((t->countdown -= (int64_t)len) > 0 && t->slot != NULL) {
		sample_own_add(&t->slot->map_bytes, len);
		sample_own_add(&t->slot->map_count, 1);
		sampled = 0;
	} else
		sampled = sample_alloc_slow(t, p, len, 1, out,
		    SAMPLE_NOT_UNWOUND);
	if (sampled) {
		sample_charge(out->stack, out->est_bytes, out->est_count,
		    out->est_bytes, out->est_count);
		sample_event_alloc(t, p, len, MEMTOP_LIVE_MMAP, out);
	}
	sample_delta_alloc(t, p, len, sampled ? out->stack : SAMPLE_NO_STACK,
	    sampled ? out->now : 0);
	return (sampled);
}

/*
 * Count len tracked bytes unmapped at p (count: add one to unmap_count).
 * When the bytes belonged to a sampled mapping, piece says what to take off
 * its stack (est_bytes and est_count, positive).
 */
void
engine_map_sub(void *p, size_t len, int count,
    const struct engine_sample *piece)
{
	struct core_thread		*t = &core_tls;
	struct memtop_thread_slot	*slot;
	uint64_t			 now;
	int				 saved = errno;

	if (t->state == CORE_THREAD_NEW) {
		sample_thread_init(t);
		t->countdown = (t->state == CORE_THREAD_OWN && !core_exact) ?
		    t->shared_countdown : 0;
	}
	slot = sample_slot(t);
	sample_slot_add(t, &slot->unmap_bytes, len);
	if (count)
		sample_slot_add(t, &slot->unmap_count, 1);
	if (piece != NULL) {
		now = ring_now();
		sample_charge(piece->stack, -piece->est_bytes,
		    -piece->est_count, 0, 0);
		if (piece->est_count != 0)
			sample_slot_add(t, &slot->sampled_frees, 1);
		ring_write(MEMTOP_EV_FREE, (uint64_t)(uintptr_t)p, len,
		    -piece->est_bytes, -piece->est_count, piece->stack,
		    MEMTOP_LIVE_MMAP, now, t->tid);
	}
	sample_delta_free(t, len);
	errno = saved;
}

/* Reset per-process sampling state at attach. */
void
sample_init(void)
{
	struct core_thread	*t = &core_tls;

	/* The attaching thread starts over (an exec'd image, or a test). */
	memset(t, 0, offsetof(struct core_thread, guard));
	t->state = CORE_THREAD_NEW;
	t->slot = NULL;
	t->countdown = 0;
	sample_slot_hint = 0;
	sample_break_claim = 0;
	t->lane = 0;
	t->lane_own = 0;
	memset(sample_lane_owner, 0, sizeof sample_lane_owner);
	__atomic_or_fetch(&core_shm.glob->agg_lanes_used, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&core_shm.glob->flush_limit, 0, __ATOMIC_RELAXED);
}
