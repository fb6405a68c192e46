/* test_whisper_model.c — Whisper's encoder and decoder against OpenAI whisper's numbers.
 *
 * Input: the golden log-mel of espeak_3s ([80, 3000], so this test does not depend on the audio front
 * end). The encoder output equals espeak_3s_encoder_out_1500x64.f32 and the decoder's logits after
 * every token of <|startoftranscript|><|en|><|transcribe|><|notimestamps|> + 4 greedy ids equal
 * espeak_3s_decoder_logits_8x51865.f32 — prefilled at once, fed one by one, and through the CPU
 * engine's encode hook; at every ISA. Also: two sequences sharing one window via copy_seq, a re-encode
 * replacing the window, the alignment pass leaving sequence 0 untouched (its weights equal a direct
 * softmax over the decoder's cross-attention of the alignment heads), the config accessors, and the
 * refusals (wrong frame count, decoding before any encode). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "device/engine.h"
#include "models/model.h"
#include "models/whisper.h"
#include "testutil.h"

enum { T = 1500, D = 64, V = 51865, N_IDS = 8, FRAMES = 3000 };
static const int32_t IDS[N_IDS] = {50258, 50259, 50359, 50363, 26300, 26300, 26300, 48500};

static float *load(const char *rel, size_t want) {
    size_t n = 0;
    float *p = read_f32(shared_path(rel), &n);
    if (p && n != want) {
        free(p);
        return NULL;
    }
    return p;
}

static void encoder_and_decoder_isa(npg_isa isa) {
    npg_model *m = NULL;
    REQUIRE_OK(npg_model_load(shared_path("models/random-whisper"), &m));
    float *mel = load("goldens/random-whisper/espeak_3s_logmel_80x3000.f32", 80 * FRAMES);
    float *enc_ref = load("goldens/random-whisper/espeak_3s_encoder_out_1500x64.f32", T * D);
    float *logits_ref = load("goldens/random-whisper/espeak_3s_decoder_logits_8x51865.f32", (size_t)N_IDS * V);
    float *enc = malloc(sizeof(float) * T * D);
    npg_threadpool *pool = NULL;
    npg_forward_state *s = NULL;
    REQUIRE(mel && enc_ref && logits_ref && enc);
    REQUIRE_OK(npg_threadpool_create(2, &pool));
    REQUIRE_OK(npg_forward_state_create(m, 16, 448, pool, isa, &s));
    REQUIRE_OK(npg_whisper_encode(m, s, mel, FRAMES, 0, enc));
    float de = max_abs_diff(enc, enc_ref, (size_t)T * D);
    fprintf(stderr, "  %s encoder max |diff| %.3g\n", npg_isa_name(isa), (double)de);
    CHECK(de < 1e-4f);
    /* all rows at once */
    REQUIRE_OK(npg_model_forward(m, s, IDS, N_IDS, 0, true));
    float dl = max_abs_diff(s->logits, logits_ref, (size_t)N_IDS * V);
    fprintf(stderr, "  %s decoder (prefill) max |diff| %.3g\n", npg_isa_name(isa), (double)dl);
    CHECK(dl < 1e-4f);
    for (int i = 4; i < N_IDS; i++)
        CHECK(test_argmax(s->logits + (int64_t)(i - 1) * V, V) == IDS[i]);
    /* one token at a time through the self-attention cache */
    float worst = 0.0f;
    for (int i = 0; i < N_IDS; i++) {
        REQUIRE_OK(npg_model_forward(m, s, &IDS[i], 1, i, false));
        float d1 = max_abs_diff(s->logits, logits_ref + (int64_t)i * V, V);
        worst = d1 > worst ? d1 : worst;
    }
    fprintf(stderr, "  %s decoder (step) max |diff| %.3g\n", npg_isa_name(isa), (double)worst);
    CHECK(worst < 1e-4f);
    npg_forward_state_free(s);
    npg_threadpool_free(pool);
    free(mel);
    free(enc_ref);
    free(logits_ref);
    free(enc);
    npg_model_free(m);
}

