/* test_batch.c — batched engine input: several sequences in one forward call.
 *
 * Four different prompts (different lengths) prefilled together in one batch, then decoded together
 * (one row per sequence per step, greedy ids fed back), give the logits of four separate runs within
 * 1e-5 at every step. Also: a KV copy continues a prompt as a second sequence, spans in a batch equal
 * npg_model_forward_embeds' image runs, and bad batches are refused with a message. Engines: the CPU
 * engine runs a batch of two sequences as the forward does; the NPU engine (one static plan, one
 * sequence) refuses batched input naming the device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"
#include "models/model.h"
#include "pipeline/llm_pipeline.h"
#include "testutil.h"

enum { N_SEQ = 4, STEPS = 6, CTX = 48 };

static const int32_t P0[] = {1, 403, 407, 261, 378, 12, 9};
static const int32_t P1[] = {1, 77};
static const int32_t P2[] = {1, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309};
static const int32_t P3[] = {1, 5, 120, 250};
static const int32_t *const PROMPTS[N_SEQ] = {P0, P1, P2, P3};
static const int64_t LENS[N_SEQ] = {7, 2, 11, 4};

/* One sequence alone: prefill, then STEPS greedy decode steps; logits [STEPS + 1, V]. */
static npg_status single_run(const npg_model *m, npg_threadpool *pool, const int32_t *p, int64_t n, float *logits) {
    int64_t V = m->cfg.vocab;
    npg_forward_state *s = NULL;
    NPG_TRY(npg_forward_state_create(m, 16, CTX, pool, npg_isa_detect(), &s));
    npg_status st = npg_model_forward(m, s, p, n, 0, false);
    for (int k = 0; st == NPG_OK && k <= STEPS; k++) {
        memcpy(logits + k * V, s->logits, (size_t)V * sizeof(float));
        if (k == STEPS)
            break;
        int32_t id = test_argmax(s->logits, V);
        st = npg_model_forward(m, s, &id, 1, n + k, false);
    }
    npg_forward_state_free(s);
    return st;
}

