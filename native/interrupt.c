/* The interrupt handle: a reference-counted, lock-free cancellation flag,
 * with an optional deadline and the progress of the operation using it.
 *
 * Each CInterrupt is its own small allocation pointing at a shared state, so
 * every handle (original or clone) is freed exactly once, and the shared
 * state goes with the last one.
 *
 * A linked flag (knowhere_interrupt_create_linked) also reads as set when
 * one of its ancestors is: it keeps the flattened list of their states, each
 * with a reference, so a check is a loop over a few flags and never chases
 * a chain, and the ancestors outlive every flag linked to them. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

/* Values of interrupt_state.flag. Timed-out is kept apart from interrupted
 * so that a check can say which one stopped the operation. */
enum { FLAG_CLEAR = 0, FLAG_INTERRUPTED = 1, FLAG_TIMED_OUT = 2 };

struct interrupt_state {
    atomic_uchar flag;                   /* relaxed: a flag orders nothing else */
    atomic_uint_least64_t deadline_ns;   /* CLOCK_MONOTONIC; 0 = none */
    atomic_size_t refs;                  /* handles alive + flags linked to it */
    /* Parents, their parents, and so on, each once; fixed at creation. */
    struct interrupt_state **ancestors;
    size_t nancestors;
    struct interrupt_state *next_to_free; /* release_state's work list */
    /* Progress, published by operations for pollers, and the callback they
     * call. The callback pair is plain data: it is set before an operation
     * starts (the documented contract) and read once when it starts. */
    atomic_uint_least64_t progress_done, progress_total;
    atomic_int progress_phase;
    knowhere_progress_fn progress_fn;
    void *progress_user;
    /* Held while the callback runs, so that the operations sharing the flag
     * call it one at a time. Recursive: a callback may itself run an
     * operation with the flag on its own thread, whose final call would
     * otherwise wait for itself. */
    pthread_mutex_t report_lock;
};

struct knowhere_interrupt {
    struct interrupt_state *state;
};

uint64_t kh_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t deadline_after_ms(uint64_t ms) {
    if (ms == 0) return 0;
    uint64_t now = kh_monotonic_ns();
    uint64_t delta = ms > (UINT64_MAX - now) / 1000000u ? UINT64_MAX - now : ms * 1000000u;
    return now + delta;
}

static void free_state(struct interrupt_state *state) {
    pthread_mutex_destroy(&state->report_lock);
    free(state);
}

static CInterrupt new_handle(struct interrupt_state *state) {
    CInterrupt handle = malloc(sizeof *handle);
    if (handle != NULL) handle->state = state;
    return handle;
}

static bool init_report_lock(pthread_mutex_t *lock) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return false;
    bool ok = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) == 0 &&
              pthread_mutex_init(lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    return ok;
}

static CInterrupt create(unsigned char flag, uint64_t deadline_ns) {
    struct interrupt_state *state = calloc(1, sizeof *state);
    if (state == NULL) return NULL;
    if (!init_report_lock(&state->report_lock)) {
        free(state);
        return NULL;
    }
    atomic_init(&state->flag, flag);
    atomic_init(&state->deadline_ns, deadline_ns);
    atomic_init(&state->refs, 1);
    atomic_init(&state->progress_done, 0);
    atomic_init(&state->progress_total, 0);
    atomic_init(&state->progress_phase, KNOWHERE_PHASE_IDLE);
    CInterrupt handle = new_handle(state);
    if (handle == NULL) free_state(state);
    return handle;
}

CInterrupt knowhere_interrupt_create_with_state(bool interrupted) {
    return create(interrupted ? FLAG_INTERRUPTED : FLAG_CLEAR, 0);
}

CInterrupt knowhere_interrupt_create(void) { return create(FLAG_CLEAR, 0); }

CInterrupt knowhere_interrupt_create_with_timeout(uint64_t timeout_ms) {
    return create(FLAG_CLEAR, deadline_after_ms(timeout_ms));
}

/* The flag's own value, turning a passed deadline into FLAG_TIMED_OUT.
 * Without a deadline this is two relaxed loads, as cheap as a plain flag. */
static unsigned char own_flag(struct interrupt_state *state) {
    unsigned char flag = atomic_load_explicit(&state->flag, memory_order_relaxed);
    if (KH_LIKELY(flag != FLAG_CLEAR)) return flag;
    uint64_t deadline = atomic_load_explicit(&state->deadline_ns, memory_order_relaxed);
    if (KH_LIKELY(deadline == 0) || kh_monotonic_ns() < deadline) return FLAG_CLEAR;
    unsigned char expected = FLAG_CLEAR;
    if (atomic_compare_exchange_strong_explicit(&state->flag, &expected, FLAG_TIMED_OUT,
                                                memory_order_relaxed, memory_order_relaxed))
        return FLAG_TIMED_OUT;
    return expected; /* someone else set it first */
}

