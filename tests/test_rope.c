/* test_rope.c — rope_scaling variants against transformers' formulas, and longrope's per-call choice.
 *
 * Expected inverse frequencies and attention factors come from tests/reference/rope_ref.py, a pure-Python
 * transcription of transformers' modeling_rope_utils.py (run it to re-derive every number below):
 *
 *   f32 = lambda x: struct.unpack('<f', struct.pack('<f', x))[0]
 *   default: inv[i] = f32(1 / f32(base ** f32(2i / dim)))                      i < dim / 2
 *   linear:  inv[i] / factor
 *   llama3:  wl = 2π / inv[i];  wl > old/low: inv/factor;  wl < old/high: inv;
 *            else s = (old/wl - low) / (high - low), (1 - s)·inv/factor + s·inv
 *   longrope: inv[i] = 1 / (ext[i] · base ** (2i / dim)), ext = short_factor or long_factor;
 *            scale = max_pos / original_max_position_embeddings (config-level key) else rope_scaling.factor;
 *            attention_factor (mscale, multiplies cos and sin) = sqrt(1 + ln(scale) / ln(original)), 1 if scale <= 1
 *
 * The tables are read back from a forward state: row p holds cos(p·inv[i])·mscale, sin(p·inv[i])·mscale,
 * so row 1 gives inv[i] = atan2(sin, cos) and mscale = hypot(cos, sin).
 *
 * Longrope picks one factor set per forward call (transformers' dynamic_rope_update: long when the call's
 * largest position + 1 exceeds original_max_position_embeddings, for every position of that call). The
 * forward test checks that on a Phi-3 folder by comparing against folders whose short and long lists are
 * made equal, so the expected result never depends on npugen's own choice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/properties.h"
#include "device/engine.h"
#include "models/model.h"
#include "testutil.h"

/* python3 tests/reference/rope_ref.py */
static const double linear_inv[] = {0.25, 0.079056941, 0.0250000004, 0.00790569466, 0.00249999994, 0.000790569466, 0.000250000012, 7.90569466e-05};
static const double llama3_inv[] = {1, 0.193922758, 0.0376060307, 0.00729266508, 0.00052484608, 3.42810235e-05, 6.64786967e-06, 1.28917316e-06};
static const double longrope_short_inv[] = {1, 0.301169306, 0.0909090936, 0.0263523124, 0.00714285718, 0.00186016329, 0.000476190471, 0.000121626064};
static const double longrope_long_inv[] = {1, 0.210818499, 0.0399999991, 0.00790569466, 0.00166666671, 0.0003513642, 7.69230755e-05, 1.75682089e-05};
static const double longrope_mscale = 1.22474487; /* max 64 / original 16 */
static const double longrope_mscale_factor4 = 1.15470054; /* no original_max_position_embeddings, factor 4 */

#define SHORT8 "[1.0, 1.05, 1.1, 1.2, 1.4, 1.7, 2.1, 2.6]"
#define LONG8 "[1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 13.0, 18.0]"

/* A model with only its config (the forward state reads nothing else) and a 1-token state of max_ctx. */
typedef struct rope_fixture {
    npg_model m;
    npg_forward_state *s;
} rope_fixture;

static npg_status fixture_open(rope_fixture *f, const char *json, int64_t max_ctx) {
    memset(f, 0, sizeof *f);
    cJSON *root = NULL;
    NPG_TRY(npg_json_parse(json, strlen(json), "test config", &root));
    npg_status st = npg_model_config_parse(root, "test config", &f->m.cfg);
    cJSON_Delete(root);
    NPG_TRY(st);
    return npg_forward_state_create(&f->m, 1, max_ctx, NULL, npg_isa_detect(), &f->s);
}