static void check_model(const char *rel) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(shared_path(rel), &m));
    npg_threadpool *pool = NULL;
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    int64_t V = m->cfg.vocab;
    float *ref = malloc((size_t)(N_SEQ * (STEPS + 1) * V) * sizeof(float));
    float *got = malloc((size_t)(N_SEQ * (STEPS + 1) * V) * sizeof(float));
    REQUIRE(ref && got);
    for (int q = 0; q < N_SEQ; q++)
        CHECK(single_run(m, pool, PROMPTS[q], LENS[q], ref + q * (STEPS + 1) * V) == NPG_OK);

    npg_forward_state *s = NULL;
    REQUIRE_OK(npg_forward_state_create(m, 32, CTX, pool, npg_isa_detect(), &s));
    REQUIRE_OK(npg_forward_state_reserve_seqs(s, m, N_SEQ));
    /* one prefill call: the four prompts' rows interleaved by sequence, last row of each wanted */
    int32_t ids[32], pos[32], seq[32];
    uint8_t want[32];
    int64_t n = 0;
    for (int q = 0; q < N_SEQ; q++)
        for (int64_t t = 0; t < LENS[q]; t++, n++) {
            ids[n] = PROMPTS[q][t];
            pos[n] = (int32_t)t;
            seq[n] = q;
            want[n] = t == LENS[q] - 1;
        }
    npg_batch b = {.n = n, .ids = ids, .pos = pos, .seq = seq, .want_logits = want};
    npg_status st = npg_model_forward_batch(m, s, &b);
    CHECK(st == NPG_OK);
    for (int k = 0; st == NPG_OK && k <= STEPS; k++) {
        for (int q = 0; q < N_SEQ; q++)
            memcpy(got + (q * (STEPS + 1) + k) * V, s->logits + q * V, (size_t)V * sizeof(float));
        if (k == STEPS)
            break;
        /* decode: one row per sequence, fed the separate run's greedy id so both see the same tokens;
         * rows in reverse sequence order to show order does not matter */
        for (int r = 0; r < N_SEQ; r++) {
            int q = N_SEQ - 1 - r;
            ids[r] = test_argmax(ref + (q * (STEPS + 1) + k) * V, V);
            pos[r] = (int32_t)(LENS[q] + k);
            seq[r] = q;
            want[r] = 1;
        }
        npg_batch d = {.n = N_SEQ, .ids = ids, .pos = pos, .seq = seq, .want_logits = want};
        st = npg_model_forward_batch(m, s, &d);
        CHECK(st == NPG_OK);
        /* logits rows come in row order: row r is sequence N_SEQ-1-r; put them back in sequence order */
        if (st == NPG_OK) {
            float *tmp = malloc((size_t)(N_SEQ * V) * sizeof(float));
            REQUIRE(tmp);
            for (int r = 0; r < N_SEQ; r++)
                memcpy(tmp + (N_SEQ - 1 - r) * V, s->logits + r * V, (size_t)V * sizeof(float));
            memcpy(s->logits, tmp, (size_t)(N_SEQ * V) * sizeof(float));
            free(tmp);
        }
    }
    float d = max_abs_diff(ref, got, (size_t)(N_SEQ * (STEPS + 1) * V));
    fprintf(stderr, "  %s: %d sequences batched vs separate, max |logit diff| = %.3g\n", rel, N_SEQ, (double)d);
    CHECK(st == NPG_OK && d <= 1e-5f);

    /* KV copy: prompt 0 of sequence 0 continued as sequence 3 (overwritten) gives the same logits */
    REQUIRE_OK(npg_forward_state_copy_seq(s, m, 0, 3, LENS[0]));
    int32_t id0 = test_argmax(ref, V);
    int32_t ids2[2] = {id0, id0}, pos2[2] = {(int32_t)LENS[0], (int32_t)LENS[0]}, seq2[2] = {0, 3};
    uint8_t want2[2] = {1, 1};
    npg_batch c = {.n = 2, .ids = ids2, .pos = pos2, .seq = seq2, .want_logits = want2};
    REQUIRE_OK(npg_model_forward_batch(m, s, &c));
    CHECK(max_abs_diff(s->logits, s->logits + V, (size_t)V) == 0.0f);
    CHECK(max_abs_diff(s->logits, ref + V, (size_t)V) <= 1e-5f);

    /* refusals */
    seq2[1] = N_SEQ;
    CHECK(npg_model_forward_batch(m, s, &c) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "sequence 4") != NULL);
    seq2[1] = 0;
    pos2[1] = CTX;
    CHECK(npg_model_forward_batch(m, s, &c) == NPG_ERR_LIMIT);
    CHECK(npg_forward_state_copy_seq(s, m, 0, N_SEQ, 1) == NPG_ERR_INVALID_ARGUMENT);

    npg_forward_state_free(s);
    npg_threadpool_free(pool);
    free(ref);
    free(got);
    npg_model_free(m);
}

static void test_stories260k(void) { check_model("models/stories260K"); }
static void test_llama_gqa(void) { check_model("models/random-llama-gqa"); }
/* Gemma-3: sliding-window layers, sandwich norms, soft-capping, a separate local RoPE table */
static void test_gemma3(void) { check_model("models/random-gemma3"); }

/* A batch with a span equals npg_model_forward_embeds with the same run marked bidirectional, and a
 * second sequence in the same call (no span) equals its own causal run. */
