/* test_audio_mel.c — the Whisper log-mel front end: the Slaney filterbank against openai-whisper's
 * mel_filters.npz (80 and 128 bins) and the golden's mel_filters_80x201.f32, the log-mel of
 * ../shared/audio/espeak_3s.wav against ../shared/goldens/random-whisper/ (whisper's
 * log_mel_spectrogram(pad_or_trim(audio))) within 1e-4, the FFT against a direct DFT at several lengths, and the
 * frame counts and padding rules of transcribe.py's whole-audio mel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "testutil.h"

/* A .npy file's float32 C-order data after checking its header names '<f4' and the shape. */
static float *read_npy_f32(const char *path, size_t rows, size_t cols) {
    size_t len = 0;
    char *d = read_all(path, &len);
    if (!d || len < 10 || memcmp(d, "\x93NUMPY", 6) != 0) {
        free(d);
        return NULL;
    }
    size_t hlen = (size_t)(uint8_t)d[8] | (size_t)(uint8_t)d[9] << 8, off = 10 + hlen;
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
    char *hdr = strndup(d + 10, hlen);
    bool ok = hdr && strstr(hdr, "'<f4'") && strstr(hdr, "'fortran_order': False") && strstr(hdr, shape) &&
              len == off + rows * cols * 4;
    free(hdr);
    float *out = ok ? malloc(rows * cols * 4) : NULL;
    if (out)
        memcpy(out, d + off, rows * cols * 4);
    free(d);
    return out;
}

static size_t count_diff(const float *a, const float *b, size_t n, float *maxdiff) {
    size_t diff = 0;
    *maxdiff = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) /* value equality: librosa's -0.0 and our 0.0 are the same weight */
            diff++;
        float d = fabsf(a[i] - b[i]);
        *maxdiff = d > *maxdiff ? d : *maxdiff;
    }
    return diff;
}

static void test_filters_golden_80(void) {
    npg_mel_config cfg;
    npg_mel_config_default(&cfg, 80);
    float *w = NULL;
    REQUIRE_OK(npg_mel_filters(&cfg, &w));
    size_t n = 0;
    float *ref = read_f32(shared_path("goldens/random-whisper/mel_filters_80x201.f32"), &n);
    REQUIRE(ref && n == 80 * 201);
    float md = 0;
    size_t diff = count_diff(w, ref, n, &md);
    fprintf(stderr, "mel filters 80: %zu values differ, max |diff| %g\n", diff, (double)md);
    CHECK(diff == 0);
    free(ref);
    npg_free(w);
}

/* The npz is a zip of .npy files: python3's zipfile unpacks it into a temp folder (read-only use). */
static void test_filters_npz_80_128(void) {
    char *tmp = make_temp_dir();
    REQUIRE(tmp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' %s %s",
             NPG_PYTHON3, shared_path("whisper-assets/mel_filters.npz"), tmp);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    static const uint32_t mels[] = {80, 128};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/mel_%u.npy", tmp, mels[i]);
        float *ref = read_npy_f32(path, mels[i], 201);
        CHECK(ref != NULL);
        npg_mel_config cfg;
        npg_mel_config_default(&cfg, mels[i]);
        float *w = NULL;
        CHECK(npg_mel_filters(&cfg, &w) == NPG_OK);
        if (ref && w) {
            float md = 0;
            size_t diff = count_diff(w, ref, (size_t)mels[i] * 201, &md);
            fprintf(stderr, "mel filters %u (npz): %zu values differ, max |diff| %g\n", mels[i], diff,
                    (double)md);
            CHECK(diff == 0);
        }
        free(ref);
        npg_free(w);
    }
    rm_rf(tmp);
    free(tmp);
}

