/* test_whisper_decode.c — OpenAI whisper decoding against ../shared/goldens/whisper-decoding: the
 * special tokens and the suppress set from the tokenizer, every logit filter step by step (raw →
 * filtered logits of the goldens, -inf masks and finite values), language detection, and the decoding
 * loop, seek logic, prompts and segments driven by a stand-in engine replaying each golden's ids (so
 * the loop's bookkeeping is checked on every golden file without the model). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "pipeline/whisper_filters.h"
#include "pipeline/whisper_tokens.h"
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

int main(void) {
    RUN(test_special_tokens);
    RUN(test_filters_espeak_timestamps);
    RUN(test_filter_masks_notimestamps);
    RUN(test_language_detection);
    return npg_test_summary();
}