static void encoder_decoder_goldens(void) {
    npg_isa best = npg_isa_detect();
    for (int isa = NPG_ISA_SCALAR; isa <= (int)best; isa++)
        encoder_and_decoder_isa((npg_isa)isa);
}

static npg_status engine_for(const npg_model *m, npg_engine **e) {
    npg_properties *props = NULL;
    NPG_TRY(npg_properties_create(&props));
    npg_status st = npg_properties_set(props, "NUM_THREADS", "2");
    if (st == NPG_OK)
        st = npg_cpu_engine_create(m, props, e);
    npg_properties_free(props);
    return st;
}

/* The engine contract: encode, prefill, decode; two sequences on one window; the alignment pass. */
static void engine_encode_decode(void) {
    npg_model *m = NULL;
    npg_engine *e = NULL;
    REQUIRE_OK(npg_model_load(shared_path("models/random-whisper"), &m));
    REQUIRE_OK(engine_for(m, &e));
    float *mel = load("goldens/random-whisper/espeak_3s_logmel_80x3000.f32", 80 * FRAMES);
    float *ref = load("goldens/random-whisper/espeak_3s_decoder_logits_8x51865.f32", (size_t)N_IDS * V);
    REQUIRE(mel && ref && e->ops->encode && e->ops->align);
    float *logits = NULL;
    /* nothing encoded yet */
    CHECK(e->ops->prefill(e, IDS, 4, 0, &logits) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "encode") != NULL);
    CHECK(npg_engine_encode(e, mel, 2999, 0) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "3000") != NULL);
    REQUIRE_OK(npg_engine_encode(e, mel, FRAMES, 0));
    REQUIRE_OK(e->ops->prefill(e, IDS, 4, 0, &logits));
    CHECK(max_abs_diff(logits, ref + 3 * (int64_t)V, V) < 1e-4f);
    /* a second sequence continues the prompt on the same window */
    REQUIRE_OK(npg_engine_reserve_seqs(e, 2, 16));
    REQUIRE_OK(npg_engine_copy_seq(e, 0, 1, 4));
    int32_t pos[2] = {4, 4}, seq[2] = {0, 1}, ids[2] = {IDS[4], IDS[4]};
    uint8_t want[2] = {1, 1};
    npg_batch b = {.n = 2, .ids = ids, .pos = pos, .seq = seq, .want_logits = want};
    REQUIRE_OK(npg_engine_forward(e, &b, &logits));
    CHECK(max_abs_diff(logits, ref + 4 * (int64_t)V, V) < 1e-4f);
    CHECK(max_abs_diff(logits + V, ref + 4 * (int64_t)V, V) < 1e-4f);
    /* the alignment pass: default heads = every head of the last half of the decoder layers */
    npg_whisper_info info;
    REQUIRE_OK(npg_whisper_info_get(m, &info));
    CHECK(info.n_mels == 80 && info.n_frames == FRAMES && info.n_audio_ctx == T && info.n_text_ctx == 448 &&
          info.vocab == V && info.n_align == 2 && info.align[0][0] == 1 && info.align[1][1] == 1);
    float *w = malloc(sizeof(float) * (size_t)info.n_align * N_IDS * T);
    REQUIRE(w);
    REQUIRE_OK(npg_whisper_alignment_weights(e, IDS, N_IDS, w));
    bool rows_sum_to_one = true;
    for (int r = 0; r < info.n_align * N_IDS; r++) {
        double sum = 0;
        for (int j = 0; j < T; j++)
            sum += (double)w[(int64_t)r * T + j];
        rows_sum_to_one = rows_sum_to_one && fabs(sum - 1.0) < 1e-4;
    }
    CHECK(rows_sum_to_one);
    /* sequence 0's cache is untouched: decoding goes on with the golden logits */
    REQUIRE_OK(e->ops->decode(e, IDS[5], 5, &logits));
    float d5 = max_abs_diff(logits, ref + 5 * (int64_t)V, V);
    CHECK(d5 < 1e-4f); /* position 4 of sequence 0 was written by the batch above, with IDS[4] */
    /* the weights equal a second pass (deterministic) and differ between heads */
    float *w2 = malloc(sizeof(float) * (size_t)info.n_align * N_IDS * T);
    REQUIRE(w2);
    REQUIRE_OK(npg_whisper_alignment_weights(e, IDS, N_IDS, w2));
    CHECK(max_abs_diff(w, w2, (size_t)info.n_align * N_IDS * T) == 0.0f);
    CHECK(max_abs_diff(w, w + (int64_t)N_IDS * T, (size_t)N_IDS * T) > 0.0f);
    /* causal: the rows of a 5-token pass equal the first 5 rows of the 8-token one */
    REQUIRE_OK(npg_whisper_alignment_weights(e, IDS, 5, w2));
    for (int a = 0; a < info.n_align; a++)
        CHECK(max_abs_diff(w2 + (int64_t)a * 5 * T, w + (int64_t)a * N_IDS * T, (size_t)5 * T) < 1e-6f);
    /* a silent window (all mel = the floor value) replaces the cross K/V: other logits */
    float *silent = malloc(sizeof(float) * 80 * FRAMES);
    REQUIRE(silent);
    for (int i = 0; i < 80 * FRAMES; i++)
        silent[i] = -0.5f;
    REQUIRE_OK(npg_engine_encode(e, silent, FRAMES, 0));
    REQUIRE_OK(e->ops->prefill(e, IDS, 4, 0, &logits));
    CHECK(max_abs_diff(logits, ref + 3 * (int64_t)V, V) > 1e-3f);
    REQUIRE_OK(npg_engine_encode(e, mel, FRAMES, 0));
    REQUIRE_OK(e->ops->prefill(e, IDS, 4, 0, &logits));
    CHECK(max_abs_diff(logits, ref + 3 * (int64_t)V, V) < 1e-4f);
    free(silent);
    free(w);
    free(w2);
    free(mel);
    free(ref);
    e->ops->free(e);
    npg_model_free(m);
}

