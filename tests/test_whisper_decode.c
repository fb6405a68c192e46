/* test_whisper_decode.c — OpenAI whisper decoding against ../shared/goldens/whisper-decoding: the
 * special tokens and the suppress set from the tokenizer, every logit filter step by step (raw →
 * filtered logits of the goldens, -inf masks and finite values), language detection, and the decoding
 * loop, seek logic, prompts and segments driven by a stand-in engine replaying each golden's ids (so
 * the loop's bookkeeping is checked on every golden file without the model). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "pipeline/whisper_filters.h"
#include "pipeline/whisper_tokens.h"
#include "pipeline/whisper_transcribe.h"
#include "testutil.h"

#define GOLD "goldens/whisper-decoding/random-whisper-rescaled/"

static npg_tokenizer *load_tok(void) {
    npg_tokenizer *tok = NULL;
    if (npg_tokenizer_create(shared_path("models/random-whisper-rescaled"), &tok) != NPG_OK) {
        fprintf(stderr, "tokenizer: %s\n", npg_last_error());
        return NULL;
    }
    return tok;
}

static cJSON *load_json(const char *rel) {
    cJSON *j = NULL;
    if (npg_json_parse_file(shared_path(rel), &j) != NPG_OK) {
        fprintf(stderr, "%s: %s\n", rel, npg_last_error());
        return NULL;
    }
    return j;
}

static void test_special_tokens(void) {
    npg_tokenizer *tok = load_tok();
    REQUIRE(tok);
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    CHECK(t.eot == 50257 && t.sot == 50258 && t.translate == 50358 && t.transcribe == 50359);
    CHECK(t.sot_lm == 50360 && t.sot_prev == 50361 && t.no_speech == 50362 && t.no_timestamps == 50363);
    CHECK(t.timestamp_begin == 50364 && t.space == 220);
    CHECK(t.n_langs == 99 && t.multilingual);
    CHECK(npg_whisper_lang_token(&t, "en") == 50259 && npg_whisper_lang_token(&t, "fr") == 50265);
    CHECK(npg_whisper_lang_token(&t, "sq") == 50317 && npg_whisper_lang_token(&t, "su") == 50357);
    CHECK(strcmp(npg_whisper_lang_code(&t, 50283), "cs") == 0);
    int32_t *sup = NULL;
    size_t n_sup = 0;
    REQUIRE_OK(npg_whisper_suppress_set(&t, "-1", &sup, &n_sup));
    CHECK(n_sup == 88); /* the goldens' suppress list: 82 non-speech + 6 specials */
    /* whisper-tiny's suppress list (ct2 config: HF suppress_tokens plus the specials) is the same set */
    cJSON *ct2 = load_json("whisper-assets/ct2-whisper-tiny-config.json");
    REQUIRE(ct2);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ct2, "suppress_ids");
    size_t n = 0, hits = 0;
    for (const cJSON *it = list ? list->child : NULL; it; it = it->next, n++)
        for (size_t i = 0; i < n_sup; i++)
            hits += sup[i] == (int32_t)it->valuedouble;
    CHECK(n == n_sup && hits == n);
    cJSON_Delete(ct2);
    free(sup);
    CHECK(npg_whisper_suppress_set(&t, "5,x", &sup, &n_sup) == NPG_ERR_INVALID_ARGUMENT);
    REQUIRE_OK(npg_whisper_suppress_set(&t, "", &sup, &n_sup));
    CHECK(n_sup == 6);
    free(sup);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

/* An English-only vocabulary (51864 ids) holds the language tokens but is not multilingual: its prompt
 * is <|startoftranscript|> alone. */
