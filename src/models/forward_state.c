/* forward_state.c — allocation of everything a forward pass writes: KV cache, RoPE tables, activations. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "models/forward_internal.h"
#include "models/model.h"
#include "models/whisper.h"

/* Zeroed, 64-byte-aligned float buffers. They come from calloc, which takes large blocks straight
 * from the kernel as zero pages and does not touch them: a page is faulted in only when a forward pass
 * first writes it (page faults are slow on virtual machines, and a 1.1B model's state is ~100 MB of
 * which a short prompt touches little). The aligned pointer sits past calloc's block, whose address
 * is stored just below it for free_floats. */
static void *alloc_floats(int64_t n) {
    if (n <= 0)
        n = 1;
    char *base = calloc(1, (size_t)n * sizeof(float) + 64 + sizeof(void *));
    if (!base)
        return NULL;
    uintptr_t a = ((uintptr_t)(base + sizeof(void *)) + 63) & ~(uintptr_t)63;
    ((void **)a)[-1] = base;
    return (void *)a;
}

static void free_floats(void *p) {
    if (p)
        free(((void **)p)[-1]);
}

/* inv_freq[i] for i < rot/2, following transformers' float32 arithmetic (modeling_rope_utils.py):
 * 1 / base^(2i / rot), then the rope_scaling adjustment. long_factors picks longrope's long_factor
 * list (ignored by the other types). */
static void rope_inv_freq(const npg_rope_config *r, int64_t rot, bool long_factors, float *inv) {
    int64_t half = rot / 2;
    for (int64_t i = 0; i < half; i++) {
        float expo = (float)(2 * i) / (float)rot;
        float base = powf(r->theta, expo);
        switch (r->type) {
        case NPG_ROPE_DEFAULT:
            inv[i] = 1.0f / base;
            break;
        case NPG_ROPE_LINEAR:
            inv[i] = (1.0f / base) / r->factor;
            break;
        case NPG_ROPE_LLAMA3: {
            float f = 1.0f / base;
            float old = (float)r->original_max_pos;
            float low_wavelen = old / r->low_freq_factor;
            float high_wavelen = old / r->high_freq_factor;
            float wavelen = 2.0f * (float)M_PI / f;
            float scaled = wavelen > low_wavelen ? f / r->factor : f;
            if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {
                float smooth = (old / wavelen - r->low_freq_factor) / (r->high_freq_factor - r->low_freq_factor);
                scaled = (1.0f - smooth) * scaled / r->factor + smooth * scaled;
            }
            inv[i] = scaled;
            break;
        }
        case NPG_ROPE_LONGROPE: {
            const float *ext = long_factors ? r->long_factor : r->short_factor;
            inv[i] = 1.0f / (ext[i] * base);
            break;
        }
        }
    }
}

/* cos/sin rows [from, to) × attention_factor. Longrope: short factors below original_max_pos and long
 * ones from it on, unless all_long. */
static void fill_rope(const npg_rope_config *r, int64_t rot, int64_t from, int64_t to, bool all_long, float *cos_,
                      float *sin_) {
    int64_t half = rot / 2;
    float inv[NPG_MAX_ROPE_FACTORS * 2];
    int computed_for = -1; /* longrope switches factor sets at original_max_pos */
    for (int64_t p = from; p < to; p++) {
        int key = (r->type == NPG_ROPE_LONGROPE && (all_long || p >= r->original_max_pos)) ? 1 : 0;
        if (computed_for != key) {
            rope_inv_freq(r, rot, key == 1, inv);
            computed_for = key;
        }
        for (int64_t i = 0; i < half; i++) {
            float angle = (float)p * inv[i];
            cos_[p * half + i] = cosf(angle) * r->attention_factor;
            sin_[p * half + i] = sinf(angle) * r->attention_factor;
        }
    }
}

static bool rope_equal(const npg_rope_config *a, const npg_rope_config *b) {
    return a->type == b->type && a->theta == b->theta && a->factor == b->factor;
}