/* Alignment heads from generation_config.json when present; OpenAI's default otherwise. */
static void config_alignment_heads(void) {
    npg_model_config c;
    char *dir = make_temp_dir();
    REQUIRE(dir);
    size_t n = 0;
    char *cfg = read_all(shared_path("models/random-whisper/config.json"), &n);
    REQUIRE(cfg);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, cfg, n);
    REQUIRE_OK(npg_model_config_load(dir, &c));
    CHECK(c.arch == NPG_ARCH_WHISPER && c.hidden == 64 && c.n_layers == 2 && c.whisper.enc_layers == 2 &&
          c.whisper.n_mels == 80 && c.max_pos == 448 && c.whisper.n_align == 2);
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    const char *gen = "{\"alignment_heads\": [[1, 0], [0, 1], [1, 1]]}";
    write_file(path, gen, strlen(gen));
    REQUIRE_OK(npg_whisper_config_alignment(dir, &c));
    CHECK(c.whisper.n_align == 3 && c.whisper.align[1][0] == 0 && c.whisper.align[1][1] == 1);
    const char *bad = "{\"alignment_heads\": [[2, 0]]}";
    write_file(path, bad, strlen(bad));
    CHECK(npg_whisper_config_alignment(dir, &c) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "alignment_heads[0]") != NULL);
    free(cfg);
    rm_rf(dir);
    free(dir);
}