static void test_logmel_golden(void) {
    float *x = NULL;
    size_t n = 0;
    npg_audio_info info;
    REQUIRE_OK(npg_audio_load(shared_path("audio/espeak_3s.wav"), 16000, &x, &n, &info));
    CHECK(n == 48000 && info.sample_rate == 16000 && info.channels == 1);
    npg_mel_config cfg;
    REQUIRE_OK(npg_mel_config_load(shared_path("models/random-whisper"), &cfg));
    CHECK(cfg.n_mels == 80 && cfg.n_fft == 400 && cfg.hop_length == 160 && cfg.nb_max_frames == 3000);
    float *mel = NULL;
    REQUIRE_OK(npg_log_mel_window(&cfg, x, n, &mel));
    size_t nref = 0;
    float *ref = read_f32(shared_path("goldens/random-whisper/espeak_3s_logmel_80x3000.f32"), &nref);
    REQUIRE(ref && nref == 80 * 3000);
    float md = max_abs_diff(mel, ref, nref);
    fprintf(stderr, "log-mel vs golden: max |diff| %g\n", (double)md);
    CHECK(md <= 1e-4f);
    /* the same window through npg_log_mel with explicit padding to 30 s */
    float *mel2 = NULL;
    size_t frames = 0;
    REQUIRE_OK(npg_log_mel(&cfg, x, n, cfg.n_samples - n, &mel2, &frames));
    CHECK(frames == 3000 && memcmp(mel, mel2, nref * 4) == 0);
    npg_free(mel2);
    /* transcribe.py: the whole audio plus 30 s of zeros gives (n + 480000) / 160 frames; its first
     * 3000 frames equal the single window here (3 s of audio: the same maximum, the same floor) */
    REQUIRE_OK(npg_log_mel(&cfg, x, n, cfg.n_samples, &mel2, &frames));
    CHECK(frames == (n + 480000) / 160);
    float md2 = 0;
    for (size_t m = 0; m < 80; m++)
        for (size_t t = 0; t < 3000; t++) {
            float d = fabsf(mel2[m * frames + t] - mel[m * 3000 + t]);
            md2 = d > md2 ? d : md2;
        }
    CHECK(md2 == 0.0f);
    npg_free(mel2);
    npg_free(mel);
    free(ref);
    npg_audio_free(x);
}

/* pad_or_trim: a window of more than 30 s keeps the first 480000 samples. */
static void test_window_trims(void) {
    npg_mel_config cfg;
    npg_mel_config_default(&cfg, 128);
    size_t n = 500000;
    float *x = malloc(n * sizeof *x);
    REQUIRE(x);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * sinf(0.01f * (float)i) + 0.05f * sinf(0.37f * (float)(i % 977));
    float *a = NULL, *b = NULL;
    size_t frames = 0;
    REQUIRE_OK(npg_log_mel_window(&cfg, x, n, &a));
    REQUIRE_OK(npg_log_mel(&cfg, x, cfg.n_samples, 0, &b, &frames));
    CHECK(frames == 3000 && memcmp(a, b, 128 * 3000 * 4) == 0);
    npg_free(a);
    npg_free(b);
    free(x);
}

/* The FFT's power spectrum against a direct DFT in long double, for lengths of every factor kind. */
static void test_fft_lengths(void) {
    static const size_t lens[] = {2, 3, 8, 12, 25, 30, 49, 98, 200, 256, 400, 512, 1000, 1002, 1024, 997};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        npg_rfft *f = NULL;
        REQUIRE_OK(npg_rfft_create(n, &f));
        double *x = malloc(n * sizeof *x), *p = malloc((n / 2 + 1) * sizeof *p);
        double *work = malloc(npg_rfft_work_len(f) * sizeof *work);
        REQUIRE(x && p && work);
        for (size_t i = 0; i < n; i++)
            x[i] = sin(0.1 * (double)i * (double)(i % 7)) + 0.25 * cos(1.3 * (double)i);
        npg_rfft_power(f, x, p, work);
        double worst = 0.0, scale = 0.0;
        for (size_t k = 0; k <= n / 2; k++) {
            long double re = 0, im = 0;
            for (size_t j = 0; j < n; j++) {
                long double a = -2.0L * 3.14159265358979323846264338327950288L * (long double)((j * k) % n) / (long double)n;
                re += (long double)x[j] * cosl(a);
                im += (long double)x[j] * sinl(a);
            }
            double ref = (double)(re * re + im * im);
            double d = fabs(ref - p[k]);
            worst = d > worst ? d : worst;
            scale = ref > scale ? ref : scale;
        }
        if (!(worst <= 1e-10 * (scale + 1.0)))
            fprintf(stderr, "fft n=%zu: max |diff| %g (scale %g)\n", n, worst, scale);
        CHECK(worst <= 1e-10 * (scale + 1.0));
        free(x);
        free(p);
        free(work);
        npg_rfft_free(f);
    }
}

