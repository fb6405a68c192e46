/* whisper_goldens.c — checks the Whisper pipeline against every golden of
 * ../shared/goldens/whisper-decoding/MODEL: the ids of each clip and mode, the segments of the
 * timestamp modes, the detected languages, and the long-form windows (seek, prompt, ids) and segments
 * with condition_on_previous_text off and on. One executable per model keeps each test short. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "pipeline/whisper_pipeline.h"
#include "testutil.h"
#include "whisper_goldens.h"

static const char *const CLIPS[] = {"espeak_3s", "librivox_0870", "librivox_0880", "librivox_0890", "librivox_0920",
                                    "librivox_0930"};
static const char *const MODES[] = {"transcribe_notimestamps", "transcribe_timestamps", "translate_notimestamps",
                                    "translate_fr_notimestamps"};

static const char *clip_wav(const char *clip) {
    static char buf[256];
    if (strcmp(clip, "espeak_3s") == 0)
        return shared_path("audio/espeak_3s.wav");
    snprintf(buf, sizeof buf, "audio/librivox/sense_and_sensibility_01_austen_64kb-%s.wav", clip + 9);
    return shared_path(buf);
}

static cJSON *load_json(const char *rel) {
    cJSON *j = NULL;
    size_t len = 0;
    char *text = read_all(shared_path(rel), &len);
    if (!text)
        return NULL;
    npg_json_parse(text, len, rel, &j);
    free(text);
    return j;
}

static size_t read_ids(const cJSON *arr, int32_t *out, size_t cap) {
    size_t n = 0;
    for (const cJSON *it = arr ? arr->child : NULL; it && n < cap; it = it->next)
        out[n++] = (int32_t)it->valuedouble;
    return n;
}

/* Index of the first difference (n when equal). */
static size_t first_diff(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i == n && na == nb ? (size_t)-1 : i;
}

static size_t n_pass, n_fail;

static void count(bool ok) {
    if (ok)
        n_pass++;
    else
        n_fail++;
    CHECK(ok);
}

static void check_clips(npg_whisper_pipeline *p, const char *model) {
    for (size_t c = 0; c < 6; c++) {
        float *samples = NULL;
        size_t n = 0;
        REQUIRE_OK(npg_audio_load(clip_wav(CLIPS[c]), 16000, &samples, &n, NULL));
        for (size_t m = 0; m < 4; m++) {
            char rel[256];
            snprintf(rel, sizeof rel, "goldens/whisper-decoding/%s/%s__%s.json", model, CLIPS[c], MODES[m]);
            cJSON *g = load_json(rel);
            if (!g)
                continue; /* translate_fr exists for espeak_3s only */
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(g, "options");
            npg_whisper_generation_config *cfg = NULL;
            REQUIRE_OK(npg_whisper_generation_config_create(&cfg));
            REQUIRE_OK(npg_whisper_generation_config_set_language(cfg, npg_json_get_string(o, "language")));
            REQUIRE_OK(npg_whisper_generation_config_set_task(cfg, npg_json_get_string(o, "task")));
            bool ts = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "without_timestamps"));
            REQUIRE_OK(npg_whisper_generation_config_set_return_timestamps(cfg, ts));
            double sl = 0;
            npg_json_get_number(o, "sample_len", &sl);
            REQUIRE_OK(npg_whisper_generation_config_set_sample_len(cfg, (size_t)sl));
            npg_whisper_results *r = NULL;
            REQUIRE_OK(npg_whisper_pipeline_generate(p, samples, n, cfg, &r));
            const int32_t *ids = NULL;
            size_t n_ids = 0;
            REQUIRE_OK(npg_whisper_results_get_window_ids(r, 0, &ids, &n_ids, NULL));
            int32_t want[512];
            size_t n_want = read_ids(cJSON_GetObjectItemCaseSensitive(g, "result_tokens"), want, 512);
            size_t d = first_diff(ids, n_ids, want, n_want);
            if (d != (size_t)-1)
                fprintf(stderr, "  %s %s %s: first differing id at %zu (%d, golden %d)\n", model, CLIPS[c], MODES[m], d,
                        d < n_ids ? (int)ids[d] : -1, d < n_want ? (int)want[d] : -1);
            count(d == (size_t)-1);
            /* the segments of the timestamp mode: start, end, tokens */
            const cJSON *segs = cJSON_GetObjectItemCaseSensitive(g, "segments");
            if (ts && segs && d == (size_t)-1) {
                size_t i = 0;
                bool ok = true;
                for (const cJSON *s = segs->child; s; s = s->next, i++) {
                    npg_whisper_chunk ch;
                    if (npg_whisper_results_get_chunk(r, i, &ch) != NPG_OK) {
                        ok = false;
                        break;
                    }
                    int32_t st[512];
                    size_t n_st = read_ids(cJSON_GetObjectItemCaseSensitive(s, "tokens"), st, 512);
                    double a = 0, b = 0;
                    npg_json_get_number(s, "start", &a);
                    npg_json_get_number(s, "end", &b);
                    ok = ok && fabs(ch.start - a) < 1e-9 && fabs(ch.end - b) < 1e-9 &&
                         first_diff(ch.tokens, ch.n_tokens, st, n_st) == (size_t)-1;
                }
                count(ok);
            }
            npg_whisper_results_free(r);
            npg_whisper_generation_config_free(cfg);
            cJSON_Delete(g);
        }
        /* language detection over the first 30 s */
        char rel[256];
        snprintf(rel, sizeof rel, "goldens/whisper-decoding/%s/%s__langid.json", model, CLIPS[c]);
        cJSON *g = load_json(rel);
        npg_whisper_generation_config *cfg = NULL;
        REQUIRE_OK(npg_whisper_generation_config_create(&cfg));
        REQUIRE_OK(npg_whisper_generation_config_set_sample_len(cfg, 1));
        npg_whisper_results *r = NULL;
        REQUIRE_OK(npg_whisper_pipeline_generate(p, samples, n, cfg, &r));
        const char *lang = NULL;
        REQUIRE_OK(npg_whisper_results_get_language(r, &lang));
        const char *want = g ? npg_json_get_string(g, "argmax_language") : NULL;
        count(want && strcmp(lang, want) == 0);
        npg_whisper_results_free(r);
        npg_whisper_generation_config_free(cfg);
        cJSON_Delete(g);
        npg_audio_free(samples);
    }
}