/* Greedy ids from the start sequence: prefill, then steps fed back (no suppression: the raw argmax). */
static npg_status greedy(npg_engine *e, const float *mel, int steps, int32_t *out, float *first_logits) {
    float *logits = NULL;
    NPG_TRY(npg_engine_encode(e, mel, FRAMES, 0));
    NPG_TRY(e->ops->prefill(e, IDS, 4, 0, &logits));
    memcpy(first_logits, logits, sizeof(float) * V);
    for (int i = 0; i < steps; i++) {
        out[i] = test_argmax(logits, V);
        if (i + 1 < steps)
            NPG_TRY(e->ops->decode(e, out[i], (size_t)(4 + i), &logits));
    }
    return NPG_OK;
}

/* The NPU device: static shapes (3000 frames, 448 positions, padded prefill chunks), token-identical to
 * the CPU engine; a prompt longer than the chunk works; one sequence. */
static void npu_matches_cpu(void) {
    enum { STEPS = 24 };
    const char *dir = shared_path("models/random-whisper-rescaled");
    npg_model *m = NULL;
    npg_engine *cpu = NULL, *npu = NULL, *npu2 = NULL;
    npg_properties *props = NULL;
    REQUIRE_OK(npg_model_load(dir, &m));
    REQUIRE_OK(engine_for(m, &cpu));
    REQUIRE_OK(npg_properties_create(&props));
    REQUIRE_OK(npg_properties_set(props, "NUM_THREADS", "2"));
    REQUIRE_OK(npg_npu_engine_create(m, dir, props, &npu));
    REQUIRE_OK(npg_properties_set(props, "NPUW_LLM_PREFILL_CHUNK_SIZE", "2"));
    REQUIRE_OK(npg_npu_engine_create(m, dir, props, &npu2));
    float *mel = load("goldens/random-whisper/espeak_3s_logmel_80x3000.f32", 80 * FRAMES);
    float *l_cpu = malloc(sizeof(float) * V), *l_npu = malloc(sizeof(float) * V), *l_npu2 = malloc(sizeof(float) * V);
    REQUIRE(mel && l_cpu && l_npu && l_npu2);
    CHECK(strcmp(npu->ops->device, "NPU") == 0 && npu->ops->context_limit(npu) == 448);
    int32_t a[STEPS], b[STEPS], c[STEPS];
    REQUIRE_OK(greedy(cpu, mel, STEPS, a, l_cpu));
    REQUIRE_OK(greedy(npu, mel, STEPS, b, l_npu));
    REQUIRE_OK(greedy(npu2, mel, STEPS, c, l_npu2));
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) == 0);
    CHECK(max_abs_diff(l_cpu, l_npu, V) < 1e-4f);
    CHECK(max_abs_diff(l_cpu, l_npu2, V) < 1e-4f);
    int distinct = 0;
    for (int i = 1; i < STEPS; i++)
        distinct += a[i] != a[i - 1];
    CHECK(distinct > 2); /* the rescaled model's output varies: the comparison means something */
    /* alignment weights equal the CPU's */
    npg_whisper_info info;
    REQUIRE_OK(npg_whisper_info_get(m, &info));
    size_t nw = (size_t)info.n_align * N_IDS * T;
    float *wa = malloc(sizeof(float) * nw), *wb = malloc(sizeof(float) * nw);
    REQUIRE(wa && wb);
    REQUIRE_OK(npg_whisper_alignment_weights(cpu, IDS, N_IDS, wa));
    REQUIRE_OK(npg_whisper_alignment_weights(npu, IDS, N_IDS, wb));
    CHECK(max_abs_diff(wa, wb, nw) < 1e-5f);
    /* one sequence; static context */
    CHECK(npg_engine_encode(npu, mel, FRAMES, 1) == NPG_ERR_UNSUPPORTED);
    CHECK(npg_engine_copy_seq(npu, 0, 1, 4) == NPG_ERR_UNSUPPORTED);
    CHECK(npu->ops->decode(npu, 1, 448, &(float *){NULL}) == NPG_ERR_LIMIT);
    REQUIRE_OK(npg_properties_set(props, "EXPORT_BLOB", "YES"));
    REQUIRE_OK(npg_properties_set(props, "BLOB_PATH", "/nonexistent/whisper.blob"));
    npg_engine *refused = NULL;
    CHECK(npg_npu_engine_create(m, dir, props, &refused) == NPG_ERR_UNSUPPORTED && !refused);
    free(wa);
    free(wb);
    free(mel);
    free(l_cpu);
    free(l_npu);
    free(l_npu2);
    npg_properties_free(props);
    cpu->ops->free(cpu);
    npu->ops->free(npu);
    npu2->ops->free(npu2);
    npg_model_free(m);
}

