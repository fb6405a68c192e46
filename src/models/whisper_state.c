/* whisper_state.c — what a Whisper forward state holds beyond the decoder's: encoder scratch for one
 * 30 s window, the cross-attention K/V slots, the alignment pass's cache; and the model's facts the
 * Whisper pipeline reads. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/whisper.h"

/* Zeroed floats (calloc: large blocks arrive as untouched zero pages). */
static float *floats(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }

npg_status npg_whisper_state_create(const npg_model *m, const npg_forward_state *s, npg_whisper_state **out) {
    const npg_model_config *c = &m->cfg;
    const npg_whisper_dims *dm = &c->whisper;
    int64_t T = dm->n_audio_ctx, d = c->hidden;
    int64_t cin = dm->n_mels > d ? dm->n_mels : d;
    int64_t wide_att = T > c->max_pos ? T : c->max_pos;
    npg_whisper_state *w = calloc(1, sizeof *w);
    NPG_CHECK_ALLOC(w);
    w->T = T;
    w->last_slot = -1;
    w->col = floats(2 * T * cin * 3);
    w->c1 = floats(2 * T * d);
    w->x = floats(T * d);
    w->xb = floats(T * d);
    w->q = floats(T * d);
    w->k = floats(T * d);
    w->v = floats(T * d);
    w->o = floats(T * d);
    w->h = floats(T * dm->enc_ffn);
    w->kt = floats(T * d);
    w->scores = floats(T * T);
    w->att = floats((int64_t)s->n_threads * wide_att);
    w->align_k = calloc((size_t)c->n_layers, sizeof *w->align_k);
    w->align_v = calloc((size_t)c->n_layers, sizeof *w->align_v);
    w->no_logits = calloc((size_t)s->max_batch, 1);
    w->align_index = malloc((size_t)(c->n_layers * c->n_heads) * sizeof *w->align_index);
    bool ok = w->col && w->c1 && w->x && w->xb && w->q && w->k && w->v && w->o && w->h && w->kt &&
              w->scores && w->att && w->align_k && w->align_v && w->align_index && w->no_logits;
    for (int64_t l = 0; ok && l < c->n_layers; l++) {
        w->align_k[l] = floats(c->max_pos * d);
        w->align_v[l] = floats(c->max_pos * d);
        ok = w->align_k[l] && w->align_v[l];
    }
    npg_status st = ok ? npg_whisper_state_reserve_slots(w, c->n_layers, s->n_seqs)
                       : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the Whisper encoder's buffers (%lld rows)",
                                  (long long)T);
    if (st != NPG_OK) {
        npg_whisper_state_free(w, c->n_layers);
        return st;
    }
    *out = w;
    return NPG_OK;
}

void npg_whisper_state_free(npg_whisper_state *w, int64_t n_layers) {
    if (!w)
        return;
    for (int64_t i = 0; i < w->n_slots * n_layers; i++) {
        free(w->cross_k[i]);
        free(w->cross_v[i]);
    }
    for (int64_t l = 0; l < n_layers; l++) {
        if (w->align_k)
            free(w->align_k[l]);
        if (w->align_v)
            free(w->align_v[l]);
    }
    free(w->cross_k);
    free(w->cross_v);
    free(w->cross_of);
    free(w->col);
    free(w->c1);
    free(w->x);
    free(w->xb);
    free(w->q);
    free(w->k);
    free(w->v);
    free(w->o);
    free(w->h);
    free(w->kt);
    free(w->scores);
    free(w->att);
    free(w->align_k);
    free(w->align_v);
    free(w->align_index);
    free(w->no_logits);
    free(w);
}

npg_status npg_whisper_state_reserve_slots(npg_whisper_state *w, int64_t n_layers, int64_t n_slots) {
    if (n_slots <= w->n_slots)
        return NPG_OK;
    float **k = realloc(w->cross_k, (size_t)(n_slots * n_layers) * sizeof *k);
    if (k)
        w->cross_k = k;
    float **v = k ? realloc(w->cross_v, (size_t)(n_slots * n_layers) * sizeof *v) : NULL;
    if (v)
        w->cross_v = v;
    int64_t *of = v ? realloc(w->cross_of, (size_t)n_slots * sizeof *of) : NULL;
    if (of)
        w->cross_of = of;
    if (!k || !v || !of)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the cross-attention slots of %lld sequences",
                        (long long)n_slots);
    for (int64_t i = w->n_slots * n_layers; i < n_slots * n_layers; i++)
        w->cross_k[i] = w->cross_v[i] = NULL;
    for (int64_t i = w->n_slots; i < n_slots; i++)
        w->cross_of[i] = -1;
    w->n_slots = n_slots;
    return NPG_OK;
}

npg_status npg_whisper_state_reserve_slot(npg_whisper_state *w, const npg_model *m, int64_t slot) {
    int64_t L = m->cfg.n_layers, n = w->T * m->cfg.hidden;
    if (slot < 0 || slot >= w->n_slots)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "Whisper: sequence %lld is outside the %lld the state holds",
                        (long long)slot, (long long)w->n_slots);
    for (int64_t l = 0; l < L; l++) {
        float **k = &w->cross_k[slot * L + l], **v = &w->cross_v[slot * L + l];
        if (!*k)
            *k = floats(n);
        if (!*v)
            *v = floats(n);
        if (!*k || !*v)
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the cross-attention K/V (%lld rows)",
                            (long long)w->T);
    }
    return NPG_OK;
}

npg_status npg_whisper_info_get(const npg_model *m, npg_whisper_info *out) {
    if (!m || m->cfg.arch != NPG_ARCH_WHISPER || !m->whisper)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s is not a Whisper model", m ? m->cfg.arch_name : "(null)");
    const npg_whisper_dims *d = &m->cfg.whisper;
    *out = (npg_whisper_info){.n_mels = d->n_mels,
                              .n_frames = 2 * d->n_audio_ctx,
                              .n_audio_ctx = d->n_audio_ctx,
                              .n_text_ctx = m->cfg.max_pos,
                              .vocab = m->cfg.vocab,
                              .d_model = m->cfg.hidden,
                              .n_text_layers = m->cfg.n_layers,
                              .n_text_heads = m->cfg.n_heads,
                              .n_align = d->n_align,
                              .align = (const int16_t(*)[2])d->align};
    return NPG_OK;
}
