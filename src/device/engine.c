/* engine.c — the batched engine operations, with one clear refusal for devices that have none. */
#include "core/error.h"
#include "device/engine.h"
#include "models/whisper.h"

static npg_status no_batch(const npg_engine *e) {
    return npg_fail(NPG_ERR_UNSUPPORTED,
                    "device %s runs one sequence (its static plan is built for one): batched input and several "
                    "sequences at once need the CPU device",
                    e->ops->device);
}

npg_status npg_engine_reserve_seqs(npg_engine *e, size_t n_seqs, size_t total) {
    if (!e->ops->reserve_seqs)
        return n_seqs <= 1 ? e->ops->reserve(e, total) : no_batch(e);
    return e->ops->reserve_seqs(e, n_seqs, total);
}

npg_status npg_engine_copy_seq(npg_engine *e, int32_t src, int32_t dst, size_t n_pos) {
    return e->ops->copy_seq ? e->ops->copy_seq(e, src, dst, n_pos) : no_batch(e);
}

npg_status npg_engine_forward(npg_engine *e, const npg_batch *b, float **logits) {
    return e->ops->forward ? e->ops->forward(e, b, logits) : no_batch(e);
}

size_t npg_engine_max_rows(const npg_engine *e) { return e->ops->forward ? e->max_rows : 0; }

npg_status npg_engine_encode(npg_engine *e, const float *features, size_t n_frames, int32_t seq) {
    if (!e->ops->encode)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s has no encoder: the encode step is for encoder-decoder models",
                        e->model->cfg.arch_name);
    return e->ops->encode(e, features, n_frames, seq);
}

npg_status npg_whisper_alignment_weights(npg_engine *e, const int32_t *ids, size_t n, float *out) {
    if (!e || !e->ops->align)
        return npg_fail(NPG_ERR_UNSUPPORTED, "alignment weights: %s is not a Whisper model on this device",
                        e ? e->model->cfg.arch_name : "(no engine)");
    return e->ops->align(e, ids, n, out);
}

size_t npg_engine_span_chunk(const int32_t *span, size_t done, size_t n, size_t max_rows) {
    size_t chunk = n - done < max_rows ? n - done : max_rows;
    if (!span || done + chunk == n)
        return chunk;
    size_t end = done + chunk; /* rows end-1 and end in one span: cut at that span's start */
    if (span[end] == 0 || span[end - 1] != span[end])
        return chunk;
    size_t start = end - 1;
    while (start > done && span[start - 1] == span[end])
        start--;
    return start - done; /* 0: the span starts at `done` and is longer than max_rows */
}