/* Row p of a table against inv[] and mscale: angle p·inv[i] recomputed in double. */
static void check_row(const float *cos_tab, const float *sin_tab, int64_t half, int64_t p, const double *inv,
                      double mscale, const char *what) {
    double worst = 0.0;
    for (int64_t i = 0; i < half; i++) {
        double c = (double)cos_tab[p * half + i], s = (double)sin_tab[p * half + i];
        double ec = cos((double)p * inv[i]) * mscale, es = sin((double)p * inv[i]) * mscale;
        double d = fabs(c - ec) > fabs(s - es) ? fabs(c - ec) : fabs(s - es);
        if (d > worst)
            worst = d;
        if (p == 1) { /* inverse frequency and mscale themselves */
            double got = atan2(s, c), tol = 1e-5 * inv[i] + 1e-9;
            if (fabs(got - inv[i]) > tol) {
                fprintf(stderr, "  %s: inv_freq[%lld] = %.9g, transformers %.9g\n", what, (long long)i, got, inv[i]);
                CHECK(fabs(got - inv[i]) <= tol);
            }
            CHECK(fabs(hypot(c, s) - mscale) < 1e-6);
        }
    }
    /* f32 angle p·inv: rounding grows with p */
    double tol = 2e-6 * (double)(p > 1 ? p : 1);
    if (worst > tol)
        fprintf(stderr, "  %s row %lld: max |cos/sin diff| %.3g > %.3g\n", what, (long long)p, worst, tol);
    CHECK(worst <= tol);
}

static void test_linear(void) {
    rope_fixture f;
    REQUIRE_OK(fixture_open(&f,
                            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":1,"
                            "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":8,"
                            "\"max_position_embeddings\":4096,\"rope_theta\":10000.0,"
                            "\"rope_scaling\":{\"type\":\"linear\",\"factor\":4.0}}",
                            128));
    CHECK(f.m.cfg.rope.type == NPG_ROPE_LINEAR);
    for (int64_t p = 1; p < 128; p += 37)
        check_row(f.s->rope_cos, f.s->rope_sin, 8, p, linear_inv, 1.0, "linear");
    CHECK(f.s->rope_cos_long == NULL);
    npg_forward_state_free(f.s);
}

static void test_llama3(void) {
    /* dim 16, base 5e5: frequencies fall in all three llama3 bands (high kept, medium smoothed, low / 8) */
    rope_fixture f;
    REQUIRE_OK(fixture_open(&f,
                            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":1,"
                            "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":8,"
                            "\"max_position_embeddings\":131072,\"rope_theta\":500000.0,"
                            "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
                            "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}",
                            128));
    CHECK(f.m.cfg.rope.type == NPG_ROPE_LLAMA3);
    for (int64_t p = 1; p < 128; p += 37)
        check_row(f.s->rope_cos, f.s->rope_sin, 8, p, llama3_inv, 1.0, "llama3");
    npg_forward_state_free(f.s);
}

static void test_longrope_tables(void) {
    /* Phi-3.5 layout: config-level original_max_position_embeddings 16, max 64 → scale 4 */
    rope_fixture f;
    REQUIRE_OK(fixture_open(&f,
                            "{\"architectures\":[\"Phi3ForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":1,"
                            "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":8,"
                            "\"max_position_embeddings\":64,\"original_max_position_embeddings\":16,"
                            "\"rope_scaling\":{\"type\":\"su\",\"short_factor\":" SHORT8 ",\"long_factor\":" LONG8 "}}",
                            40));
    CHECK(f.m.cfg.rope.type == NPG_ROPE_LONGROPE);
    CHECK(f.m.cfg.rope.original_max_pos == 16);
    CHECK(fabs((double)f.m.cfg.rope.attention_factor - longrope_mscale) < 1e-6);
    /* main table: short rows below 16 (what token-by-token decoding sees), long from 16 on */
    check_row(f.s->rope_cos, f.s->rope_sin, 8, 1, longrope_short_inv, longrope_mscale, "longrope short");
    check_row(f.s->rope_cos, f.s->rope_sin, 8, 15, longrope_short_inv, longrope_mscale, "longrope short");
    check_row(f.s->rope_cos, f.s->rope_sin, 8, 16, longrope_long_inv, longrope_mscale, "longrope long");
    check_row(f.s->rope_cos, f.s->rope_sin, 8, 39, longrope_long_inv, longrope_mscale, "longrope long");
    /* long rows for positions below 16, used by a call that reaches past 16 */
    REQUIRE(f.s->rope_cos_long != NULL);
    check_row(f.s->rope_cos_long, f.s->rope_sin_long, 8, 1, longrope_long_inv, longrope_mscale, "longrope low-long");
    check_row(f.s->rope_cos_long, f.s->rope_sin_long, 8, 15, longrope_long_inv, longrope_mscale, "longrope low-long");
    npg_forward_state_free(f.s);

    /* without the config-level key: original = max_position_embeddings, scale = rope_scaling.factor */
    REQUIRE_OK(fixture_open(&f,
                            "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":1,"
                            "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":8,"
                            "\"max_position_embeddings\":64,\"rope_scaling\":{\"rope_type\":\"longrope\","
                            "\"factor\":4.0,\"short_factor\":" SHORT8 ",\"long_factor\":" LONG8 "}}",
                            16));
    CHECK(f.m.cfg.rope.original_max_pos == 64);
    CHECK(fabs((double)f.m.cfg.rope.attention_factor - longrope_mscale_factor4) < 1e-6);
    check_row(f.s->rope_cos, f.s->rope_sin, 8, 1, longrope_short_inv, longrope_mscale_factor4, "longrope factor");
    CHECK(f.s->rope_cos_long == NULL); /* the state cannot reach position 64 */
    npg_forward_state_free(f.s);

    /* an explicit attention_factor wins; a factor list of the wrong length is refused by name */
    REQUIRE_OK(fixture_open(&f,
                            "{\"architectures\":[\"Phi3ForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":1,"
                            "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":8,"
                            "\"max_position_embeddings\":64,\"original_max_position_embeddings\":16,"
                            "\"rope_scaling\":{\"type\":\"longrope\",\"attention_factor\":1.5,"
                            "\"short_factor\":" SHORT8 ",\"long_factor\":" LONG8 "}}",
                            4));
    check_row(f.s->rope_cos, f.s->rope_sin, 8, 1, longrope_short_inv, 1.5, "longrope attention_factor");
    npg_forward_state_free(f.s);
    CHECK(fixture_open(&f,
                       "{\"architectures\":[\"Phi3ForCausalLM\"],\"hidden_size\":64,\"num_hidden_layers\":1,"
                       "\"num_attention_heads\":4,\"intermediate_size\":8,\"vocab_size\":8,"
                       "\"rope_scaling\":{\"type\":\"longrope\",\"short_factor\":[1.0],\"long_factor\":" LONG8 "}}",
                       4) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "short_factor") != NULL);
}

