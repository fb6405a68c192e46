#include "core/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/error.h"

struct npg_threadpool {
    int n_threads;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;     /* workers wait here for a new generation */
    pthread_cond_t done;     /* the caller waits here for the loop to finish */
    unsigned generation;     /* bumped for every loop; guarded by mutex */
    bool stop;               /* guarded by mutex */
    int busy;                /* workers still inside the current loop; guarded by mutex */
    /* the current loop */
    npg_task_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next_task;
};

typedef struct worker_arg {
    npg_threadpool *tp;
    int index;
} worker_arg;

static void run_tasks(npg_threadpool *tp, int thread) {
    for (;;) {
        int t = atomic_fetch_add_explicit(&tp->next_task, 1, memory_order_relaxed);
        if (t >= tp->n_tasks)
            break;
        tp->fn(tp->ctx, t, thread);
    }
}

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    npg_threadpool *tp = arg.tp;
    unsigned seen = 0;
    pthread_mutex_lock(&tp->mutex);
    for (;;) {
        while (!tp->stop && tp->generation == seen)
            pthread_cond_wait(&tp->wake, &tp->mutex);
        if (tp->stop)
            break;
        seen = tp->generation;
        pthread_mutex_unlock(&tp->mutex);
        run_tasks(tp, arg.index);
        pthread_mutex_lock(&tp->mutex);
        if (--tp->busy == 0)
            pthread_cond_signal(&tp->done);
    }
    pthread_mutex_unlock(&tp->mutex);
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
    atomic_init(&tp->next_task, 0);
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
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n_tasks = n_tasks;
    atomic_store(&tp->next_task, 0);
    tp->busy = tp->n_threads - 1;
    tp->generation++;
    pthread_cond_broadcast(&tp->wake);
    pthread_mutex_unlock(&tp->mutex);
    run_tasks(tp, 0);
    pthread_mutex_lock(&tp->mutex);
    while (tp->busy > 0)
        pthread_cond_wait(&tp->done, &tp->mutex);
    pthread_mutex_unlock(&tp->mutex);
}
