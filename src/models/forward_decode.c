/* forward_decode.c — one decode row (one token of one sequence) as one parallel region.
 *
 * The layer-by-layer path (forward.c) dispatches the thread pool once per operation: ~5 matmul
 * regions and the attention per layer, ~111 per token on TinyLlama, each woken through the pool and
 * ended by its completion wait, each starting on cold weights. Here the pool runs one task per thread
 * for the whole step; the members (team) meet at spin barriers (core/barrier.h) and:
 *   - split every matrix-vector product statically by weight rows (kernels/matvec_part.h): member p
 *     always streams the same stretch of every weight, bit for bit npg_matmul's results;
 *   - each compute the cheap inputs of their products themselves (RMSNorm, the activations' int8
 *     quantization) into their own scratch instead of waiting for one member to do it;
 *   - leave the small operations on the shared vectors (biases, qk-norm, RoPE, the KV cache write,
 *     residual adds) to the member on the calling thread (which also calls the weights_ready hook, so
 *     its error message lands on the caller's thread), while the others prefetch the start of their
 *     next stretch of weights;
 *   - split the attention by heads, and the gated activation by rows.
 * Per layer: 7 barriers (8 with a fused gate/up), no pool dispatch. The pool's task claiming gives each
 * of the n_threads tasks its own thread: a member cannot finish (and claim another task) before every
 * member reached its first barrier. */
#include <stdlib.h>

#include "core/barrier.h"
#include "core/error.h"
#include "kernels/activation.h"
#include "kernels/matvec_part.h"
#include "models/blocks/blocks.h"
#include "models/forward_internal.h"
#include "models/ops.h"

/* Bytes of its next weight stretch a waiting member asks for (into L2): about what the memory system
 * delivers to one core while another does the small operations (a few microseconds). */
enum { PREFETCH_BYTES = 64 * 1024, SCRATCH_ALIGN = 64 };

typedef struct team_job {
    const npg_model *m;
    npg_forward_state *s;
    npg_matvec_kernels mk;
    npg_spin_barrier bar;
    int members;
    size_t scratch_stride; /* bytes per member: normed input [hidden] floats, then matvec scratch */
    size_t norm_bytes;
    /* written by the calling thread's member before a barrier, read by all after it */
    bool failed;
    npg_status status;
} team_job;

static int64_t max3(int64_t a, int64_t b, int64_t c) {
    int64_t m = a > b ? a : b;
    return m > c ? m : c;
}

static size_t align_up(size_t v) { return (v + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN; }

static void layout(const npg_model_config *c, size_t *norm_bytes, size_t *stride) {
    *norm_bytes = align_up((size_t)c->hidden * sizeof(float));
    *stride = *norm_bytes + npg_matvec_scratch_bytes(max3(c->hidden, c->n_heads * c->head_dim, c->ffn));
}

static bool all_parts_ok(const npg_model *m) {
    const npg_model_config *c = &m->cfg;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const npg_layer_weights *L = &m->layers[l];
        bool qkv = c->fused_qkv ? npg_matvec_part_ok(&L->wqkv)
                                : npg_matvec_part_ok(&L->wq) && npg_matvec_part_ok(&L->wk) && npg_matvec_part_ok(&L->wv);
        bool mlp = c->fused_gate_up ? npg_matvec_part_ok(&L->w_gate_up)
                                    : npg_matvec_part_ok(&L->w_gate) && npg_matvec_part_ok(&L->w_up);
        if (!qkv || !mlp || !npg_matvec_part_ok(&L->wo) || !npg_matvec_part_ok(&L->w_down))
            return false;
    }
    return npg_matvec_part_ok(&m->lm_head);
}

bool npg_fwd_decode_team_ok(const npg_model *m, const npg_forward_state *s) {
    int threads = npg_threadpool_size(s->compute.pool);
    return threads > 1 && threads <= s->n_threads && !m->whisper && !s->hidden_capture && !s->linear_tap &&
           all_parts_ok(m);
}

