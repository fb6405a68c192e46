/* serve_single.c — the turn of a model whose pipeline runs one request at a time (Whisper, VLM: no
 * batched scheduler). Requests wait on the model's mutex; more than 1 + --queue of them at once is
 * 429 with Retry-After, as a full scheduler queue is for a text model. */
#include <stdio.h>

#include "serve.h"

bool serve_single_enter(serve_model *model, serve_reply *r) {
    pthread_mutex_lock(&model->run_mu);
    size_t ahead = model->pending;
    bool ok = ahead <= model->max_queue;
    if (ok)
        model->pending++;
    pthread_mutex_unlock(&model->run_mu);
    if (!ok) {
        serve_reply_error(r, 429, "rate_limit_exceeded", NULL, "rate_limit_exceeded",
                          "model %s is busy: %zu requests are waiting (--queue); retry after a moment", model->name,
                          ahead);
        r->retry_after = 1;
        return false;
    }
    pthread_mutex_lock(&model->turn_mu);
    return true;
}

void serve_single_leave(serve_model *model) {
    pthread_mutex_unlock(&model->turn_mu);
    pthread_mutex_lock(&model->run_mu);
    model->pending--;
    pthread_mutex_unlock(&model->run_mu);
}