static void test_english_only_tokens(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/whisper_en"), &tok));
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    CHECK(t.vocab == 51864 && !t.multilingual);
    CHECK(t.eot == 50256 && t.sot == 50257 && t.no_timestamps == 50362 && t.timestamp_begin == 50363);
    CHECK(npg_whisper_lang_token(&t, "en") == 50258);
    CHECK(t.n_non_speech > 70);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

/* The -inf masks and the finite values of filter(raw) equal the golden filtered rows. */
static void check_filters(const char *clip, const char *mode, bool timestamps) {
    char rel[256], raw_rel[256], filt_rel[256];
    snprintf(rel, sizeof rel, GOLD "%s__%s.json", clip, mode);
    snprintf(raw_rel, sizeof raw_rel, GOLD "%s__%s__logits_raw_8x51865.f32", clip, mode);
    snprintf(filt_rel, sizeof filt_rel, GOLD "%s__%s__logits_filtered_8x51865.f32", clip, mode);
    npg_tokenizer *tok = load_tok();
    REQUIRE(tok);
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    cJSON *g = load_json(rel);
    size_t n_raw = 0, n_filt = 0;
    float *raw = read_f32(shared_path(raw_rel), &n_raw);
    float *filt = read_f32(shared_path(filt_rel), &n_filt);
    REQUIRE(g && raw && filt && n_raw == 8 * t.vocab && n_filt == n_raw);
    int32_t gen[64];
    size_t n_gen = 0;
    for (const cJSON *it = cJSON_GetObjectItemCaseSensitive(g, "generated_ids")->child; it && n_gen < 64; it = it->next)
        gen[n_gen++] = (int32_t)it->valuedouble;
    int32_t *sup = NULL;
    size_t n_sup = 0;
    REQUIRE_OK(npg_whisper_suppress_set(&t, "-1", &sup, &n_sup));
    npg_whisper_filters f = {.t = &t, .suppress_blank = true, .suppress = sup, .n_suppress = n_sup,
                             .timestamps = timestamps, .max_initial_timestamp_index = timestamps ? 50 : -1};
    size_t bad_mask = 0;
    float worst = 0.0f;
    for (size_t s = 0; s < 8 && s < n_gen; s++) {
        float *row = raw + s * t.vocab;
        npg_whisper_filters_apply(&f, row, gen, s);
        const float *want = filt + s * t.vocab;
        for (size_t i = 0; i < t.vocab; i++) {
            bool a = isinf(row[i]), b = isinf(want[i]);
            if (a != b) {
                if (bad_mask++ < 5)
                    fprintf(stderr, "  %s %s step %zu id %zu: ours %g golden %g\n", clip, mode, s, i, (double)row[i],
                            (double)want[i]);
            } else if (!a && fabsf(row[i] - want[i]) > worst) {
                worst = fabsf(row[i] - want[i]);
            }
        }
        CHECK(npg_whisper_argmax(row, t.vocab) == gen[s]);
    }
    CHECK(bad_mask == 0);
    CHECK(worst == 0.0f);
    free(sup);
    free(raw);
    free(filt);
    cJSON_Delete(g);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

static void test_filters_espeak_timestamps(void) { check_filters("espeak_3s", "transcribe_timestamps", true); }
/* Without timestamps the masks do not depend on the values: filtering a row of zeros gives the
 * golden's -inf pattern (only espeak_3s stores logits). */
static void check_masks(const char *mode) {
    char rel[256];
    snprintf(rel, sizeof rel, GOLD "espeak_3s__%s__logits_filtered_8x51865.f32", mode);
    npg_tokenizer *tok = load_tok();
    REQUIRE(tok);
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    size_t n = 0;
    float *filt = read_f32(shared_path(rel), &n);
    float *row = malloc(t.vocab * sizeof *row);
    REQUIRE(filt && row && n == 8 * t.vocab);
    int32_t *sup = NULL;
    size_t n_sup = 0;
    REQUIRE_OK(npg_whisper_suppress_set(&t, "-1", &sup, &n_sup));
    npg_whisper_filters f = {.t = &t, .suppress_blank = true, .suppress = sup, .n_suppress = n_sup,
                             .timestamps = false, .max_initial_timestamp_index = -1};
    int32_t gen[8] = {0};
    size_t bad = 0;
    for (size_t s = 0; s < 8; s++) {
        memset(row, 0, t.vocab * sizeof *row);
        npg_whisper_filters_apply(&f, row, gen, s);
        for (size_t i = 0; i < t.vocab; i++)
            bad += isinf(row[i]) != isinf(filt[s * t.vocab + i]);
    }
    CHECK(bad == 0);
    free(sup);
    free(row);
    free(filt);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

static void test_filter_masks_notimestamps(void) {
    check_masks("transcribe_notimestamps");
    check_masks("translate_notimestamps");
    check_masks("translate_fr_notimestamps");
}

static void test_language_detection(void) {
    npg_tokenizer *tok = load_tok();
    REQUIRE(tok);
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    cJSON *g = load_json(GOLD "espeak_3s__langid.json");
    size_t n = 0;
    float *raw = read_f32(shared_path(GOLD "espeak_3s__langid__logits_raw_1x51865.f32"), &n);
    REQUIRE(g && raw && n == t.vocab);
    float probs[NPG_WHISPER_MAX_LANGS];
    size_t best = npg_whisper_detect_language(&t, raw, probs);
    CHECK(strcmp(t.lang_codes[best], "sq") == 0);
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(g, "all_probs");
    size_t n_cmp = 0;
    double worst = 0.0;
    for (size_t i = 0; i < t.n_langs; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(all, t.lang_codes[i]);
        if (!cJSON_IsNumber(p))
            continue;
        n_cmp++;
        double d = fabs(p->valuedouble - (double)probs[i]);
        worst = d > worst ? d : worst;
    }
    CHECK(n_cmp == t.n_langs);
    CHECK(worst < 1e-6);
    free(raw);
    cJSON_Delete(g);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

/* ---- a stand-in engine that replays golden windows ------------------------------------------------ */

typedef struct gold_window {
    int32_t prompt[512], gen[512];
    size_t n_prompt, n_gen;
} gold_window;

typedef struct fake_engine {
    npg_engine base;
    size_t vocab;
    gold_window *wins;
    size_t n_wins, cur; /* cur = encodes so far - 1 */
    int32_t fed[1024];
    size_t n_fed;
    float *logits;
    size_t prompt_mismatch, overrun;
} fake_engine;

static void fake_fill(fake_engine *f) {
    for (size_t i = 0; i < f->vocab; i++)
        f->logits[i] = -10.0f;
    if (f->cur >= f->n_wins)
        return;
    const gold_window *g = &f->wins[f->cur];
    if (f->n_fed < g->n_prompt)
        return; /* the logits at <|startoftranscript|> */
    size_t k = f->n_fed - g->n_prompt;
    if (k < g->n_gen)
        f->logits[g->gen[k]] = 10.0f;
    else
        f->overrun++;
}

static npg_status fake_prefill(npg_engine *e, const int32_t *ids, size_t n, size_t pos, float **logits) {
    fake_engine *f = (fake_engine *)e;
    if (pos == 0)
        f->n_fed = 0;
    if (pos != f->n_fed || f->n_fed + n > 1024)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "fake engine: fed at %zu after %zu ids", pos, f->n_fed);
    memcpy(f->fed + f->n_fed, ids, n * sizeof *ids);
    f->n_fed += n;
    const gold_window *g = f->cur < f->n_wins ? &f->wins[f->cur] : NULL;
    if (g && f->n_fed == g->n_prompt && (f->n_fed != g->n_prompt || memcmp(f->fed, g->prompt, n * sizeof *ids) != 0))
        f->prompt_mismatch++;
    if (g && f->n_fed >= g->n_prompt && memcmp(f->fed, g->prompt, g->n_prompt * sizeof *ids) != 0)
        f->prompt_mismatch++;
    fake_fill(f);
    *logits = f->logits;
    return NPG_OK;
}

static npg_status fake_decode(npg_engine *e, int32_t id, size_t pos, float **logits) {
    return fake_prefill(e, &id, 1, pos, logits);
}

static npg_status fake_encode(npg_engine *e, const float *features, size_t n_frames, int32_t seq) {
    fake_engine *f = (fake_engine *)e;
    f->cur++;
    f->n_fed = 0;
    return n_frames == 3000 && seq == 0 ? NPG_OK : npg_fail(NPG_ERR_INVALID_ARGUMENT, "fake encode");
}

static const npg_engine_ops fake_ops = {.device = "FAKE", .prefill = fake_prefill, .decode = fake_decode,
                                        .encode = fake_encode};

typedef struct mel_log {
    size_t seek[64], size[64], n;
} mel_log;

static npg_status fake_mel(void *ctx, size_t seek, size_t segment_size, float *out) {
    mel_log *m = ctx;
    if (m->n < 64) {
        m->seek[m->n] = seek;
        m->size[m->n++] = segment_size;
    }
    memset(out, 0, 80 * 3000 * sizeof *out);
    return NPG_OK;
}

static size_t read_ids(const cJSON *arr, int32_t *out, size_t cap) {
    size_t n = 0;
    for (const cJSON *it = arr ? arr->child : NULL; it && n < cap; it = it->next)
        out[n++] = (int32_t)it->valuedouble;
    return n;
}

static bool same_ids(const int32_t *a, size_t na, const cJSON *arr) {
    int32_t b[1024];
    size_t nb = read_ids(arr, b, 1024);
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* Runs the transcribe loop on a stand-in engine replaying `wins`. */
static npg_status run_fake(const npg_tokenizer *tok, const npg_whisper_tokens *t, gold_window *wins, size_t n_wins,
                           const char *lang, bool translate, bool timestamps, bool cond, size_t content_frames,
                           mel_log *ml, fake_engine *fe, npg_whisper_transcript *r) {
    memset(fe, 0, sizeof *fe);
    fe->base.ops = &fake_ops;
    fe->vocab = t->vocab;
    fe->wins = wins;
    fe->n_wins = n_wins;
    fe->cur = (size_t)-1;
    fe->logits = malloc(t->vocab * sizeof *fe->logits);
    int32_t *sup = NULL;
    size_t n_sup = 0;
    npg_status st = npg_whisper_suppress_set(t, "-1", &sup, &n_sup);
    if (st != NPG_OK)
        return st;
    static const float zero = 0.0f;
    npg_whisper_transcribe_opts o = {
        .t = t, .language = npg_whisper_lang_token(t, lang), .translate = translate, .timestamps = timestamps,
        .sample_len = 224, .n_text_ctx = 448, .suppress = sup, .n_suppress = n_sup, .suppress_blank = true,
        .max_initial_timestamp_index = 50, .condition_on_previous_text = cond, .temperatures = &zero,
        .n_temperatures = 1, .compression_ratio_threshold = (double)NAN, .logprob_threshold = (double)NAN,
        .no_speech_threshold = (double)NAN, .n_mels = 80, .content_frames = content_frames, .mel = fake_mel, .ctx = ml};
    st = npg_whisper_transcribe(&fe->base, tok, &o, r);
    free(sup);
    free(fe->logits);
    return st;
}

static bool near(double a, double b) { return fabs(a - b) < 1e-9; }

/* One single-window golden (decode() on one clip): ids, segments and the seek advance. */
static void check_clip(const npg_tokenizer *tok, const npg_whisper_tokens *t, const char *clip, const char *mode) {
    char rel[256];
    snprintf(rel, sizeof rel, GOLD "%s__%s.json", clip, mode);
    cJSON *g = load_json(rel);
    snprintf(rel, sizeof rel, GOLD "%s__info.json", clip);
    cJSON *info = load_json(rel);
    REQUIRE(g && info);
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(g, "options");
    const char *lang = cJSON_GetObjectItemCaseSensitive(opt, "language")->valuestring;
    bool translate = strcmp(cJSON_GetObjectItemCaseSensitive(opt, "task")->valuestring, "translate") == 0;
    bool timestamps = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(opt, "without_timestamps"));
    size_t content = (size_t)cJSON_GetObjectItemCaseSensitive(info, "n_samples")->valuedouble / 160;
    gold_window win = {0};
    win.n_prompt = read_ids(cJSON_GetObjectItemCaseSensitive(g, "prompt_ids"), win.prompt, 512);
    win.n_gen = read_ids(cJSON_GetObjectItemCaseSensitive(g, "generated_ids"), win.gen, 512);
    mel_log ml = {0};
    fake_engine fe;
    npg_whisper_transcript r;
    npg_status st = run_fake(tok, t, &win, 1, lang, translate, timestamps, true, content, &ml, &fe, &r);
    if (st != NPG_OK)
        fprintf(stderr, "  %s %s: %s\n", clip, mode, npg_last_error());
    REQUIRE(st == NPG_OK);
    CHECK(fe.prompt_mismatch == 0 && fe.overrun == 0);
    REQUIRE(r.n_windows >= 1);
    CHECK(ml.seek[0] == 0 && ml.size[0] == content);
    const npg_whisper_window *w = &r.windows[0].w;
    bool ok = same_ids(w->tokens, w->n_tokens, cJSON_GetObjectItemCaseSensitive(g, "result_tokens")) && w->eot;
    CHECK(ok);
    CHECK(same_ids(w->initial, w->n_initial, cJSON_GetObjectItemCaseSensitive(g, "prompt_ids")));
    if (timestamps) {
        const cJSON *segs = cJSON_GetObjectItemCaseSensitive(g, "segments");
        CHECK((size_t)cJSON_GetArraySize(segs) == r.n_segments);
        size_t i = 0;
        for (const cJSON *s = segs ? segs->child : NULL; s && i < r.n_segments; s = s->next, i++) {
            CHECK(near(r.segments[i].start, cJSON_GetObjectItemCaseSensitive(s, "start")->valuedouble));
            CHECK(near(r.segments[i].end, cJSON_GetObjectItemCaseSensitive(s, "end")->valuedouble));
            CHECK(same_ids(r.segments[i].tokens, r.segments[i].n_tokens, cJSON_GetObjectItemCaseSensitive(s, "tokens")));
        }
        const cJSON *adv = cJSON_GetObjectItemCaseSensitive(g, "seek_advance_frames");
        if (cJSON_IsNumber(adv))
            CHECK(r.n_windows == 1 || ml.seek[1] == (size_t)adv->valuedouble);
    } else {
        CHECK(r.n_windows == 1 && r.n_segments == 1);
    }
    npg_whisper_transcript_clear(&r);
    cJSON_Delete(g);
    cJSON_Delete(info);
}

static void test_clip_goldens(void) {
    npg_tokenizer *tok = load_tok();
    REQUIRE(tok);
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    const char *clips[] = {"espeak_3s", "librivox_0870", "librivox_0880", "librivox_0890", "librivox_0920", "librivox_0930"};
    const char *modes[] = {"transcribe_notimestamps", "transcribe_timestamps", "translate_notimestamps",
                           "translate_fr_notimestamps"};
    size_t n_files = 0;
    for (size_t c = 0; c < 6; c++)
        for (size_t m = 0; m < 4; m++) {
            char rel[256];
            snprintf(rel, sizeof rel, GOLD "%s__%s.json", clips[c], modes[m]);
            size_t len = 0;
            char *exists = read_all(shared_path(rel), &len);
            if (!exists)
                continue;
            free(exists);
            n_files++;
            check_clip(tok, &t, clips[c], modes[m]);
        }
    CHECK(n_files == 19);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

/* Long-form: every window's seek, size, prompt and ids, then the segments and the text. */
static void check_longform(const npg_tokenizer *tok, const npg_whisper_tokens *t, bool cond) {
    char rel[256];
    snprintf(rel, sizeof rel, GOLD "librivox_concat_49s__transcribe_longform_cond%d.json", cond);
    cJSON *g = load_json(rel);
    cJSON *info = load_json(GOLD "librivox_concat_49s__info.json");
    REQUIRE(g && info);
    const cJSON *gw = cJSON_GetObjectItemCaseSensitive(g, "windows");
    size_t n_w = (size_t)cJSON_GetArraySize(gw);
    gold_window *wins = calloc(n_w, sizeof *wins);
    REQUIRE(wins);
    size_t i = 0;
    for (const cJSON *it = gw->child; it; it = it->next, i++) {
        snprintf(rel, sizeof rel, GOLD "%s", cJSON_GetObjectItemCaseSensitive(it, "json")->valuestring);
        cJSON *wj = load_json(rel);
        REQUIRE(wj);
        wins[i].n_prompt = read_ids(cJSON_GetObjectItemCaseSensitive(wj, "prompt_ids"), wins[i].prompt, 512);
        wins[i].n_gen = read_ids(cJSON_GetObjectItemCaseSensitive(wj, "generated_ids"), wins[i].gen, 512);
        cJSON_Delete(wj);
    }
    size_t content = (size_t)cJSON_GetObjectItemCaseSensitive(info, "content_frames")->valuedouble;
    mel_log ml = {0};
    fake_engine fe;
    npg_whisper_transcript r;
    npg_status st = run_fake(tok, t, wins, n_w, "en", false, true, cond, content, &ml, &fe, &r);
    REQUIRE(st == NPG_OK);
    CHECK(fe.prompt_mismatch == 0 && fe.overrun == 0);
    CHECK(r.n_windows == n_w);
    i = 0;
    for (const cJSON *it = gw->child; it && i < r.n_windows; it = it->next, i++) {
        CHECK(r.windows[i].seek == (size_t)cJSON_GetObjectItemCaseSensitive(it, "seek")->valuedouble);
        CHECK(r.windows[i].segment_size == (size_t)cJSON_GetObjectItemCaseSensitive(it, "segment_size")->valuedouble);
        CHECK(r.windows[i].w.n_initial == (size_t)cJSON_GetObjectItemCaseSensitive(it, "prompt_len")->valuedouble);
        CHECK(r.windows[i].w.n_tokens + 1 == (size_t)cJSON_GetObjectItemCaseSensitive(it, "n_generated")->valuedouble);
    }
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(g, "segments");
    CHECK((size_t)cJSON_GetArraySize(segs) == r.n_segments);
    i = 0;
    size_t text_diff = 0;
    for (const cJSON *s = segs->child; s && i < r.n_segments; s = s->next, i++) {
        CHECK(r.segments[i].seek == (size_t)cJSON_GetObjectItemCaseSensitive(s, "seek")->valuedouble);
        CHECK(near(r.segments[i].start, cJSON_GetObjectItemCaseSensitive(s, "start")->valuedouble));
        CHECK(near(r.segments[i].end, cJSON_GetObjectItemCaseSensitive(s, "end")->valuedouble));
        CHECK(same_ids(r.segments[i].tokens, r.segments[i].n_tokens, cJSON_GetObjectItemCaseSensitive(s, "tokens")));
        if (strcmp(r.segments[i].text, cJSON_GetObjectItemCaseSensitive(s, "text")->valuestring) != 0 && text_diff++ < 3)
            fprintf(stderr, "  segment %zu text [%s] golden [%s]\n", i, r.segments[i].text,
                    cJSON_GetObjectItemCaseSensitive(s, "text")->valuestring);
    }
    CHECK(text_diff == 0);
    CHECK(strcmp(r.text, cJSON_GetObjectItemCaseSensitive(g, "text")->valuestring) == 0);
    npg_whisper_transcript_clear(&r);
    free(wins);
    cJSON_Delete(g);
    cJSON_Delete(info);
}

static void test_longform_goldens(void) {
    npg_tokenizer *tok = load_tok();
    REQUIRE(tok);
    npg_whisper_tokens t;
    REQUIRE_OK(npg_whisper_tokens_init(tok, &t));
    check_longform(tok, &t, false);
    check_longform(tok, &t, true);
    npg_whisper_tokens_free(&t);
    npg_tokenizer_free(tok);
}

int main(void) {
    RUN(test_special_tokens);
    RUN(test_english_only_tokens);
    RUN(test_filters_espeak_timestamps);
    RUN(test_filter_masks_notimestamps);
    RUN(test_language_detection);
    RUN(test_clip_goldens);
    RUN(test_longform_goldens);
    return npg_test_summary();
}