/* The value operations see: the flag's own, else the first ancestor's that
 * is set. Without ancestors, exactly own_flag. */
static unsigned char current_flag(struct interrupt_state *state) {
    unsigned char flag = own_flag(state);
    for (size_t i = 0; flag == FLAG_CLEAR && i < state->nancestors; i++)
        flag = own_flag(state->ancestors[i]);
    return flag;
}

bool knowhere_interrupt_is_interrupted(CInterrupt interrupt) {
    if (interrupt == NULL) return false;
    return current_flag(interrupt->state) != FLAG_CLEAR;
}

int knowhere_interrupt_interrupt(CInterrupt interrupt) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    (void)knowhere_interrupt_test_and_set(interrupt);
    return KNOWHERE_OK;
}

int knowhere_interrupt_reset(CInterrupt interrupt) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    atomic_store_explicit(&interrupt->state->flag, FLAG_CLEAR, memory_order_relaxed);
    return KNOWHERE_OK;
}

bool knowhere_interrupt_test_and_set(CInterrupt interrupt) {
    if (interrupt == NULL) return false;
    struct interrupt_state *state = interrupt->state;
    /* A passed deadline wins over a later interrupt(): it is observed first. */
    unsigned char expected = current_flag(state);
    if (expected != FLAG_CLEAR) return true;
    return !atomic_compare_exchange_strong_explicit(&state->flag, &expected, FLAG_INTERRUPTED,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed);
}

int knowhere_interrupt_set_deadline(CInterrupt interrupt, uint64_t ms_from_now) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    atomic_store_explicit(&interrupt->state->deadline_ns, deadline_after_ms(ms_from_now),
                          memory_order_relaxed);
    return KNOWHERE_OK;
}

/* The earliest deadline that applies to the flag: its own or an
 * ancestor's (0: none). */
static uint64_t earliest_deadline(const struct interrupt_state *state) {
    uint64_t earliest = atomic_load_explicit(&state->deadline_ns, memory_order_relaxed);
    for (size_t i = 0; i < state->nancestors; i++) {
        uint64_t deadline =
            atomic_load_explicit(&state->ancestors[i]->deadline_ns, memory_order_relaxed);
        if (deadline != 0 && (earliest == 0 || deadline < earliest)) earliest = deadline;
    }
    return earliest;
}

uint64_t knowhere_interrupt_remaining_ms(CInterrupt interrupt) {
    if (interrupt == NULL) return UINT64_MAX;
    uint64_t deadline = earliest_deadline(interrupt->state);
    if (deadline == 0) return UINT64_MAX;
    uint64_t now = kh_monotonic_ns();
    return now >= deadline ? 0 : (deadline - now + 999999u) / 1000000u;
}

CInterrupt knowhere_interrupt_clone(CInterrupt interrupt) {
    if (interrupt == NULL) return NULL;
    struct interrupt_state *state = interrupt->state;
    /* Relaxed is enough to take a reference from one we already hold. */
    atomic_fetch_add_explicit(&state->refs, 1, memory_order_relaxed);
    CInterrupt clone = new_handle(state);
    if (clone == NULL)
        atomic_fetch_sub_explicit(&state->refs, 1, memory_order_release);
    return clone;
}

/* Drops one reference; Release publishes this thread's last use of the
 * state, acquire makes the thread that drops the last reference see every
 * other use first. Returns whether it was the last. */
static bool drop_reference(struct interrupt_state *state) {
    return atomic_fetch_sub_explicit(&state->refs, 1, memory_order_acq_rel) == 1;
}

/* Frees a state whose last reference is gone, and with it the references
 * it holds on its ancestors, which may free them in turn: a work list, not
 * recursion, so that no chain of links can exhaust the stack. */
static void release_state(struct interrupt_state *state) {
    state->next_to_free = NULL;
    while (state != NULL) {
        struct interrupt_state *next = state->next_to_free;
        for (size_t i = 0; i < state->nancestors; i++) {
            struct interrupt_state *ancestor = state->ancestors[i];
            if (drop_reference(ancestor)) {
                ancestor->next_to_free = next;
                next = ancestor;
            }
        }
        free(state->ancestors);
        free_state(state);
        state = next;
    }
}

void knowhere_interrupt_free(CInterrupt interrupt) {
    if (interrupt == NULL) return;
    struct interrupt_state *state = interrupt->state;
    free(interrupt);
    if (drop_reference(state)) release_state(state);
}

/* ---- linked flags ----------------------------------------------------------- */

/* Appends `state` to list[0 .. *n - 1] unless it is there already. */
static void add_ancestor(struct interrupt_state **list, size_t *n, struct interrupt_state *state) {
    for (size_t i = 0; i < *n; i++)
        if (list[i] == state) return;
    list[(*n)++] = state;
}