/* The calling thread's member runs the weights_ready hook of a stage; after the barrier every member
 * sees its outcome. */
static bool stage_ready(team_job *j, bool lead, int64_t stage) {
    if (lead) {
        npg_status st = npg_fwd_weights_ready(j->s, stage);
        if (st != NPG_OK) {
            j->status = st;
            j->failed = true;
        }
    }
    npg_spin_barrier_wait(&j->bar);
    return !j->failed;
}

/* y[i] = x[k] · w[i]ᵀ, this member's rows of each. */
static void matvec(team_job *j, uint8_t *scratch, const float *x, int64_t k, const npg_weight *const *w, float *const *y,
                   int count, int me) {
    npg_matvec_in in;
    npg_matvec_prepare(&j->mk, x, k, w, count, scratch, &in);
    for (int i = 0; i < count; i++)
        npg_matvec_part(&j->mk, &in, w[i], y[i], me, j->members);
}

/* the layer path's activation for these rows (mlp.c: SiLU through npg_silu_mul_par's kernel), so the
 * two paths agree bit for bit */
static void activate(npg_isa isa, npg_mlp_act act, float *g, const float *u, int64_t n) {
    if (act == NPG_MLP_GATED_SILU)
        npg_silu_mul_isa(isa, g, u, n);
    else
        npg_blk_activate(act, g, u, n);
}

static void layer(team_job *j, int64_t l, int me, bool lead, float *xn, uint8_t *scratch, const npg_weight *next) {
    const npg_model *m = j->m;
    const npg_model_config *c = &m->cfg;
    const npg_layer_weights *L = &m->layers[l];
    npg_forward_state *s = j->s;
    int64_t H = c->hidden, F = c->ffn, qd = c->n_heads * c->head_dim;
    int T = j->members;

    /* q, k, v */
    npg_blk_rmsnorm(xn, s->x, L->attn_norm, 1, H, c->norm_eps, c->norm_plus_one);
    if (c->fused_qkv) {
        const npg_weight *w[1] = {&L->wqkv};
        float *y[1] = {s->q};
        matvec(j, scratch, xn, H, w, y, 1, me);
    } else {
        const npg_weight *w[3] = {&L->wq, &L->wk, &L->wv};
        float *y[3] = {s->q, s->k, s->v};
        matvec(j, scratch, xn, H, w, y, 3, me);
    }
    if (!lead)
        npg_matvec_prefetch(&L->wo, me, T, PREFETCH_BYTES);
    npg_spin_barrier_wait(&j->bar);
    if (lead)
        npg_fwd_qkv_finish(m, s, l, 1);
    npg_spin_barrier_wait(&j->bar);

    /* attention, split by (KV head, run of its query heads), into s->xb */
    int64_t parts = npg_fwd_attend_parts(c, 1, T), tasks = c->n_kv_heads * parts;
    for (int64_t h = tasks * me / T; h < tasks * (me + 1) / T; h++)
        npg_fwd_attend(m, s, l, 1, parts, (int)h, me);
    npg_spin_barrier_wait(&j->bar);

    /* output projection and residual */
    {
        const npg_weight *w[1] = {&L->wo};
        float *y[1] = {s->proj};
        matvec(j, scratch, s->xb, qd, w, y, 1, me);
    }
    if (!lead)
        npg_matvec_prefetch(c->fused_gate_up ? &L->w_gate_up : &L->w_gate, me, T, PREFETCH_BYTES);
    npg_spin_barrier_wait(&j->bar);
    if (lead)
        npg_fwd_attn_out(m, s, l, 1);
    npg_spin_barrier_wait(&j->bar);

    /* gated MLP: gate/up, the activation over this member's rows, down */
    npg_mlp_act act = c->act == NPG_ACT_GELU_TANH ? NPG_MLP_GATED_GELU_TANH : NPG_MLP_GATED_SILU;
    npg_blk_rmsnorm(xn, s->x, L->ffn_norm, 1, H, c->norm_eps, c->norm_plus_one);
    int64_t lo, hi;
    npg_matvec_rows(F, me, T, &lo, &hi);
    if (c->fused_gate_up) { /* [2F]: gate then up (Phi-3); the up half belongs to other members */
        const npg_weight *w[1] = {&L->w_gate_up};
        float *y[1] = {s->gate};
        matvec(j, scratch, xn, H, w, y, 1, me);
        npg_spin_barrier_wait(&j->bar);
        activate(j->mk.isa, act, s->gate + lo, s->gate + F + lo, hi - lo);
    } else { /* the same rows of gate and up are this member's */
        const npg_weight *w[2] = {&L->w_gate, &L->w_up};
        float *y[2] = {s->gate, s->up};
        matvec(j, scratch, xn, H, w, y, 2, me);
        activate(j->mk.isa, act, s->gate + lo, s->up + lo, hi - lo);
    }
    npg_spin_barrier_wait(&j->bar);
    {
        const npg_weight *w[1] = {&L->w_down};
        float *y[1] = {s->proj};
        matvec(j, scratch, s->gate, F, w, y, 1, me);
    }
    if (!lead)
        npg_matvec_prefetch(next, me, T, PREFETCH_BYTES);
    npg_spin_barrier_wait(&j->bar);
    if (lead)
        npg_fwd_ffn_out(m, s, l, 1);
}

