/* test_eval.c — `npugen eval`: the perplexity convention checked against a hand computation, the
 * stories260K figures on ../shared/text/tinystories-eval.txt for every export format within
 * documented bounds (docs/quantization.md), KL / top-1 against the model itself, every LLM fixture's
 * int4 export evaluated against its source, and the CLI's JSON and errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "models/model.h"
#include "compress/eval.h"
#include "compress/export.h"
#include "testutil.h"

static char *eval_text(void) { return read_all(shared_path("text/tinystories-eval.txt"), NULL); }

/* One window of ctx tokens: perplexity equals exp(mean NLL) over positions ctx/2 .. ctx-2 computed
 * here directly from the forward pass. */
static void test_convention_by_hand(void) {
    const char *dir = shared_path("models/stories260K");
    char *text = eval_text();
    REQUIRE(text);
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(dir, &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    REQUIRE_OK(npg_tokenizer_encode(tok, text, false, &ids, &n));
    int32_t bos = npg_tokenizer_bos_token_id(tok);
    npg_tokenizer_free(tok);
    REQUIRE(n > 200 && bos == 1);
    const int64_t ctx = 64;
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(dir, &m));
    npg_forward_state *s = NULL;
    REQUIRE_OK(npg_forward_state_create(m, ctx, ctx, NULL, npg_isa_detect(), &s));
    double nll = 0;
    size_t count = 0, windows = 12; /* of n / ctx: enough, and fast under ASan */
    REQUIRE(n / (size_t)ctx > windows);
    int32_t win[64];
    for (size_t w = 0; w < windows; w++) {
        memcpy(win, ids + w * (size_t)ctx, sizeof win);
        win[0] = bos;
        REQUIRE_OK(npg_model_forward(m, s, win, ctx, 0, true));
        for (int64_t i = ctx / 2; i < ctx - 1; i++) {
            const float *l = s->logits + i * m->cfg.vocab;
            double mx = -HUGE_VAL, sum = 0;
            for (int64_t v = 0; v < m->cfg.vocab; v++)
                mx = fmax(mx, (double)l[v]);
            for (int64_t v = 0; v < m->cfg.vocab; v++)
                sum += exp((double)l[v] - mx);
            nll += -((double)l[win[i + 1]] - mx - log(sum));
            count++;
        }
    }
    npg_forward_state_free(s);
    npg_model_free(m);
    npg_eval_options o;
    npg_eval_options_init(&o);
    o.ctx = ctx;
    o.chunks = windows;
    npg_eval_result r;
    REQUIRE_OK(npg_eval_text(dir, NULL, text, &o, &r));
    CHECK(r.windows == windows && r.tokens == count && r.tokens == windows * 31);
    CHECK(r.text_tokens == n && r.ctx == ctx && !r.has_reference);
    CHECK(fabs(r.perplexity - exp(nll / (double)count)) < 1e-9 * r.perplexity);
    npg_free(ids);
    free(text);
}

typedef struct row {
    const char *label;
    npg_export_format format;
    int64_t group;
    float ratio;
    /* measured on tinystories-eval.txt, ctx 512 (docs/quantization.md); bounds are these ± margin */
    double ppl, kl, top1;
} row;

/* Measured with --chunks 1 (the first 512-token window, 255 scored tokens): the full-text table of
 * docs/quantization.md costs about 20 s per row under ASan, too slow for CI. fp32 is the source
 * folder evaluated against itself. */