npg_status npg_forward_state_reserve_ctx(npg_forward_state *s, const npg_model *m, int64_t max_ctx) {
    const npg_model_config *c = &m->cfg;
    if (max_ctx <= s->max_ctx)
        return NPG_OK;
    int64_t kvd = c->n_kv_heads * c->head_dim, half = c->rotary_dim / 2;
    for (int64_t l = 0; l < s->n_seqs * c->n_layers; l++) {
        float *k = alloc_floats(max_ctx * kvd), *v = alloc_floats(max_ctx * kvd);
        if (!k || !v) {
            free_floats(k);
            free_floats(v);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory growing the KV cache to %lld positions",
                            (long long)max_ctx);
        }
        if (s->k_cache[l]) {
            memcpy(k, s->k_cache[l], (size_t)(s->max_ctx * kvd) * sizeof(float));
            memcpy(v, s->v_cache[l], (size_t)(s->max_ctx * kvd) * sizeof(float));
        }
        free_floats(s->k_cache[l]);
        free_floats(s->v_cache[l]);
        s->k_cache[l] = k;
        s->v_cache[l] = v;
    }
    bool separate_local = !rope_equal(&c->rope, &c->rope_local);
    float *tabs[4] = {alloc_floats(max_ctx * half), alloc_floats(max_ctx * half),
                      separate_local ? alloc_floats(max_ctx * half) : NULL,
                      separate_local ? alloc_floats(max_ctx * half) : NULL};
    /* score rows of one GQA group's query heads per thread (forward.c attends a group at once) */
    int64_t group = c->n_kv_heads > 0 && c->n_heads > c->n_kv_heads ? c->n_heads / c->n_kv_heads : 1;
    float *att = alloc_floats((int64_t)s->n_threads * group * max_ctx);
    if (!tabs[0] || !tabs[1] || (separate_local && (!tabs[2] || !tabs[3])) || !att) {
        for (int i = 0; i < 4; i++)
            free_floats(tabs[i]);
        free_floats(att);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for RoPE tables of %lld positions", (long long)max_ctx);
    }
    fill_rope(&c->rope, c->rotary_dim, 0, max_ctx, false, tabs[0], tabs[1]);
    if (separate_local)
        fill_rope(&c->rope_local, c->rotary_dim, 0, max_ctx, false, tabs[2], tabs[3]);
    /* longrope: a call reaching past original_max_pos rotates its lower positions with long factors */
    int64_t long_rows = 0;
    if (c->rope.type == NPG_ROPE_LONGROPE && max_ctx > c->rope.original_max_pos)
        long_rows = c->rope.original_max_pos;
    float *long_tabs[2] = {NULL, NULL};
    if (long_rows > 0) {
        long_tabs[0] = alloc_floats(long_rows * half);
        long_tabs[1] = alloc_floats(long_rows * half);
        if (!long_tabs[0] || !long_tabs[1]) {
            for (int i = 0; i < 4; i++)
                free_floats(tabs[i]);
            free_floats(long_tabs[0]);
            free_floats(long_tabs[1]);
            free_floats(att);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for longrope tables of %lld positions",
                            (long long)long_rows);
        }
        fill_rope(&c->rope, c->rotary_dim, 0, long_rows, true, long_tabs[0], long_tabs[1]);
    }
    free_floats(s->rope_cos_long);
    free_floats(s->rope_sin_long);
    s->rope_cos_long = long_tabs[0];
    s->rope_sin_long = long_tabs[1];
    if (s->rope_cos_local != s->rope_cos) {
        free_floats(s->rope_cos_local);
        free_floats(s->rope_sin_local);
    }
    free_floats(s->rope_cos);
    free_floats(s->rope_sin);
    free_floats(s->att);
    s->rope_cos = tabs[0];
    s->rope_sin = tabs[1];
    s->rope_cos_local = separate_local ? tabs[2] : tabs[0];
    s->rope_sin_local = separate_local ? tabs[3] : tabs[1];
    s->att = att;
    s->max_ctx = max_ctx;
    return NPG_OK;
}

