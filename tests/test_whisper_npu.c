/* test_whisper_npu.c — the Whisper pipeline on the NPU device (static shapes: encoder on 3000 frames,
 * decoder KV of 448): every clip golden of random-whisper-rescaled id for id, long-form with
 * conditioning, and — unlike OpenVINO's NPU Whisper — initial_prompt, hotwords, word timestamps and
 * temperature fallback, each equal to the CPU device's results. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "pipeline/whisper_pipeline.h"
#include "testutil.h"

#define MODEL "models/random-whisper-rescaled"
#define GOLD "goldens/whisper-decoding/random-whisper-rescaled/"

static npg_whisper_pipeline *open_pipe(const char *device) {
    npg_whisper_pipeline *p = NULL;
    if (npg_whisper_pipeline_create(shared_path(MODEL), device, 2, &p, "NUM_THREADS", "2") != NPG_OK) {
        fprintf(stderr, "  %s pipeline: %s\n", device, npg_last_error());
        return NULL;
    }
    return p;
}

static bool ids_equal(const int32_t *a, size_t na, const cJSON *arr) {
    size_t n = 0;
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next, n++)
        if (n >= na || a[n] != (int32_t)it->valuedouble)
            return false;
    return n == na;
}

static void test_npu_clip_goldens(void) {
    static const char *const clips[] = {"espeak_3s", "librivox_0870", "librivox_0880", "librivox_0890", "librivox_0920",
                                        "librivox_0930"};
    static const char *const modes[] = {"transcribe_notimestamps", "transcribe_timestamps", "translate_notimestamps",
                                        "translate_fr_notimestamps"};
    npg_whisper_pipeline *p = open_pipe("NPU");
    REQUIRE(p);
    size_t pass = 0, files = 0;
    for (size_t c = 0; c < 6; c++) {
        char wav[256];
        if (c == 0)
            snprintf(wav, sizeof wav, "audio/espeak_3s.wav");
        else
            snprintf(wav, sizeof wav, "audio/librivox/sense_and_sensibility_01_austen_64kb-%s.wav", clips[c] + 9);
        for (size_t m = 0; m < 4; m++) {
            char rel[256];
            snprintf(rel, sizeof rel, GOLD "%s__%s.json", clips[c], modes[m]);
            size_t len = 0;
            char *text = read_all(shared_path(rel), &len);
            if (!text)
                continue;
            files++;
            cJSON *g = NULL;
            npg_status st = npg_json_parse(text, len, rel, &g);
            free(text);
            REQUIRE(st == NPG_OK);
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(g, "options");
            npg_whisper_generation_config *cfg = NULL;
            REQUIRE_OK(npg_whisper_generation_config_create(&cfg));
            REQUIRE_OK(npg_whisper_generation_config_set_language(cfg, npg_json_get_string(o, "language")));
            REQUIRE_OK(npg_whisper_generation_config_set_task(cfg, npg_json_get_string(o, "task")));
            REQUIRE_OK(npg_whisper_generation_config_set_return_timestamps(
                cfg, !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "without_timestamps"))));
            npg_whisper_results *r = NULL;
            REQUIRE_OK(npg_whisper_pipeline_generate_file(p, shared_path(wav), cfg, &r));
            const int32_t *ids = NULL;
            size_t n = 0;
            REQUIRE_OK(npg_whisper_results_get_window_ids(r, 0, &ids, &n, NULL));
            bool ok = ids_equal(ids, n, cJSON_GetObjectItemCaseSensitive(g, "result_tokens"));
            if (!ok)
                fprintf(stderr, "  NPU %s %s differs from the golden\n", clips[c], modes[m]);
            pass += ok;
            npg_whisper_results_free(r);
            npg_whisper_generation_config_free(cfg);
            cJSON_Delete(g);
        }
    }
    CHECK(files == 19 && pass == files);
    npg_whisper_pipeline_free(p);
}

static void run_both(npg_whisper_pipeline *cpu, npg_whisper_pipeline *npu, const char *wav,
                     const npg_whisper_generation_config *cfg) {
    npg_whisper_results *a = NULL, *b = NULL;
    REQUIRE_OK(npg_whisper_pipeline_generate_file(cpu, shared_path(wav), cfg, &a));
    REQUIRE_OK(npg_whisper_pipeline_generate_file(npu, shared_path(wav), cfg, &b));
    char *ja = NULL, *jb = NULL;
    REQUIRE_OK(npg_whisper_results_format(a, "json", &ja));
    REQUIRE_OK(npg_whisper_results_format(b, "json", &jb));
    CHECK(strcmp(ja, jb) == 0); /* ids, segments, times, words, log-probabilities */
    CHECK(a->tr.n_windows == b->tr.n_windows);
    for (size_t i = 0; i < a->tr.n_windows && i < b->tr.n_windows; i++) {
        const npg_whisper_window *x = &a->tr.windows[i].w, *y = &b->tr.windows[i].w;
        CHECK(x->n_initial == y->n_initial && memcmp(x->initial, y->initial, x->n_initial * sizeof *x->initial) == 0);
        CHECK(x->n_tokens == y->n_tokens && memcmp(x->tokens, y->tokens, x->n_tokens * sizeof *x->tokens) == 0);
    }
    npg_free(ja);
    npg_free(jb);
    npg_whisper_results_free(a);
    npg_whisper_results_free(b);
}

static void test_npu_equals_cpu(void) {
    npg_whisper_pipeline *cpu = open_pipe("CPU"), *npu = open_pipe("NPU");
    REQUIRE(cpu && npu);
    npg_whisper_generation_config *cfg = NULL;
    REQUIRE_OK(npg_whisper_generation_config_create(&cfg));
    REQUIRE_OK(npg_whisper_generation_config_set_return_timestamps(cfg, true));
    /* long-form with an initial prompt and hotwords on every window (prompts of 200+ ids) */
    REQUIRE_OK(npg_whisper_generation_config_set_language(cfg, "en"));
    REQUIRE_OK(npg_whisper_generation_config_set_initial_prompt(cfg, "Sense and Sensibility, by Jane Austen."));
    REQUIRE_OK(npg_whisper_generation_config_set_hotwords(cfg, "Elinor Marianne Dashwood Norland"));
    run_both(cpu, npu, "audio/librivox_concat_49s.wav", cfg);
    /* language detection, word timestamps, temperature fallback */
    REQUIRE_OK(npg_whisper_generation_config_set_language(cfg, NULL));
    REQUIRE_OK(npg_whisper_generation_config_set_initial_prompt(cfg, NULL));
    REQUIRE_OK(npg_whisper_generation_config_set_hotwords(cfg, NULL));
    REQUIRE_OK(npg_whisper_generation_config_set_word_timestamps(cfg, true));
    REQUIRE_OK(npg_whisper_generation_config_set_temperature_fallback(cfg, true));
    run_both(cpu, npu, "audio/espeak_3s.wav", cfg);
    npg_whisper_generation_config_free(cfg);
    npg_whisper_pipeline_free(cpu);
    npg_whisper_pipeline_free(npu);
}

int main(void) {
    RUN(test_npu_clip_goldens);
    RUN(test_npu_equals_cpu);
    return npg_test_summary();
}