static const row ROWS[] = {
    {"fp32", NPG_EXPORT_FP32, NPG_EXPORT_GROUP_DEFAULT, 1.0f, 6.3056, 0.0, 1.0},
    {"fp16", NPG_EXPORT_FP16, NPG_EXPORT_GROUP_DEFAULT, 1.0f, 6.3054, 0.0000006, 1.0},
    {"int8", NPG_EXPORT_INT8, NPG_EXPORT_GROUP_DEFAULT, 1.0f, 6.2989, 0.00160, 0.9765},
    {"int4-cw", NPG_EXPORT_INT4, -1, 1.0f, 6.7841, 0.1506, 0.7255},
    {"int4-g32", NPG_EXPORT_INT4, 32, 1.0f, 6.5491, 0.0989, 0.7882},
    {"int4-g64", NPG_EXPORT_INT4, 64, 1.0f, 6.6615, 0.1392, 0.7686},
    {"nf4-cw", NPG_EXPORT_NF4, -1, 1.0f, 6.9047, 0.1615, 0.7529},
    {"int4-cw-r0.8", NPG_EXPORT_INT4, -1, 0.8f, 6.5208, 0.1134, 0.7647},
};

/* The stories260K table (docs/quantization.md, "bounds held by the tests"), recomputed on the first
 * window: each figure within 2% (ppl), 10% (KL) and 0.02 (top-1) of the recorded value, and the KL
 * orderings. All exports run against one fp32 reference pass per window (npg_eval_text_many). */
static void test_stories_table(void) {
    const char *src = shared_path("models/stories260K");
    char *text = eval_text();
    REQUIRE(text);
    char *tmp = make_temp_dir();
    npg_eval_options eo;
    npg_eval_options_init(&eo);
    eo.chunks = 1;
    enum { NR = sizeof ROWS / sizeof ROWS[0] };
    char outs[NR][1024];
    const char *dirs[NR];
    dirs[0] = src;
    for (size_t i = 1; i < NR; i++) {
        const row *w = &ROWS[i];
        snprintf(outs[i], sizeof outs[i], "%s/%s", tmp, w->label);
        dirs[i] = outs[i];
        npg_export_options o;
        npg_export_options_init(&o);
        o.format = w->format;
        o.group_size = w->group;
        o.ratio = w->ratio;
        o.sym = true;
        REQUIRE_OK(npg_export_model(src, outs[i], &o));
    }
    npg_eval_result res[NR];
    REQUIRE_OK(npg_eval_text_many(dirs, NR, src, text, &eo, res));
    double kl[NR];
    for (size_t i = 0; i < NR; i++) {
        const row *w = &ROWS[i];
        const npg_eval_result *r = &res[i];
        fprintf(stderr, "  %-12s ppl %.4f KL %.4g top1 %.4f\n", w->label, r->perplexity, r->kl_divergence,
                r->top1_agreement);
        CHECK(r->tokens == 255 && r->ctx == 512 && r->windows == 1);
        CHECK(fabs(r->perplexity - w->ppl) <= 0.02 * w->ppl);
        CHECK(fabs(r->kl_divergence - w->kl) <= 0.1 * w->kl + 1e-6);
        CHECK(fabs(r->top1_agreement - w->top1) <= 0.02);
        kl[i] = r->kl_divergence;
    }
    CHECK(kl[0] < 1e-12 && res[0].top1_agreement == 1.0); /* the reference against itself */
    CHECK(kl[1] < kl[2] && kl[2] < kl[4] && kl[4] < kl[3]); /* fp16 < int8 < int4 G32 < int4 CW */
    CHECK(kl[7] < kl[3]);                                     /* ratio 0.8 keeps more in 8-bit than CW */
    rm_rf(tmp);
    free(tmp);
    free(text);
}