npg_status npg_forward_state_create(const npg_model *m, int64_t max_batch, int64_t max_ctx, npg_threadpool *pool,
                                    npg_isa isa, npg_forward_state **out) {
    const npg_model_config *c = &m->cfg;
    if (max_batch <= 0 || max_ctx <= 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "forward state needs a positive batch and context");
    npg_forward_state *s = calloc(1, sizeof *s);
    NPG_CHECK_ALLOC(s);
    s->max_batch = max_batch;
    s->n_layers = c->n_layers;
    s->n_seqs = 1;
    s->n_threads = npg_threadpool_size(pool);
    s->compute.pool = pool;
    s->compute.isa = isa;
    int64_t qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, H = c->hidden;
    int64_t wide = H > qd ? H : qd;
    s->k_cache = calloc((size_t)c->n_layers, sizeof(float *));
    s->v_cache = calloc((size_t)c->n_layers, sizeof(float *));
    s->x = alloc_floats(max_batch * H);
    s->xb = alloc_floats(max_batch * wide);
    s->q = alloc_floats(max_batch * (qd + 2 * kvd));
    s->k = alloc_floats(max_batch * kvd);
    s->v = alloc_floats(max_batch * kvd);
    s->proj = alloc_floats(max_batch * H);
    s->gate = alloc_floats(max_batch * 2 * c->ffn);
    s->up = alloc_floats(max_batch * c->ffn);
    s->logits = alloc_floats(max_batch * c->vocab);
    s->row_pos = calloc((size_t)max_batch, sizeof *s->row_pos);
    s->row_seq = calloc((size_t)max_batch, sizeof *s->row_seq);
    s->row_end = calloc((size_t)max_batch, sizeof *s->row_end);
    s->row_span = calloc((size_t)max_batch, sizeof *s->row_span);
    s->row_out = calloc((size_t)max_batch, sizeof *s->row_out);
    s->stage_pos = calloc((size_t)max_batch, sizeof *s->stage_pos);
    s->stage_want = calloc((size_t)max_batch, sizeof *s->stage_want);
    npg_status st = NPG_OK;
    if (!s->k_cache || !s->v_cache || !s->x || !s->xb || !s->q || !s->k || !s->v || !s->proj || !s->gate || !s->up ||
        !s->logits || !s->row_pos || !s->row_seq || !s->row_end || !s->row_span || !s->row_out ||
        !s->stage_pos || !s->stage_want)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for activations (batch %lld)", (long long)max_batch);
    int64_t max_k = c->ffn > wide ? c->ffn : wide;
    if (st == NPG_OK)
        st = npg_compute_reserve(&s->compute, max_batch, max_k);
    if (st == NPG_OK)
        st = npg_forward_state_reserve_ctx(s, m, max_ctx);
    if (st == NPG_OK && s->n_threads > 1 && !m->whisper)
        st = npg_fwd_decode_reserve(m, s); /* the one-region decode step allocates nothing per token */
    if (st == NPG_OK && m->whisper) {
        /* the encoder's matmuls: 2T rows (conv1), inputs up to max(T, ffn, 3 max(n_mels, d)) wide */
        const npg_whisper_dims *w = &c->whisper;
        int64_t k = w->n_audio_ctx > w->enc_ffn ? w->n_audio_ctx : w->enc_ffn;
        int64_t cin = 3 * (w->n_mels > H ? w->n_mels : H);
        st = npg_compute_reserve(&s->compute, 2 * w->n_audio_ctx, k > cin ? k : cin);
        if (st == NPG_OK)
            st = npg_whisper_state_create(m, s, &s->whisper);
    }
    if (st != NPG_OK) {
        npg_forward_state_free(s);
        return st;
    }
    *out = s;
    return NPG_OK;
}