static void member(void *ctx, int me, int thread) {
    team_job *j = ctx;
    const npg_model *m = j->m;
    const npg_model_config *c = &m->cfg;
    npg_forward_state *s = j->s;
    bool lead = thread == 0; /* the calling thread: exactly one member (see the file comment) */
    uint8_t *base = s->team_scratch + (size_t)me * j->scratch_stride;
    float *xn = (float *)base;
    uint8_t *scratch = base + j->norm_bytes;
    for (int64_t l = 0; l < c->n_layers; l++) {
        if (!stage_ready(j, lead, 1 + l))
            return;
        const npg_weight *next = l + 1 < c->n_layers
                                     ? (c->fused_qkv ? &m->layers[l + 1].wqkv : &m->layers[l + 1].wq)
                                     : &m->lm_head;
        layer(j, l, me, lead, xn, scratch, next);
    }
    if (!stage_ready(j, lead, c->n_layers + 1))
        return;
    npg_rmsnorm(xn, s->x, m->final_norm, c->hidden, c->norm_eps, c->norm_plus_one);
    const npg_weight *w[1] = {&m->lm_head};
    float *y[1] = {s->logits};
    matvec(j, scratch, xn, c->hidden, w, y, 1, me);
}

npg_status npg_fwd_decode_reserve(const npg_model *m, npg_forward_state *s) {
    size_t norm_bytes, stride;
    layout(&m->cfg, &norm_bytes, &stride);
    size_t need = (size_t)npg_threadpool_size(s->compute.pool) * stride;
    if (s->team_scratch_size >= need)
        return NPG_OK;
    void *p = NULL;
    if (posix_memalign(&p, SCRATCH_ALIGN, need) != 0)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reserving %zu bytes of decode scratch", need);
    free(s->team_scratch);
    s->team_scratch = p;
    s->team_scratch_size = need;
    return NPG_OK;
}

npg_status npg_fwd_decode_team(const npg_model *m, npg_forward_state *s) {
    team_job j = {.m = m, .s = s, .members = npg_threadpool_size(s->compute.pool)};
    layout(&m->cfg, &j.norm_bytes, &j.scratch_stride);
    NPG_TRY(npg_fwd_decode_reserve(m, s)); /* reserved at the state's creation: normally a no-op */
    npg_matvec_kernels_init(&j.mk, s->compute.isa);
    npg_spin_barrier_init(&j.bar, j.members);
    npg_threadpool_run(s->compute.pool, j.members, member, &j);
    return j.failed ? j.status : NPG_OK;
}