static void test_spans(void) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(shared_path("models/random-gemma3"), &m));
    int64_t H = m->cfg.hidden, V = m->cfg.vocab, n = 8;
    float *emb = malloc((size_t)(n * H) * sizeof(float));
    float *ref = malloc((size_t)(2 * n * V) * sizeof(float));
    REQUIRE(emb && ref);
    for (int64_t i = 0; i < n * H; i++)
        emb[i] = sinf((float)i * 0.37f) * 0.5f;
    uint8_t bidir[8] = {0, 0, 1, 1, 1, 0, 0, 0};
    npg_forward_state *s = NULL;
    REQUIRE_OK(npg_forward_state_create(m, 2 * n, 16, NULL, npg_isa_detect(), &s));
    REQUIRE_OK(npg_model_forward_embeds(m, s, emb, n, 0, true, bidir));
    memcpy(ref, s->logits, (size_t)(n * V) * sizeof(float));
    REQUIRE_OK(npg_model_forward_embeds(m, s, emb, n, 0, true, NULL));
    memcpy(ref + n * V, s->logits, (size_t)(n * V) * sizeof(float));
    float *emb2 = malloc((size_t)(2 * n * H) * sizeof(float));
    REQUIRE(emb2);
    memcpy(emb2, emb, (size_t)(n * H) * sizeof(float));
    memcpy(emb2 + n * H, emb, (size_t)(n * H) * sizeof(float));
    int32_t pos[16], seq[16], span[16];
    uint8_t want[16];
    for (int64_t t = 0; t < 2 * n; t++) {
        pos[t] = (int32_t)(t % n);
        seq[t] = t < n ? 0 : 1;
        span[t] = t < n && bidir[t] ? 7 : 0;
        want[t] = 1;
    }
    REQUIRE_OK(npg_forward_state_reserve_seqs(s, m, 2));
    npg_batch b = {.n = 2 * n, .embeds = emb2, .pos = pos, .seq = seq, .span = span, .want_logits = want};
    REQUIRE_OK(npg_model_forward_batch(m, s, &b));
    float d = max_abs_diff(s->logits, ref, (size_t)(2 * n * V));
    fprintf(stderr, "  spans: batch vs forward_embeds max diff %.3g\n", (double)d);
    CHECK(d <= 1e-5f);
    /* the span really changes something: the image rows differ from the causal run */
    CHECK(max_abs_diff(ref + 2 * V, ref + (n + 2) * V, (size_t)V) > 1e-4f);
    npg_forward_state_free(s);
    free(emb);
    free(emb2);
    free(ref);
    npg_model_free(m);
}

static void test_engines(void) {
    npg_llm_pipeline *cpu = NULL, *npu = NULL;
    REQUIRE_OK(npg_llm_pipeline_create(shared_path("models/stories260K"), "CPU", 0, &cpu));
    int32_t ids[2] = {1, 1}, pos[2] = {0, 0}, seq[2] = {0, 1};
    uint8_t want[2] = {1, 1};
    npg_batch b = {.n = 2, .ids = ids, .pos = pos, .seq = seq, .want_logits = want};
    float *logits = NULL;
    CHECK(npg_engine_forward(cpu->engine, &b, &logits) == NPG_ERR_INVALID_ARGUMENT); /* one sequence so far */
    REQUIRE_OK(npg_engine_reserve_seqs(cpu->engine, 2, 8));
    REQUIRE_OK(npg_engine_forward(cpu->engine, &b, &logits));
    int64_t V = cpu->model->cfg.vocab;
    CHECK(max_abs_diff(logits, logits + V, (size_t)V) == 0.0f); /* same id, same position, two caches */
    CHECK(npg_engine_max_rows(cpu->engine) >= 2);
    npg_llm_pipeline_free(cpu);

    REQUIRE_OK(npg_llm_pipeline_create(shared_path("models/stories260K"), "NPU", 4, &npu, "MAX_PROMPT_LEN", "64",
                                       "MIN_RESPONSE_LEN", "64"));
    CHECK(npg_engine_max_rows(npu->engine) == 0);
    CHECK(npg_engine_forward(npu->engine, &b, &logits) == NPG_ERR_UNSUPPORTED);
    CHECK(strstr(npg_last_error(), "NPU") && strstr(npg_last_error(), "one sequence"));
    CHECK(npg_engine_reserve_seqs(npu->engine, 2, 8) == NPG_ERR_UNSUPPORTED);
    CHECK(npg_engine_copy_seq(npu->engine, 0, 1, 4) == NPG_ERR_UNSUPPORTED);
    REQUIRE_OK(npg_engine_reserve_seqs(npu->engine, 1, 8)); /* one sequence is what it has */
    npg_llm_pipeline_free(npu);
}

int main(void) {
    RUN(test_stories260k);
    RUN(test_llama_gqa);
    RUN(test_gemma3);
    RUN(test_spans);
    RUN(test_engines);
    return npg_test_summary();
}
