/* Progress reporting. The callback is rate-limited to about every 1 % of
 * the work and every 50 ms (both must have passed), so that even a slow
 * callback (a relay to JavaScript costs ~15 us) cannot slow the work. */
#include "progress.h"

#include "internal.h"

static const uint64_t MIN_INTERVAL_NS = 50u * 1000u * 1000u;

void kh_progress_begin(kh_progress *p, CInterrupt interrupt, int phase, uint64_t total) {
    p->interrupt = interrupt;
    kh_interrupt_progress_callback(interrupt, &p->fn, &p->user);
    p->total = total;
    atomic_init(&p->done, 0);
    atomic_init(&p->next_done, total / 100);
    atomic_init(&p->next_ns, kh_monotonic_ns() + MIN_INTERVAL_NS);
    p->reported = 0;
    kh_interrupt_publish_start(interrupt, phase, total);
}

static void report(kh_progress *p, uint64_t done) {
    int stop = p->fn(p->user, done < p->total ? done : p->total, p->total);
    if (stop != 0) knowhere_interrupt_interrupt(p->interrupt);
}

void kh_progress_advance(kh_progress *p, uint64_t units) {
    if (p == NULL || p->interrupt == NULL) return;
    uint64_t done = atomic_fetch_add_explicit(&p->done, units, memory_order_relaxed) + units;
    kh_interrupt_publish_done(p->interrupt, done < p->total ? done : p->total);
    if (p->fn == NULL || done < atomic_load_explicit(&p->next_done, memory_order_relaxed))
        return;
    uint64_t now = kh_monotonic_ns();
    if (now < atomic_load_explicit(&p->next_ns, memory_order_relaxed)) return;
    /* Busy (another thread reports, for this operation or another one on
     * the flag): skip rather than wait, the work goes on. */
    if (!kh_interrupt_try_begin_report(p->interrupt)) return;
    /* Another thread may have reported a later count between this one's
     * count and its turn to report (seen under TSan's slow scheduling):
     * the callback's counts never go back. */
    if (done > p->reported) {
        atomic_store_explicit(&p->next_done, done + p->total / 100, memory_order_relaxed);
        atomic_store_explicit(&p->next_ns, now + MIN_INTERVAL_NS, memory_order_relaxed);
        p->reported = done;
        report(p, done);
    }
    kh_interrupt_end_report(p->interrupt);
}

void kh_progress_end(kh_progress *p, int status) {
    if (p == NULL || p->interrupt == NULL || status != KNOWHERE_OK) return;
    kh_interrupt_publish_done(p->interrupt, p->total);
    if (p->fn == NULL) return;
    /* The last call is promised: wait for a callback another operation on
     * the flag is running. */
    kh_interrupt_begin_report(p->interrupt);
    report(p, p->total);
    kh_interrupt_end_report(p->interrupt);
}