CInterrupt knowhere_interrupt_create_linked(const CInterrupt *parents, size_t count) {
    /* Room for every parent and every ancestor of each (before removing
     * repeats). */
    size_t room = 0;
    for (size_t p = 0; parents != NULL && p < count; p++) {
        if (parents[p] == NULL) continue;
        size_t more = 1 + parents[p]->state->nancestors;
        if (more > SIZE_MAX / sizeof(struct interrupt_state *) - room) return NULL;
        room += more;
    }
    struct interrupt_state **list = NULL;
    if (room > 0 && (list = malloc(room * sizeof *list)) == NULL) return NULL;
    size_t n = 0;
    for (size_t p = 0; parents != NULL && p < count; p++) {
        if (parents[p] == NULL) continue;
        const struct interrupt_state *parent = parents[p]->state;
        add_ancestor(list, &n, parents[p]->state);
        for (size_t i = 0; i < parent->nancestors; i++) add_ancestor(list, &n, parent->ancestors[i]);
    }
    CInterrupt handle = create(FLAG_CLEAR, 0);
    if (handle == NULL) {
        free(list);
        return NULL;
    }
    /* The caller holds the parents, and each parent holds its ancestors:
     * relaxed is enough to take references from them, as for a clone. */
    for (size_t i = 0; i < n; i++) atomic_fetch_add_explicit(&list[i]->refs, 1, memory_order_relaxed);
    handle->state->ancestors = list;
    handle->state->nancestors = n;
    return handle;
}

int knowhere_interrupt_check(CInterrupt interrupt, knowhere_error **err,
                             const char *message) {
    kh_clear_error(err);
    if (interrupt == NULL) return KNOWHERE_OK;
    unsigned char flag = current_flag(interrupt->state);
    if (KH_LIKELY(flag == FLAG_CLEAR)) return KNOWHERE_OK;
    if (flag == FLAG_TIMED_OUT)
        return knowhere_error_set(err, KNOWHERE_ERR_TIMEOUT,
                                  message ? message : "operation timed out");
    return knowhere_error_set(err, KNOWHERE_ERR_INTERRUPTED,
                              message ? message : "operation interrupted");
}

/* ---- progress ----------------------------------------------------------- */

int knowhere_interrupt_set_progress(CInterrupt interrupt, knowhere_progress_fn fn, void *user) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    interrupt->state->progress_fn = fn;
    interrupt->state->progress_user = fn ? user : NULL;
    return KNOWHERE_OK;
}

int knowhere_interrupt_progress(CInterrupt interrupt, uint64_t *done, uint64_t *total,
                                int *phase) {
    if (interrupt == NULL) return KNOWHERE_ERR_INVALID_ARG;
    struct interrupt_state *state = interrupt->state;
    if (done) *done = atomic_load_explicit(&state->progress_done, memory_order_relaxed);
    if (total) *total = atomic_load_explicit(&state->progress_total, memory_order_relaxed);
    if (phase) *phase = atomic_load_explicit(&state->progress_phase, memory_order_relaxed);
    return KNOWHERE_OK;
}

void kh_interrupt_progress_callback(CInterrupt interrupt, knowhere_progress_fn *fn,
                                    void **user) {
    *fn = interrupt ? interrupt->state->progress_fn : NULL;
    *user = interrupt ? interrupt->state->progress_user : NULL;
}

bool kh_interrupt_try_begin_report(CInterrupt interrupt) {
    return pthread_mutex_trylock(&interrupt->state->report_lock) == 0;
}

void kh_interrupt_begin_report(CInterrupt interrupt) {
    pthread_mutex_lock(&interrupt->state->report_lock);
}

void kh_interrupt_end_report(CInterrupt interrupt) {
    pthread_mutex_unlock(&interrupt->state->report_lock);
}

void kh_interrupt_publish_start(CInterrupt interrupt, int phase, uint64_t total) {
    if (interrupt == NULL) return;
    struct interrupt_state *state = interrupt->state;
    atomic_store_explicit(&state->progress_done, 0, memory_order_relaxed);
    atomic_store_explicit(&state->progress_total, total, memory_order_relaxed);
    atomic_store_explicit(&state->progress_phase, phase, memory_order_relaxed);
}

void kh_interrupt_publish_done(CInterrupt interrupt, uint64_t done) {
    if (interrupt == NULL) return;
    /* Several workers publish: keep the maximum, so pollers never see the
     * count go back. */
    atomic_uint_least64_t *published = &interrupt->state->progress_done;
    uint64_t seen = atomic_load_explicit(published, memory_order_relaxed);
    while (seen < done && !atomic_compare_exchange_weak_explicit(
                              published, &seen, done, memory_order_relaxed,
                              memory_order_relaxed)) {
    }
}
