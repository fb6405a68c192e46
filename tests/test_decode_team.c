/* test_decode_team.c — the one-region decode step (models/forward_decode.c) gives the layer-by-layer
 * path's logits bit for bit.
 *
 * Each model of ../shared has its weights re-quantized in memory to one weight type at a time (every
 * npugen type, Q4_G with several group sizes, GGUF Q8_0 / Q4_0 / Q4_1; a weight whose input size the
 * type cannot take keeps its f32 rows, so types also mix), then a prompt is prefilled and greedy
 * decode steps run twice: once as one parallel region, once layer by layer (a hidden-state capture
 * forces that path). Logits must be identical at every step, with 2 and 3 threads (uneven and empty
 * parts) and on every ISA the CPU has. A Q4_G group size the integer kernels do not take falls back to
 * the layer path. The spin barrier is checked on its own under contention. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/barrier.h"
#include "core/error.h"
#include "kernels/matmul.h"
#include "kernels/matvec_part.h"
#include "models/forward_internal.h"
#include "models/model.h"
#include "testutil.h"
#include "weights/ggml_blocks.h"

enum { STEPS = 5, CTX = 32 };

typedef struct wkind {
    npg_wtype type;
    int64_t group; /* Q4_G */
    const char *name;
} wkind;

static const wkind KINDS[] = {
    {NPG_W_F32, 0, "f32"},           {NPG_W_F16, 0, "f16"},          {NPG_W_BF16, 0, "bf16"},
    {NPG_W_Q8_CW, 0, "int8"},        {NPG_W_Q4_CW, 0, "int4-cw"},    {NPG_W_NF4_CW, 0, "nf4"},
    {NPG_W_Q4_G, 32, "int4-g32"},    {NPG_W_Q4_G, 64, "int4-g64"},   {NPG_W_Q4_G, 16, "int4-g16 (fallback)"},
    {NPG_W_GGML_Q8_0, 0, "gguf-q8_0"}, {NPG_W_GGML_Q4_0, 0, "gguf-q4_0"}, {NPG_W_GGML_Q4_1, 0, "gguf-q4_1"},
};

/* w re-quantized to kind (or left alone when its input size does not fit the type); buffers owned by m */
static npg_status requant(npg_model *m, npg_weight *w, const wkind *kd) {
    if (w->n <= 0 || w->type == kd->type)
        return NPG_OK;
    bool ggml = npg_wtype_is_ggml(kd->type);
    if (ggml ? w->k % npg_ggml_block_values(kd->type) != 0 : kd->group > 0 && w->k % kd->group != 0)
        return NPG_OK;
    float *src = NULL;
    NPG_TRY(npg_model_own_floats(m, w->n * w->k, &src));
    for (int64_t r = 0; r < w->n; r++)
        npg_dequantize_row(w, r, src + r * w->k);
    size_t bytes = ggml ? (size_t)w->n * npg_ggml_row_bytes(kd->type, w->k) : npg_quant_data_bytes(kd->type, w->n, w->k);
    float *data = NULL, *scales = NULL;
    NPG_TRY(npg_model_own_floats(m, (int64_t)(bytes / sizeof(float)) + 1, &data));
    if (ggml) {
        size_t rb = npg_ggml_row_bytes(kd->type, w->k);
        for (int64_t r = 0; r < w->n; r++)
            npg_ggml_quantize_row(kd->type, src + r * w->k, w->k, (uint8_t *)data + (size_t)r * rb);
    } else {
        int64_t n_scales = kd->type == NPG_W_Q4_G ? w->n * (w->k / kd->group) : w->n;
        if (kd->type > NPG_W_BF16)
            NPG_TRY(npg_model_own_floats(m, n_scales, &scales));
        NPG_TRY(npg_quantize_rows(kd->type, src, w->n, w->k, kd->group, data, scales));
    }
    *w = (npg_weight){.type = kd->type, .n = w->n, .k = w->k, .group_size = kd->group, .data = data, .scales = scales};
    return NPG_OK;
}

static npg_status requant_model(npg_model *m, const wkind *kd) {
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        npg_layer_weights *L = &m->layers[l];
        npg_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up, &L->w_gate_up, &L->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof *ws; i++)
            NPG_TRY(requant(m, ws[i], kd));
    }
    return requant(m, &m->lm_head, kd);
}