static void check_longform(npg_whisper_pipeline *p, const char *model, int cond) {
    char rel[256];
    snprintf(rel, sizeof rel, "goldens/whisper-decoding/%s/librivox_concat_49s__transcribe_longform_cond%d.json", model,
             cond);
    cJSON *g = load_json(rel);
    REQUIRE(g);
    npg_whisper_generation_config *cfg = NULL;
    REQUIRE_OK(npg_whisper_generation_config_create(&cfg));
    REQUIRE_OK(npg_whisper_generation_config_set_language(cfg, "en"));
    REQUIRE_OK(npg_whisper_generation_config_set_return_timestamps(cfg, true));
    REQUIRE_OK(npg_whisper_generation_config_set_condition_on_previous_text(cfg, cond != 0));
    npg_whisper_results *r = NULL;
    REQUIRE_OK(npg_whisper_pipeline_generate_file(p, shared_path("audio/librivox_concat_49s.wav"), cfg, &r));
    /* every window: seek, prompt, ids */
    const cJSON *wins = cJSON_GetObjectItemCaseSensitive(g, "windows");
    bool ok = r->tr.n_windows == (size_t)cJSON_GetArraySize(wins);
    size_t i = 0;
    for (const cJSON *w = wins->child; ok && w; w = w->next, i++) {
        snprintf(rel, sizeof rel, "goldens/whisper-decoding/%s/%s", model, npg_json_get_string(w, "json"));
        cJSON *wj = load_json(rel);
        REQUIRE(wj);
        int32_t prompt[512], gen[512];
        size_t n_prompt = read_ids(cJSON_GetObjectItemCaseSensitive(wj, "prompt_ids"), prompt, 512);
        size_t n_gen = read_ids(cJSON_GetObjectItemCaseSensitive(wj, "result_tokens"), gen, 512);
        double seek = 0;
        npg_json_get_number(w, "seek", &seek);
        const npg_whisper_window_log *lw = &r->tr.windows[i];
        ok = lw->seek == (size_t)seek && first_diff(lw->w.initial, lw->w.n_initial, prompt, n_prompt) == (size_t)-1 &&
             first_diff(lw->w.tokens, lw->w.n_tokens, gen, n_gen) == (size_t)-1;
        if (!ok)
            fprintf(stderr, "  %s long-form cond%d window %zu differs (seek %zu, golden %g)\n", model, cond, i, lw->seek,
                    seek);
        cJSON_Delete(wj);
    }
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(g, "segments");
    ok = ok && r->tr.n_segments == (size_t)cJSON_GetArraySize(segs);
    i = 0;
    for (const cJSON *s = segs->child; ok && s; s = s->next, i++) {
        int32_t st[512];
        size_t n_st = read_ids(cJSON_GetObjectItemCaseSensitive(s, "tokens"), st, 512);
        double seek = 0, a = 0, b = 0;
        npg_json_get_number(s, "seek", &seek);
        npg_json_get_number(s, "start", &a);
        npg_json_get_number(s, "end", &b);
        const npg_whisper_segment *seg = &r->tr.segments[i];
        ok = seg->seek == (size_t)seek && seg->start == a && seg->end == b &&
             first_diff(seg->tokens, seg->n_tokens, st, n_st) == (size_t)-1;
    }
    count(ok);
    npg_whisper_results_free(r);
    npg_whisper_generation_config_free(cfg);
    cJSON_Delete(g);
}

void whisper_golden_check(const char *model) {
    char dir[128];
    snprintf(dir, sizeof dir, "models/%s", model);
    npg_whisper_pipeline *p = NULL;
    REQUIRE_OK(npg_whisper_pipeline_create(shared_path(dir), "CPU", 2, &p, "NUM_THREADS", "2"));
    n_pass = n_fail = 0;
    check_clips(p, model);
    check_longform(p, model, 0);
    check_longform(p, model, 1);
    fprintf(stderr, "  %s: %zu golden checks pass, %zu fail\n", model, n_pass, n_fail);
    CHECK(n_pass == 27 + 6 && n_fail == 0); /* 19 id files + 6 segment lists + 6 languages + 2 long-form */
    npg_whisper_pipeline_free(p);
}