/* Each LLM fixture's int4-CW export evaluated against its source on a short window. */
static void test_fixtures_against_source(void) {
    const char *models[] = {"random-llama-gqa", "random-qwen2", "random-qwen3", "random-phi3", "random-gemma3",
                            "random-llama-chat"};
    char *text = eval_text();
    REQUIRE(text);
    text[2000] = '\0'; /* a few hundred tokens are enough */
    char *tmp = make_temp_dir();
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char rel[128], out[1024];
        snprintf(rel, sizeof rel, "models/%s", models[i]);
        char src[1024];
        snprintf(src, sizeof src, "%s", shared_path(rel));
        snprintf(out, sizeof out, "%s/%s", tmp, models[i]);
        npg_export_options o;
        npg_export_options_init(&o);
        o.sym = true;
        o.group_size = -1;
        REQUIRE_OK(npg_export_model(src, out, &o));
        npg_eval_options eo;
        npg_eval_options_init(&eo);
        eo.ctx = 64;
        eo.chunks = 3;
        npg_eval_result r;
        REQUIRE_OK(npg_eval_text(out, src, text, &eo, &r));
        CHECK(isfinite(r.perplexity) && r.perplexity > 1.0);
        CHECK(r.kl_divergence > 0.0 && isfinite(r.kl_divergence));
        CHECK(r.top1_agreement > 0.0 && r.top1_agreement <= 1.0);
        CHECK(r.windows == 3 && r.tokens == 3 * 31);
    }
    rm_rf(tmp);
    free(tmp);
    free(text);
}

static void expect_cli(const char *args, int want_rc, const char *want) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s eval %s", NPG_CLI, args);
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    const char *where = want_rc == 0 ? out : err;
    if (rc != want_rc || !where || !strstr(where, want))
        fprintf(stderr, "  `%s`: rc %d\n  out: %s\n  err: %s\n", args, rc, out ? out : "", err ? err : "");
    CHECK(rc == want_rc);
    CHECK(where && strstr(where, want) != NULL);
    if (want_rc != 0)
        CHECK(err && strncmp(err, "npugen eval: ", 13) == 0);
    free(out);
    free(err);
}

static void test_cli(void) {
    const char *m = shared_path("models/stories260K");
    const char *t = shared_path("text/tinystories-eval.txt");
    char a[4096];
    /* --json: one object with the four figures */
    snprintf(a, sizeof a, "%s --text %s --reference %s --ctx 128 --chunks 4 --json", m, t, m);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s eval %s", NPG_CLI, a);
    char *out = NULL;
    CHECK(run_cmd(cmd, &out, NULL) == 0);
    cJSON *j = NULL;
    REQUIRE(out && npg_json_parse(out, strlen(out), "stdout", &j) == NPG_OK);
    double ppl = 0, tokens = 0, kl = -1, top1 = -1;
    CHECK(npg_json_get_number(j, "perplexity", &ppl) && ppl > 1.0);
    CHECK(npg_json_get_number(j, "tokens", &tokens) && tokens == 4.0 * 63.0); /* 4 windows × (128 - 1 - 64) */
    CHECK(npg_json_get_number(j, "kl_divergence", &kl) && kl == 0.0);
    CHECK(npg_json_get_number(j, "top1_agreement", &top1) && top1 == 1.0);
    cJSON_Delete(j);
    free(out);
    snprintf(a, sizeof a, "%s --text %s --chunks 1", m, t);
    expect_cli(a, 0, "perplexity");
    expect_cli(m, 2, "--text FILE is required");
    snprintf(a, sizeof a, "%s --text /nonexistent.txt", m);
    expect_cli(a, 1, "/nonexistent.txt");
    snprintf(a, sizeof a, "%s --text %s --ctx 1", m, t);
    expect_cli(a, 2, "--ctx");
    snprintf(a, sizeof a, "%s --text %s --ctx 4096", m, t);
    expect_cli(a, 1, "max_position_embeddings");
    snprintf(a, sizeof a, "%s --text %s --reference %s", m, t, shared_path("models/random-llama-chat"));
    expect_cli(a, 1, "vocab size");
    snprintf(a, sizeof a, "/nonexistent-model --text %s", t);
    expect_cli(a, 1, "/nonexistent-model");
}

int main(void) {
    RUN(test_convention_by_hand);
    RUN(test_stories_table);
    RUN(test_fixtures_against_source);
    RUN(test_cli);
    return npg_test_summary();
}
