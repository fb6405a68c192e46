/* threadpool.h — a fixed set of worker threads that run parallel-for loops.
 *
 * The calling thread takes part, so a pool of N threads starts N-1 workers. Tasks are claimed from an
 * atomic counter (dynamic scheduling: uneven rows or cores finish together). One loop at a time per
 * pool; a pool belongs to one pipeline. */
#ifndef NPG_CORE_THREADPOOL_H
#define NPG_CORE_THREADPOOL_H

#include "npugen.h"

typedef struct npg_threadpool npg_threadpool;

/* fn(ctx, task, thread): task in [0, n_tasks), thread in [0, n_threads) (0 = the caller). */
typedef void (*npg_task_fn)(void *ctx, int task, int thread);

/* n_threads <= 0 means one per online core. */
npg_status npg_threadpool_create(int n_threads, npg_threadpool **out);
void npg_threadpool_free(npg_threadpool *tp);
int npg_threadpool_size(const npg_threadpool *tp);
/* Runs fn for every task and returns when all finished. tp NULL runs serially on the caller. */
void npg_threadpool_run(npg_threadpool *tp, int n_tasks, npg_task_fn fn, void *ctx);

#endif