void npg_forward_state_free(npg_forward_state *s) {
    if (!s)
        return;
    for (int64_t l = 0; l < s->n_seqs * s->n_layers; l++) {
        if (s->k_cache)
            free_floats(s->k_cache[l]);
        if (s->v_cache)
            free_floats(s->v_cache[l]);
    }
    free(s->k_cache);
    free(s->v_cache);
    if (s->rope_cos_local != s->rope_cos) {
        free_floats(s->rope_cos_local);
        free_floats(s->rope_sin_local);
    }
    free_floats(s->rope_cos);
    free_floats(s->rope_sin);
    free_floats(s->rope_cos_long);
    free_floats(s->rope_sin_long);
    free_floats(s->att);
    free_floats(s->x);
    free_floats(s->xb);
    free_floats(s->q);
    free_floats(s->k);
    free_floats(s->v);
    free_floats(s->proj);
    free_floats(s->gate);
    free_floats(s->up);
    free_floats(s->logits);
    free(s->row_pos);
    free(s->row_seq);
    free(s->row_end);
    free(s->row_span);
    free(s->row_out);
    free(s->stage_pos);
    free(s->stage_want);
    free(s->team_scratch);
    npg_whisper_state_free(s->whisper, s->n_layers);
    npg_compute_release(&s->compute);
    free(s);
}

npg_status npg_forward_state_reserve_seqs(npg_forward_state *s, const npg_model *m, int64_t n_seqs) {
    if (n_seqs <= s->n_seqs)
        return NPG_OK;
    int64_t L = s->n_layers, kvd = m->cfg.n_kv_heads * m->cfg.head_dim;
    if (s->whisper) /* first: more slots than sequences is harmless if the caches fail below */
        NPG_TRY(npg_whisper_state_reserve_slots(s->whisper, L, n_seqs));
    float **k = realloc(s->k_cache, (size_t)(n_seqs * L) * sizeof *k);
    if (k)
        s->k_cache = k;
    float **v = k ? realloc(s->v_cache, (size_t)(n_seqs * L) * sizeof *v) : NULL;
    if (v)
        s->v_cache = v;
    if (!k || !v)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the KV caches of %lld sequences", (long long)n_seqs);
    /* new slots start NULL so a failure part-way leaves a state that frees cleanly */
    for (int64_t i = s->n_seqs * L; i < n_seqs * L; i++)
        s->k_cache[i] = s->v_cache[i] = NULL;
    for (int64_t i = s->n_seqs * L; i < n_seqs * L; i++) {
        s->k_cache[i] = alloc_floats(s->max_ctx * kvd);
        s->v_cache[i] = alloc_floats(s->max_ctx * kvd);
        if (!s->k_cache[i] || !s->v_cache[i]) {
            for (int64_t j = s->n_seqs * L; j <= i; j++) {
                free_floats(s->k_cache[j]);
                free_floats(s->v_cache[j]);
                s->k_cache[j] = s->v_cache[j] = NULL;
            }
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the KV caches of %lld sequences of %lld positions",
                            (long long)n_seqs, (long long)s->max_ctx);
        }
    }
    s->n_seqs = n_seqs;
    return NPG_OK;
}

npg_status npg_forward_state_copy_seq(npg_forward_state *s, const npg_model *m, int64_t src, int64_t dst,
                                      int64_t n_pos) {
    if (src < 0 || dst < 0 || src >= s->n_seqs || dst >= s->n_seqs || n_pos < 0 || n_pos > s->max_ctx)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "KV copy of %lld positions from sequence %lld to %lld: the state holds "
                        "%lld sequences of %lld positions", (long long)n_pos, (long long)src, (long long)dst,
                        (long long)s->n_seqs, (long long)s->max_ctx);
    if (src == dst)
        return NPG_OK;
    if (s->whisper) /* dst reads src's window (shared, see models/whisper.h) */
        s->whisper->cross_of[dst] = s->whisper->cross_of[src];
    int64_t L = s->n_layers;
    size_t bytes = (size_t)(n_pos * m->cfg.n_kv_heads * m->cfg.head_dim) * sizeof(float);
    for (int64_t l = 0; l < L; l++) {
        memcpy(s->k_cache[dst * L + l], s->k_cache[src * L + l], bytes);
        memcpy(s->v_cache[dst * L + l], s->v_cache[src * L + l], bytes);
    }
    return NPG_OK;
}