/* A Phi-3 folder in a temp dir: random-phi3's weights with a longrope config (rotary dim 8 → 4 factors,
 * original 8, max 256). Returns the loaded model. */
static npg_status phi3_longrope(const char *dir, const char *short4, const char *long4, npg_model **out) {
    const char *files[] = {"model.safetensors", "tokenizer.json", "tokenizer_config.json"};
    char src[512], dst[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(src, sizeof src, "%s/%s", shared_path("models/random-phi3"), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
        if (symlink(src, dst) != 0)
            return npg_fail(NPG_ERR_IO, "symlink %s", dst);
    }
    char *cfg = read_all(shared_path("models/random-phi3/config.json"), NULL);
    if (!cfg)
        return npg_fail(NPG_ERR_IO, "random-phi3 config");
    char scaling[256];
    snprintf(scaling, sizeof scaling, "{\"type\": \"longrope\", \"short_factor\": %s, \"long_factor\": %s}", short4,
             long4);
    /* replace `"rope_scaling": null` and the original context */
    char *rs = strstr(cfg, "\"rope_scaling\": null"), *om = strstr(cfg, "\"original_max_position_embeddings\": 256");
    if (!rs || !om) {
        free(cfg);
        return npg_fail(NPG_ERR_FORMAT, "random-phi3 config.json changed: keys not found");
    }
    size_t n = strlen(cfg) + 512;
    char *out_json = malloc(n);
    *rs = '\0';
    *om = '\0';
    /* rope_scaling comes before original_max_position_embeddings in the file */
    snprintf(out_json, n, "%s\"rope_scaling\": %s%s\"original_max_position_embeddings\": 8%s", cfg, scaling,
             rs + strlen("\"rope_scaling\": null"), om + strlen("\"original_max_position_embeddings\": 256"));
    free(cfg);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    write_file(dst, out_json, strlen(out_json));
    free(out_json);
    return npg_model_load(dir, out);
}

/* Logits [n, vocab] of ids: one prefill (all rows) or token by token; seq_end sets rope_seq_end. */
static npg_status run_logits(const npg_model *m, const int32_t *ids, int64_t n, bool stepwise, int64_t seq_end,
                             float *out) {
    npg_forward_state *s = NULL;
    NPG_TRY(npg_forward_state_create(m, stepwise ? 1 : n, n, NULL, npg_isa_detect(), &s));
    s->rope_seq_end = seq_end;
    npg_status st = NPG_OK;
    int64_t V = m->cfg.vocab;
    if (stepwise) {
        for (int64_t t = 0; t < n && st == NPG_OK; t++) {
            st = npg_model_forward(m, s, &ids[t], 1, t, false);
            memcpy(out + t * V, s->logits, (size_t)V * sizeof(float));
        }
    } else {
        st = npg_model_forward(m, s, ids, n, 0, true);
        memcpy(out, s->logits, (size_t)(n * V) * sizeof(float));
    }
    npg_forward_state_free(s);
    return st;
}

static void test_longrope_per_call(void) {
    char *dir_a = make_temp_dir(), *dir_l = make_temp_dir(), *dir_s = make_temp_dir();
    npg_model *a = NULL, *all_long = NULL, *all_short = NULL;
    const char *shortf = "[1.0, 1.3, 1.9, 2.7]", *longf = "[1.0, 3.0, 7.0, 20.0]";
    npg_status st = phi3_longrope(dir_a, shortf, longf, &a);
    if (st == NPG_OK)
        st = phi3_longrope(dir_l, longf, longf, &all_long);
    if (st == NPG_OK)
        st = phi3_longrope(dir_s, shortf, shortf, &all_short);
    CHECK(st == NPG_OK);
    if (st != NPG_OK)
        fprintf(stderr, "  %s\n", npg_last_error());
    const int32_t ids[12] = {1, 403, 407, 261, 289, 300, 50, 77, 123, 456, 12, 99};
    enum { N = 12, V = 512 };
    float *pa = malloc(sizeof(float) * N * V), *sa = malloc(sizeof(float) * N * V);
    float *pl = malloc(sizeof(float) * N * V), *ss = malloc(sizeof(float) * N * V);
    float *hint = malloc(sizeof(float) * N * V);
    if (st == NPG_OK) {
        CHECK(a->cfg.rope.original_max_pos == 8 && fabsf(a->cfg.rope.attention_factor - 1.6329932f) < 1e-5f);
        /* one 12-token call passes position 8: long factors for all 12 positions (as if short = long) */
        REQUIRE_OK(run_logits(a, ids, N, false, 0, pa));
        REQUIRE_OK(run_logits(all_long, ids, N, false, 0, pl));
        float d_long = max_abs_diff(pa, pl, (size_t)N * V);
        /* token by token: short for the calls ending at or below 8 (rows 0..7), long after */
        REQUIRE_OK(run_logits(a, ids, N, true, 0, sa));
        REQUIRE_OK(run_logits(all_short, ids, 8, true, 0, ss));
        float d_short = max_abs_diff(sa, ss, (size_t)8 * V);
        float d_modes = max_abs_diff(pa, sa, (size_t)N * V);
        /* a caller chunking one logical call sets rope_seq_end: stepwise then equals the prefill */
        REQUIRE_OK(run_logits(a, ids, N, true, N, hint));
        float d_hint = max_abs_diff(pa, hint, (size_t)N * V);
        /* an 8-token call stays on the short factors */
        REQUIRE_OK(run_logits(a, ids, 8, false, 0, pl));
        float d_eight = max_abs_diff(pl, ss, (size_t)8 * V);
        fprintf(stderr, "  prefill vs all-long %.3g, stepwise vs all-short %.3g, prefill vs stepwise %.3g, "
                        "hinted stepwise vs prefill %.3g, 8-token prefill vs all-short %.3g\n",
                (double)d_long, (double)d_short, (double)d_modes, (double)d_hint, (double)d_eight);
        CHECK(d_long < 1e-5f);
        CHECK(d_short < 1e-5f);
        CHECK(d_hint < 1e-5f);
        CHECK(d_eight < 1e-5f);
        CHECK(d_modes > 1e-3f); /* the factor choice matters on this model: the checks above are not vacuous */
    }
    free(pa);
    free(sa);
    free(pl);
    free(ss);
    free(hint);
    npg_model_free(a);
    npg_model_free(all_long);
    npg_model_free(all_short);
    rm_rf(dir_a);
    rm_rf(dir_l);
    rm_rf(dir_s);
    free(dir_a);
    free(dir_l);
    free(dir_s);
}

/* Prefill logits of `n` prompt ids, then `n_gen` greedy decode steps' logits, through an engine:
 * out[(1 + n_gen) * vocab]. */
static npg_status engine_logits(npg_engine *e, const int32_t *ids, size_t n, size_t n_gen, float *out) {
    int64_t V = e->model->cfg.vocab;
    float *logits = NULL;
    NPG_TRY(e->ops->reserve(e, n + n_gen));
    NPG_TRY(e->ops->prefill(e, ids, n, 0, &logits));
    for (size_t i = 0;; i++) {
        memcpy(out + i * (size_t)V, logits, (size_t)V * sizeof(float));
        if (i == n_gen)
            return NPG_OK;
        int32_t next = 0;
        for (int64_t v = 1; v < V; v++)
            if (logits[v] > logits[next])
                next = (int32_t)v;
        NPG_TRY(e->ops->decode(e, next, n + i, &logits));
    }
}

/* The NPU device applies longrope's one-choice-per-prompt rule as the CPU does: a prompt crossing
 * original_max_position_embeddings (8 here) uses the long factors for all its positions even when the
 * plan prefills it in chunks that each end below 8, and a short prompt stays on the short factors
 * even when the static plan pads it past 8. Prefill and decode logits must be equal on both devices. */
static void test_longrope_cpu_equals_npu(void) {
    char *dir = make_temp_dir();
    npg_model *m = NULL;
    npg_status st = phi3_longrope(dir, "[1.0, 1.3, 1.9, 2.7]", "[1.0, 3.0, 7.0, 20.0]", &m);
    if (st != NPG_OK)
        fprintf(stderr, "  %s\n", npg_last_error());
    CHECK(st == NPG_OK);
    const int32_t ids[12] = {1, 403, 407, 261, 289, 300, 50, 77, 123, 456, 12, 99};
    enum { V = 512, GEN = 5 };
    float *cpu = malloc(sizeof(float) * (GEN + 1) * V), *npu = malloc(sizeof(float) * (GEN + 1) * V);
    const struct {
        size_t n;            /* prompt tokens */
        const char *prefill; /* PREFILL_HINT */
        const char *chunk;   /* NPUW_LLM_PREFILL_CHUNK_SIZE */
    } cases[] = {
        {12, "DYNAMIC", "4"}, /* crosses 8 in the last of three chunks */
        {12, "STATIC", "4"},  /* crosses 8 in one padded call */
        {6, "STATIC", "4"},   /* below 8, padded past it */
        {6, "DYNAMIC", "16"}, /* below 8, its one chunk padded past it */
        {8, "DYNAMIC", "8"},  /* ends exactly at 8: short; decode then crosses */
    };
    for (size_t i = 0; st == NPG_OK && i < sizeof cases / sizeof cases[0]; i++) {
        npg_engine *ce = NULL, *ne = NULL;
        npg_properties *props = NULL;
        REQUIRE_OK(npg_properties_create(&props));
        npg_properties_set(props, "MAX_PROMPT_LEN", "16");
        npg_properties_set(props, "MIN_RESPONSE_LEN", "16");
        npg_properties_set(props, "PREFILL_HINT", cases[i].prefill);
        npg_properties_set(props, "NPUW_LLM_PREFILL_CHUNK_SIZE", cases[i].chunk);
        st = npg_cpu_engine_create(m, NULL, &ce);
        if (st == NPG_OK)
            st = npg_npu_engine_create(m, dir, props, &ne);
        if (st == NPG_OK)
            st = engine_logits(ce, ids, cases[i].n, GEN, cpu);
        if (st == NPG_OK)
            st = engine_logits(ne, ids, cases[i].n, GEN, npu);
        if (st != NPG_OK)
            fprintf(stderr, "  case %zu: %s\n", i, npg_last_error());
        CHECK(st == NPG_OK);
        if (st == NPG_OK) {
            float d_prefill = max_abs_diff(cpu, npu, V), d_all = max_abs_diff(cpu, npu, (size_t)(GEN + 1) * V);
            fprintf(stderr, "  %zu tokens, %s prefill, chunk %s: CPU vs NPU prefill %.3g, with decode %.3g\n",
                    cases[i].n, cases[i].prefill, cases[i].chunk, (double)d_prefill, (double)d_all);
            CHECK(d_all < 1e-5f);
        }
        ce ? ce->ops->free(ce) : (void)0;
        ne ? ne->ops->free(ne) : (void)0;
        npg_properties_free(props);
    }
    free(cpu);
    free(npu);
    npg_model_free(m);
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_linear);
    RUN(test_llama3);
    RUN(test_longrope_tables);
    RUN(test_longrope_per_call);
    RUN(test_longrope_cpu_equals_npu);
    return npg_test_summary();
}
