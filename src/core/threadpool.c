#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"

/* Tasks are claimed from one 64-bit counter holding (generation << 32 | next task). A worker that
 * wakes late — after the loop it was woken for is finished and maybe the next one started — can
 * therefore never run a stale task: its claim fails because the generation moved on. And the caller
 * waits for the loop's tasks to complete, not for every worker to wake up, so a descheduled worker on
 * a busy machine costs nothing. */
struct npg_threadpool {
    int n_threads;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;      /* workers wait here for a new generation */
    pthread_cond_t done;      /* the caller waits here for the loop to finish */
    atomic_uint generation;   /* bumped (under mutex) for every loop */
    bool stop;                /* guarded by mutex */
    /* the current loop; written under mutex before the generation moves */
    npg_task_fn fn;
    void *ctx;
    int n_tasks;
    atomic_uint_fast64_t next; /* generation << 32 | next task index */
    atomic_int completed;      /* tasks of the current loop finished */
};

typedef struct worker_arg {
    npg_threadpool *tp;
    int index;
} worker_arg;

/* Claims and runs tasks of loop `gen` until none is left (or the loop is over). */
static void run_tasks(npg_threadpool *tp, unsigned gen, npg_task_fn fn, void *ctx, int n_tasks, int thread) {
    uint_fast64_t v = atomic_load_explicit(&tp->next, memory_order_acquire);
    for (;;) {
        if ((unsigned)(v >> 32) != gen || (int)(v & 0xffffffffu) >= n_tasks)
            return;
        if (!atomic_compare_exchange_weak_explicit(&tp->next, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        fn(ctx, (int)(v & 0xffffffffu), thread);
        if (atomic_fetch_add_explicit(&tp->completed, 1, memory_order_acq_rel) + 1 == n_tasks) {
            pthread_mutex_lock(&tp->mutex);
            pthread_cond_signal(&tp->done);
            pthread_mutex_unlock(&tp->mutex);
            return;
        }
        v = atomic_load_explicit(&tp->next, memory_order_acquire);
    }
}

/* How long an idle worker polls for the next loop before sleeping: decode runs loops back to back,
 * a few microseconds apart, and a condition-variable wake-up costs more than that. */
enum { IDLE_SPINS = 4000 };

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    npg_threadpool *tp = arg.tp;
    /* generation 0 is the pool's creation, not whatever loop runs when this thread first gets a core:
     * a worker that starts late must still join the loop in progress (a loop whose tasks wait for each
     * other, forward_decode.c's, needs every worker) */
    unsigned seen = 0;
    for (;;) {
        for (int i = 0; i < IDLE_SPINS && atomic_load_explicit(&tp->generation, memory_order_acquire) == seen; i++)
            cpu_relax();
        pthread_mutex_lock(&tp->mutex);
        while (!tp->stop && atomic_load(&tp->generation) == seen)
            pthread_cond_wait(&tp->wake, &tp->mutex);
        if (tp->stop) {
            pthread_mutex_unlock(&tp->mutex);
            break;
        }
        seen = atomic_load(&tp->generation);
        npg_task_fn fn = tp->fn;
        void *ctx = tp->ctx;
        int n_tasks = tp->n_tasks;
        pthread_mutex_unlock(&tp->mutex);
        run_tasks(tp, seen, fn, ctx, n_tasks, arg.index);
    }
    return NULL;
}

npg_status npg_threadpool_create(int n_threads, npg_threadpool **out) {
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > 256)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "NUM_THREADS: %d is more than 256", n_threads);
    npg_threadpool *tp = calloc(1, sizeof *tp);
    NPG_CHECK_ALLOC(tp);
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mutex, NULL);
    pthread_cond_init(&tp->wake, NULL);
    pthread_cond_init(&tp->done, NULL);
    atomic_init(&tp->generation, 0u);
    atomic_init(&tp->next, 0u);
    atomic_init(&tp->completed, 0);
    if (n_threads > 1) {
        tp->workers = calloc((size_t)n_threads - 1, sizeof *tp->workers);
        if (!tp->workers) {
            npg_threadpool_free(tp);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory creating %d threads", n_threads);
        }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *arg = malloc(sizeof *arg);
            if (arg) {
                arg->tp = tp;
                arg->index = i;
            }
            if (!arg || pthread_create(&tp->workers[i - 1], NULL, worker_main, arg) != 0) {
                free(arg);
                tp->n_threads = i; /* only i-1 workers exist */
                npg_threadpool_free(tp);
                return npg_fail(NPG_ERR_INTERNAL, "cannot start worker thread %d of %d", i, n_threads);
            }
        }
    }
    *out = tp;
    return NPG_OK;
}

void npg_threadpool_free(npg_threadpool *tp) {
    if (!tp)
        return;
    pthread_mutex_lock(&tp->mutex);
    tp->stop = true;
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mutex);
    for (int i = 1; i < tp->n_threads && tp->workers; i++)
        pthread_join(tp->workers[i - 1], NULL);
    free(tp->workers);
    pthread_mutex_destroy(&tp->mutex);
    pthread_cond_destroy(&tp->wake);
    pthread_cond_destroy(&tp->done);
    free(tp);
}

int npg_threadpool_size(const npg_threadpool *tp) { return tp ? tp->n_threads : 1; }

void npg_threadpool_run(npg_threadpool *tp, int n_tasks, npg_task_fn fn, void *ctx) {
    if (n_tasks <= 0)
        return;
    if (!tp || tp->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&tp->mutex);
    unsigned gen = atomic_load(&tp->generation) + 1;
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n_tasks = n_tasks;
    atomic_store(&tp->completed, 0);
    atomic_store_explicit(&tp->next, (uint_fast64_t)gen << 32, memory_order_release);
    atomic_store_explicit(&tp->generation, gen, memory_order_release);
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mutex);
    run_tasks(tp, gen, fn, ctx, n_tasks, 0);
    for (int i = 0; i < IDLE_SPINS && atomic_load_explicit(&tp->completed, memory_order_acquire) < n_tasks; i++)
        cpu_relax();
    pthread_mutex_lock(&tp->mutex);
    while (atomic_load(&tp->completed) < n_tasks)
        pthread_cond_wait(&tp->done, &tp->mutex);
    pthread_mutex_unlock(&tp->mutex);
}
