/* npu_verify.c — background verification of a full blob's weights, stage by stage (npu_verify.h). */
#include "device/npu/npu_verify.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "device/npu/npu_blob.h"

enum { MAX_THREADS = 8 };

struct npu_verify {
    const npu_blob *b;
    char *path;
    int64_t n_stages;
    uint32_t *order;     /* tensor indices sorted by stage */
    int64_t *stage_end;  /* [n_stages] index into order past the stage's last tensor */
    atomic_uint next;    /* next position in order to claim */
    atomic_uint *done;   /* [n_stages] tensors of the stage verified */
    atomic_int bad;      /* 1 + index of the first corrupted tensor found, 0 if none */
    atomic_bool stop;
    atomic_bool all_ok;
    bool sync_ready; /* mutex and cond initialised */
    pthread_mutex_t mutex;
    pthread_cond_t cond; /* broadcast after every verified tensor */
    pthread_t threads[MAX_THREADS];
    int n_threads;
};

static int64_t stage_of(const npu_blob *b, uint32_t i) {
    if (b->layers[i] >= 0)
        return 1 + b->layers[i];
    return b->roles[i] == NPG_TENSOR_EMBED ? 0 : b->config.n_layers + 1;
}

static void *verify_main(void *arg) {
    npu_verify *v = arg;
    const npu_blob *b = v->b;
    const uint8_t *ws = b->map.data + b->header.weights_offset;
    for (;;) {
        unsigned at = atomic_fetch_add(&v->next, 1u);
        if (at >= b->m->n_tensors || atomic_load(&v->stop))
            break;
        uint32_t i = v->order[at];
        const npu_blob_tensor *t = &b->tensors[i];
        npg_hash h;
        npg_hash_init(&h, 0);
        npg_hash_update(&h, ws + t->data_offset, t->data_bytes);
        if (t->scales_count)
            npg_hash_update(&h, ws + t->scales_offset, t->scales_count * sizeof(float));
        if (npg_hash_final(&h) != t->hash) {
            int none = 0;
            atomic_compare_exchange_strong(&v->bad, &none, (int)i + 1);
        }
        atomic_fetch_add(&v->done[stage_of(b, i)], 1u);
        pthread_mutex_lock(&v->mutex);
        pthread_cond_broadcast(&v->cond);
        pthread_mutex_unlock(&v->mutex);
    }
    return NULL;
}

npg_status npu_verify_start(const npu_blob *b, const char *path, int threads, npu_verify **out) {
    npu_verify *v = calloc(1, sizeof *v);
    NPG_CHECK_ALLOC(v);
    uint32_t n = b->m->n_tensors;
    v->b = b;
    v->path = strdup(path);
    v->n_stages = b->config.n_layers + 2;
    v->order = malloc((n ? n : 1) * sizeof *v->order);
    v->stage_end = calloc((size_t)v->n_stages, sizeof *v->stage_end);
    v->done = calloc((size_t)v->n_stages, sizeof *v->done);
    if (!v->path || !v->order || !v->stage_end || !v->done) {
        npu_verify_free(v);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory verifying %s", path);
    }
    /* counting sort by stage: stage_end[s] first holds the stage's count */
    for (uint32_t i = 0; i < n; i++)
        v->stage_end[stage_of(b, i)]++;
    for (int64_t s = 1; s < v->n_stages; s++)
        v->stage_end[s] += v->stage_end[s - 1];
    int64_t *fill = calloc((size_t)v->n_stages, sizeof *fill);
    if (!fill) {
        npu_verify_free(v);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory verifying %s", path);
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t s = stage_of(b, i);
        v->order[(s ? v->stage_end[s - 1] : 0) + fill[s]++] = i;
    }
    free(fill);
    pthread_mutex_init(&v->mutex, NULL);
    pthread_cond_init(&v->cond, NULL);
    v->sync_ready = true;
    if (threads <= 0) { /* NUM_THREADS 0: one per core, as the thread pool */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    threads = threads > MAX_THREADS ? MAX_THREADS : threads;
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&v->threads[t], NULL, verify_main, v) != 0) {
            npu_verify_free(v);
            return npg_fail(NPG_ERR_INTERNAL, "cannot start the thread verifying %s", path);
        }
        v->n_threads++;
    }
    *out = v;
    return NPG_OK;
}

static bool stages_done(npu_verify *v, int64_t stage) {
    for (int64_t s = 0; s <= stage; s++) {
        int64_t count = v->stage_end[s] - (s ? v->stage_end[s - 1] : 0);
        if ((int64_t)atomic_load(&v->done[s]) < count)
            return false;
    }
    return true;
}

npg_status npu_verify_wait(npu_verify *v, int64_t stage) {
    if (atomic_load_explicit(&v->all_ok, memory_order_acquire))
        return NPG_OK;
    stage = stage < 0 ? 0 : stage >= v->n_stages ? v->n_stages - 1 : stage;
    pthread_mutex_lock(&v->mutex);
    /* a corrupted tensor fails the pass whichever stage it belongs to: once found, nothing more runs */
    while (!atomic_load(&v->bad) && !stages_done(v, stage))
        pthread_cond_wait(&v->cond, &v->mutex);
    pthread_mutex_unlock(&v->mutex);
    int bad = atomic_load(&v->bad);
    if (bad)
        return npg_fail(NPG_ERR_CHECKSUM,
                        "%s: tensor '%s' of the weights section does not match its checksum (corrupted); nothing was "
                        "generated",
                        v->path, v->b->tensors[bad - 1].name);
    if (stage == v->n_stages - 1)
        atomic_store_explicit(&v->all_ok, true, memory_order_release);
    return NPG_OK;
}

npg_status npu_verify_hook(void *user, int64_t stage) { return npu_verify_wait(user, stage); }

void npu_verify_free(npu_verify *v) {
    if (!v)
        return;
    atomic_store(&v->stop, true);
    for (int t = 0; t < v->n_threads; t++)
        pthread_join(v->threads[t], NULL);
    if (v->sync_ready) {
        pthread_mutex_destroy(&v->mutex);
        pthread_cond_destroy(&v->cond);
    }
    free(v->path);
    free(v->order);
    free(v->stage_end);
    free(v->done);
    free(v);
}