/* prompt, then STEPS greedy steps; logits [STEPS + 1, V]. layered: force the layer-by-layer path. */
static npg_status run(const npg_model *m, npg_threadpool *pool, npg_isa isa, bool layered, float *logits) {
    static const int32_t prompt[] = {1, 403, 407, 261, 378};
    int64_t V = m->cfg.vocab, n = 5;
    npg_forward_state *s = NULL;
    NPG_TRY(npg_forward_state_create(m, 8, CTX, pool, isa, &s));
    float *hidden = NULL;
    if (layered) {
        hidden = calloc((size_t)((m->cfg.n_layers + 1) * n * m->cfg.hidden), sizeof(float));
        if (!hidden) {
            npg_forward_state_free(s);
            return NPG_ERR_OUT_OF_MEMORY;
        }
        s->hidden_capture = hidden;
    }
    npg_status st = npg_model_forward(m, s, prompt, n, 0, false);
    for (int k = 0; st == NPG_OK && k <= STEPS; k++) {
        memcpy(logits + k * V, s->logits, (size_t)V * sizeof(float));
        if (k == STEPS)
            break;
        int32_t id = test_argmax(s->logits, V);
        if (!layered && !npg_fwd_decode_team_ok(m, s) && k == 0)
            fprintf(stderr, "    (layer path: a weight cannot be cut into parts)\n");
        st = npg_model_forward(m, s, &id, 1, n + k, false);
    }
    npg_forward_state_free(s);
    free(hidden);
    return st;
}

static void check_model(const char *rel) {
    npg_isa best = npg_isa_detect();
    for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++) {
        npg_model *m = NULL;
        REQUIRE_OK(npg_model_load(shared_path(rel), &m));
        npg_status st = requant_model(m, &KINDS[i]);
        CHECK(st == NPG_OK);
        int64_t V = m->cfg.vocab;
        float *ref = malloc((size_t)((STEPS + 1) * V) * sizeof(float));
        float *got = malloc((size_t)((STEPS + 1) * V) * sizeof(float));
        REQUIRE(ref && got);
        for (int threads = 2; st == NPG_OK && threads <= 3; threads++) {
            npg_threadpool *pool = NULL;
            REQUIRE_OK(npg_threadpool_create(threads, &pool));
            for (int isa = NPG_ISA_SCALAR; isa <= (int)best; isa++) {
                CHECK(run(m, pool, (npg_isa)isa, true, ref) == NPG_OK);
                CHECK(run(m, pool, (npg_isa)isa, false, got) == NPG_OK);
                bool same = memcmp(ref, got, (size_t)((STEPS + 1) * V) * sizeof(float)) == 0;
                if (!same)
                    fprintf(stderr, "  %s %s, %d threads, %s: max |diff| %.3g\n", rel, KINDS[i].name, threads,
                            npg_isa_name((npg_isa)isa), (double)max_abs_diff(ref, got, (size_t)((STEPS + 1) * V)));
                CHECK(same);
            }
            npg_threadpool_free(pool);
        }
        fprintf(stderr, "  %s %s: one-region decode = layer path\n", rel, KINDS[i].name);
        free(ref);
        free(got);
        npg_model_free(m);
    }
}

static void test_stories260k(void) { check_model("models/stories260K"); }
static void test_llama_gqa(void) { check_model("models/random-llama-gqa"); }
static void test_gemma3(void) { check_model("models/random-gemma3"); }
static void test_phi3(void) { check_model("models/random-phi3"); }
static void test_qwen2(void) { check_model("models/random-qwen2"); }
static void test_qwen3(void) { check_model("models/random-qwen3"); }

/* Parts: contiguous, in order, 16-row aligned starts, covering [0, n) exactly. */
static void test_rows(void) {
    for (int64_t n = 1; n <= 200; n += 7)
        for (int parts = 1; parts <= 5; parts++) {
            int64_t at = 0;
            for (int p = 0; p < parts; p++) {
                int64_t lo, hi;
                npg_matvec_rows(n, p, parts, &lo, &hi);
                CHECK(lo == at && hi >= lo && (lo % 16 == 0 || lo == n));
                at = hi;
            }
            CHECK(at == n);
        }
}

typedef struct bar_job {
    npg_spin_barrier bar;
    atomic_int counter;
    int rounds, members;
    bool ok;
} bar_job;

static void *bar_member(void *p) {
    bar_job *j = p;
    for (int r = 0; r < j->rounds; r++) {
        atomic_fetch_add(&j->counter, 1);
        npg_spin_barrier_wait(&j->bar);
        if (atomic_load(&j->counter) != (r + 1) * j->members) /* nobody ran ahead into round r + 1 */
            j->ok = false;
        npg_spin_barrier_wait(&j->bar);
    }
    return NULL;
}

static void test_barrier(void) {
    enum { MEMBERS = 4 };
    bar_job j = {.rounds = 2000, .members = MEMBERS, .ok = true};
    npg_spin_barrier_init(&j.bar, MEMBERS);
    atomic_init(&j.counter, 0);
    pthread_t t[MEMBERS - 1];
    for (int i = 0; i < MEMBERS - 1; i++)
        REQUIRE(pthread_create(&t[i], NULL, bar_member, &j) == 0);
    bar_member(&j);
    for (int i = 0; i < MEMBERS - 1; i++)
        pthread_join(t[i], NULL);
    CHECK(j.ok);
    CHECK(atomic_load(&j.counter) == j.rounds * MEMBERS);
}

int main(void) {
    RUN(test_rows);
    RUN(test_barrier);
    RUN(test_stories260k);
    RUN(test_llama_gqa);
    RUN(test_gemma3);
    RUN(test_phi3);
    RUN(test_qwen2);
    RUN(test_qwen3);
    return npg_test_summary();
}