static void test_mel_bad_input(void) {
    npg_mel_config cfg;
    npg_mel_config_default(&cfg, 80);
    float x[300] = {0};
    float *mel = NULL;
    size_t frames = 0;
    /* fewer samples than the reflect padding needs */
    CHECK(npg_log_mel(&cfg, x, 150, 0, &mel, &frames) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(strstr(npg_last_error(), "too few") != NULL);
    /* exactly one frame: 201..319 samples give (L + 400 - 400) / 160 = 1 */
    CHECK(npg_log_mel(&cfg, x, 300, 0, &mel, &frames) == NPG_OK && frames == 1);
    npg_free(mel);
    npg_mel_config bad = cfg;
    bad.nb_max_frames = 2999;
    CHECK(npg_log_mel(&bad, x, 300, 0, &mel, &frames) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "nb_max_frames") != NULL);
    bad = cfg;
    bad.n_mels = 0;
    CHECK(npg_log_mel_window(&bad, x, 300, &mel) == NPG_ERR_FORMAT);
    CHECK(npg_log_mel(NULL, x, 300, 0, &mel, &frames) == NPG_ERR_INVALID_ARGUMENT);
}

static void test_config_files(void) {
    char *tmp = make_temp_dir();
    REQUIRE(tmp);
    char path[512];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", tmp);
    npg_mel_config cfg;
    /* large-v3 style: 128 bins, the rest derived */
    const char *v3 = "{\"feature_size\": 128, \"sampling_rate\": 16000, \"hop_length\": 160, \"n_fft\": 400,"
                     " \"chunk_length\": 30}";
    write_file(path, v3, strlen(v3));
    CHECK(npg_mel_config_load(tmp, &cfg) == NPG_OK && cfg.n_mels == 128 && cfg.n_samples == 480000 &&
          cfg.nb_max_frames == 3000);
    const char *bad = "{\"feature_size\": 80, \"n_samples\": 480001}";
    write_file(path, bad, strlen(bad));
    CHECK(npg_mel_config_load(tmp, &cfg) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "n_samples") && strstr(npg_last_error(), "preprocessor_config.json"));
    const char *neg = "{\"hop_length\": -160}";
    write_file(path, neg, strlen(neg));
    CHECK(npg_mel_config_load(tmp, &cfg) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "hop_length") != NULL);
    const char *notjson = "{\"feature_size\": 80,";
    write_file(path, notjson, strlen(notjson));
    CHECK(npg_mel_config_load(tmp, &cfg) == NPG_ERR_FORMAT);
    rm_rf(tmp);
    free(tmp);
    CHECK(npg_mel_config_load("/nonexistent-npugen-dir", &cfg) != NPG_OK);
}

int main(void) {
    RUN(test_filters_golden_80);
    RUN(test_filters_npz_80_128);
    RUN(test_logmel_golden);
    RUN(test_window_trims);
    RUN(test_fft_lengths);
    RUN(test_mel_bad_input);
    RUN(test_config_files);
    return npg_test_summary();
}