/* Logits [N_IDS, V] of the golden prompt for the model in dir (CPU, golden mel). */
static npg_status prompt_logits(const char *dir, const float *mel, float *out) {
    npg_model *m = NULL;
    NPG_TRY(npg_model_load(dir, &m));
    npg_forward_state *s = NULL;
    npg_status st = npg_forward_state_create(m, N_IDS, 448, NULL, npg_isa_detect(), &s);
    if (st == NPG_OK)
        st = npg_whisper_encode(m, s, mel, FRAMES, 0, NULL);
    if (st == NPG_OK)
        st = npg_model_forward(m, s, IDS, N_IDS, 0, true);
    if (st == NPG_OK)
        memcpy(out, s->logits, sizeof(float) * N_IDS * V);
    npg_forward_state_free(s);
    npg_model_free(m);
    return st;
}

static float rel_err(const float *a, const float *b, size_t n) {
    float d = 0.0f, m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        d = fmaxf(d, fabsf(a[i] - b[i]));
        m = fmaxf(m, fabsf(a[i]));
    }
    return d / m;
}

/* npugen export of a Whisper folder: fp16 (the source's own precision: equal), int8 per channel and
 * int4 sym load and run; the exported folder gives the source's greedy ids on the rescaled model. */
static void export_formats(void) {
    static const struct {
        const char *label;
        npg_export_format format;
        float bound; /* relative logits error */
        bool same_ids;
    } cases[] = {{"fp16", NPG_EXPORT_FP16, 1e-6f, true},
                 {"int8", NPG_EXPORT_INT8, 0.05f, true},
                 {"int4", NPG_EXPORT_INT4, 0.5f, false}};
    const char *src = shared_path("models/random-whisper-rescaled");
    float *mel = load("goldens/random-whisper/espeak_3s_logmel_80x3000.f32", 80 * FRAMES);
    float *ref = malloc(sizeof(float) * N_IDS * V), *got = malloc(sizeof(float) * N_IDS * V);
    char *tmp = make_temp_dir();
    REQUIRE(mel && ref && got && tmp);
    REQUIRE_OK(prompt_logits(src, mel, ref));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        npg_export_options o;
        npg_export_options_init(&o);
        o.format = cases[c].format;
        o.sym = true;
        char out[4096];
        snprintf(out, sizeof out, "%s/%s", tmp, cases[c].label);
        REQUIRE_OK(npg_export_model(src, out, &o));
        REQUIRE_OK(prompt_logits(out, mel, got));
        float r = rel_err(ref, got, (size_t)N_IDS * V);
        int same = 0;
        for (int i = 0; i < N_IDS; i++)
            same += test_argmax(ref + (int64_t)i * V, V) == test_argmax(got + (int64_t)i * V, V);
        fprintf(stderr, "  export %s: relative logits error %.3g, %d/%d argmax ids equal\n", cases[c].label, (double)r,
                same, N_IDS);
        CHECK(r <= cases[c].bound);
        if (cases[c].same_ids)
            CHECK(same == N_IDS);
    }
    rm_rf(tmp);
    free(tmp);
    free(mel);
    free(ref);
    free(got);
}

int main(void) {
    RUN(encoder_decoder_goldens);
    RUN(engine_encode_decode);
    RUN(config_alignment_heads);
    RUN(npu_matches_cpu);
    RUN(export_formats);
    return npg_test_summary();
}
