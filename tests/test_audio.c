/* test_audio.c — audio decoding and conversion: WAV (PCM 8/16/24/32-bit, float) and FLAC files made
 * here with libsndfile in a temporary folder, scaled exactly as libsndfile/whisper scale them (int16 s
 * is s / 32768 to the bit), stereo mixed to the mean, other rates resampled to 16 kHz, the raw-float
 * entry point, and bad audio refused with one error naming the file and the problem. */
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *tmpdir;

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmpdir, name);
    return buf[slot];
}

/* Writes n frames of `channels` channels through one of libsndfile's sf_writef_* calls. */
static bool write_audio(const char *path, int format, int rate, int channels, const void *frames, size_t n,
                        char kind) {
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
        return false;
    }
    sf_count_t w = kind == 's'   ? sf_writef_short(sf, frames, (sf_count_t)n)
                   : kind == 'i' ? sf_writef_int(sf, frames, (sf_count_t)n)
                                 : sf_writef_float(sf, frames, (sf_count_t)n);
    sf_close(sf);
    return w == (sf_count_t)n;
}

static int16_t s16_at(size_t i) { return (int16_t)(((int)(i * 7919u % 65536u)) - 32768); }

static void test_pcm16_exact(void) {
    enum { N = 4000 };
    int16_t *s = malloc(N * sizeof *s);
    REQUIRE(s);
    for (size_t i = 0; i < N; i++)
        s[i] = s16_at(i);
    s[0] = -32768;
    s[1] = 32767;
    const char *wav = tmp_path("pcm16.wav"), *flac = tmp_path("pcm16.flac");
    REQUIRE(write_audio(wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, s, N, 's'));
    REQUIRE(write_audio(flac, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, s, N, 's'));
    const char *paths[] = {wav, flac};
    for (int p = 0; p < 2; p++) {
        float *x = NULL;
        size_t n = 0;
        npg_audio_info info;
        REQUIRE_OK(npg_audio_load(paths[p], 16000, &x, &n, &info));
        CHECK(n == N && info.sample_rate == 16000 && info.channels == 1 && info.frames == N);
        CHECK(strstr(info.format, "PCM 16-bit") != NULL);
        size_t bad = 0;
        for (size_t i = 0; i < N && n == N; i++)
            bad += x[i] != (float)s[i] / 32768.0f;
        CHECK(bad == 0);
        npg_audio_free(x);
    }
    free(s);
}

/* 8-bit (unsigned in WAV), 24-bit and 32-bit PCM: libsndfile's scaling, exactly. */
static void test_pcm_8_24_32(void) {
    enum { N = 1000 };
    int32_t *v = malloc(N * sizeof *v);
    REQUIRE(v);
    for (size_t i = 0; i < N; i++)
        v[i] = (int32_t)((uint32_t)(i * 2654435761u)); /* spread over the whole int32 range */
    v[0] = INT32_MIN;
    static const struct {
        int sub, bits;
        const char *name;
    } cases[] = {{SF_FORMAT_PCM_U8, 8, "pcm8.wav"}, {SF_FORMAT_PCM_24, 24, "pcm24.wav"}, {SF_FORMAT_PCM_32, 32, "pcm32.wav"}};
    for (size_t c = 0; c < 3; c++) {
        const char *path = tmp_path(cases[c].name);
        REQUIRE(write_audio(path, SF_FORMAT_WAV | cases[c].sub, 16000, 1, v, N, 'i'));
        float *x = NULL;
        size_t n = 0;
        npg_audio_info info;
        REQUIRE_OK(npg_audio_load(path, 16000, &x, &n, &info));
        CHECK(n == N);
        int shift = 32 - cases[c].bits;
        size_t bad = 0;
        for (size_t i = 0; i < N && n == N; i++) {
            /* the file holds the top `bits` bits; the sample is that integer / 2^(bits-1) */
            int32_t q = v[i] >> shift;
            float want = (float)q * (1.0f / (float)(1u << (cases[c].bits - 1)));
            if (cases[c].bits == 32)
                want = (float)q * (1.0f / 2147483648.0f);
            bad += x[i] != want;
        }
        if (bad)
            fprintf(stderr, "%s: %zu samples differ\n", cases[c].name, bad);
        CHECK(bad == 0);
        npg_audio_free(x);
    }
    free(v);
}

static void test_float_and_stereo(void) {
    enum { N = 3000 };
    float *f = malloc(2 * N * sizeof *f);
    int16_t *s = malloc(2 * N * sizeof *s);
    REQUIRE(f && s);
    for (size_t i = 0; i < 2 * N; i++) {
        f[i] = 0.9f * sinf(0.001f * (float)(i * i % 100003));
        s[i] = s16_at(i * 3 + 1);
    }
    const char *fw = tmp_path("float.wav"), *st = tmp_path("stereo.wav");
    REQUIRE(write_audio(fw, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, f, N, 'f'));
    REQUIRE(write_audio(st, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, s, N, 's'));
    float *x = NULL;
    size_t n = 0;
    REQUIRE_OK(npg_audio_load(fw, 16000, &x, &n, NULL));
    CHECK(n == N && memcmp(x, f, N * sizeof *f) == 0);
    npg_audio_free(x);
    npg_audio_info info;
    REQUIRE_OK(npg_audio_load(st, 16000, &x, &n, &info));
    CHECK(n == N && info.channels == 2);
    size_t bad = 0;
    for (size_t i = 0; i < N && n == N; i++)
        bad += x[i] != ((float)s[2 * i] / 32768.0f + (float)s[2 * i + 1] / 32768.0f) * 0.5f;
    CHECK(bad == 0);
    /* the raw-float entry point gives the same mono mix */
    float *fs = malloc(2 * N * sizeof *fs), *y = NULL;
    REQUIRE(fs);
    for (size_t i = 0; i < 2 * N; i++)
        fs[i] = (float)s[i] / 32768.0f;
    size_t ny = 0;
    REQUIRE_OK(npg_audio_from_float(fs, N, 2, 16000, 16000, &y, &ny));
    CHECK(ny == n && memcmp(x, y, n * sizeof *x) == 0);
    npg_audio_free(y);
    /* mono at the target rate comes back unchanged; target 0 keeps the rate */
    REQUIRE_OK(npg_audio_from_float(f, N, 1, 16000, 0, &y, &ny));
    CHECK(ny == N && memcmp(y, f, N * sizeof *f) == 0);
    npg_audio_free(y);
    npg_audio_free(x);
    free(fs);
    free(f);
    free(s);
}

/* A 440 Hz tone at 44.1 kHz (24-bit FLAC, stereo) and at 8 kHz comes out at 16 kHz as the same tone:
 * round(frames * 16000 / rate) samples within 1e-5 of the ideal 16 kHz sine (the filter's pass band
 * and edges aside). */
static void test_resample_tone(void) {
    static const int rates[] = {44100, 8000, 48000};
    for (size_t r = 0; r < 3; r++) {
        int rate = rates[r];
        size_t frames = (size_t)rate * 2 + 37;
        int32_t *v = malloc(frames * 2 * sizeof *v);
        REQUIRE(v);
        for (size_t i = 0; i < frames; i++) {
            double y = 0.5 * sin(2.0 * M_PI * 440.0 * (double)i / rate);
            v[2 * i] = v[2 * i + 1] = (int32_t)lrint(y * 2147483647.0) & ~0xff;
        }
        char name[64];
        snprintf(name, sizeof name, "tone_%d.flac", rate);
        const char *path = tmp_path(name);
        REQUIRE(write_audio(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, rate, 2, v, frames, 'i'));
        float *x = NULL;
        size_t n = 0;
        REQUIRE_OK(npg_audio_load(path, 16000, &x, &n, NULL));
        size_t want = (frames * 16000 + (size_t)rate / 2) / (size_t)rate;
        CHECK(n == want);
        double worst = 0.0;
        for (size_t i = 800; i + 800 < n; i++) {
            double d = fabs((double)x[i] - 0.5 * sin(2.0 * M_PI * 440.0 * (double)i / 16000.0));
            worst = d > worst ? d : worst;
        }
        fprintf(stderr, "440 Hz tone %d Hz -> 16 kHz: max |diff| %g\n", rate, worst);
        CHECK(worst < 1e-5);
        npg_audio_free(x);
        free(v);
    }
}

/* The shared jfk.flac (44.1 kHz stereo 24-bit) resampled is the same speech as jfk.wav (16 kHz s16). */
static void test_jfk_flac_vs_wav(void) {
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    npg_audio_info ia, ib;
    REQUIRE_OK(npg_audio_load(shared_path("audio/jfk.flac"), 16000, &a, &na, &ia));
    REQUIRE_OK(npg_audio_load(shared_path("audio/jfk.wav"), 16000, &b, &nb, &ib));
    CHECK(ia.sample_rate == 44100 && ia.channels == 2 && strstr(ia.format, "FLAC") != NULL);
    CHECK(ib.sample_rate == 16000 && ib.channels == 1 && strstr(ib.format, "WAV") != NULL);
    fprintf(stderr, "jfk.flac -> %zu samples, jfk.wav %zu samples\n", na, nb);
    CHECK(na == nb);
    size_t n = na < nb ? na : nb;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (double)(a[i] - b[i]) * (double)(a[i] - b[i]);
        den += (double)b[i] * (double)b[i];
    }
    fprintf(stderr, "jfk flac vs wav: relative RMS difference %g\n", sqrt(num / den));
    CHECK(den > 0 && sqrt(num / den) < 0.05);
    npg_audio_free(a);
    npg_audio_free(b);
}

/* One error, naming the file and the problem, for each kind of bad audio. */
static void expect_error(const char *path, npg_status want, const char *needle) {
    float *x = NULL;
    size_t n = 0;
    npg_status st = npg_audio_load(path, 16000, &x, &n, NULL);
    const char *msg = npg_last_error();
    if (st != want || !strstr(msg, path) || (needle && !strstr(msg, needle)))
        fprintf(stderr, "%s: got %s \"%s\", wanted %s with \"%s\"\n", path, npg_status_name(st), msg,
                npg_status_name(want), needle ? needle : "");
    CHECK(st == want);
    CHECK(strstr(msg, path) != NULL);
    CHECK(!needle || strstr(msg, needle) != NULL);
    fprintf(stderr, "  %s\n", msg);
    if (st == NPG_OK)
        npg_audio_free(x);
}

static void put_u32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_bad_audio(void) {
    int16_t s[64] = {0};
    for (int i = 0; i < 64; i++)
        s[i] = (int16_t)(i * 100);
    const char *good = tmp_path("good.wav");
    REQUIRE(write_audio(good, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, s, 64, 's'));
    size_t len = 0;
    uint8_t *wav = (uint8_t *)read_all(good, &len);
    REQUIRE(wav && len == 44 + 128 && memcmp(wav + 36, "data", 4) == 0);

    const char *p = tmp_path("text.wav");
    write_file(p, "hello, this is not audio at all\n", 32);
    expect_error(p, NPG_ERR_FORMAT, "not a readable audio file");
    p = tmp_path("empty.wav");
    write_file(p, "", 0);
    expect_error(p, NPG_ERR_FORMAT, "empty");
    p = tmp_path("truncated.wav");
    write_file(p, wav, 20);
    expect_error(p, NPG_ERR_FORMAT, NULL);
    p = tmp_path("nosamples.wav");
    REQUIRE(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, s, 0, 's'));
    expect_error(p, NPG_ERR_FORMAT, "no audio samples");

    uint8_t *m = malloc(len);
    REQUIRE(m);
    /* sample rate field (byte 24) and byte rate (28) patched together */
    static const uint32_t rates[] = {100, 2000000};
    for (int i = 0; i < 2; i++) {
        memcpy(m, wav, len);
        put_u32le(m + 24, rates[i]);
        put_u32le(m + 28, rates[i] * 2);
        p = tmp_path(i ? "rate_huge.wav" : "rate_tiny.wav");
        write_file(p, m, len);
        expect_error(p, NPG_ERR_UNSUPPORTED, "sample rate");
    }
    /* 100 channels (byte 22), block align and byte rate to match */
    memcpy(m, wav, len);
    m[22] = 100;
    m[23] = 0;
    m[32] = 200;
    m[33] = 0;
    put_u32le(m + 28, 16000 * 200);
    p = tmp_path("channels.wav");
    write_file(p, m, len);
    {
        float *x = NULL;
        size_t n = 0;
        npg_status st = npg_audio_load(p, 16000, &x, &n, NULL);
        /* libsndfile or npugen refuses it; either way one error naming the file */
        CHECK(st == NPG_ERR_UNSUPPORTED || st == NPG_ERR_FORMAT);
        CHECK(strstr(npg_last_error(), p) != NULL);
    }
    /* a data chunk declaring 4 GB over 128 bytes: read as what is there, nothing huge allocated */
    memcpy(m, wav, len);
    put_u32le(m + 40, 0xfffffff0u);
    p = tmp_path("huge_data.wav");
    write_file(p, m, len);
    {
        float *x = NULL;
        size_t n = 0;
        npg_status st = npg_audio_load(p, 16000, &x, &n, NULL);
        CHECK(st == NPG_OK ? n == 64 : strstr(npg_last_error(), p) != NULL);
        if (st == NPG_OK)
            npg_audio_free(x);
    }
    free(m);
    free(wav);

    /* FLAC whose STREAMINFO declares 2^36 - 1 samples: refused before decoding */
    const char *fl = tmp_path("good.flac");
    REQUIRE(write_audio(fl, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, s, 64, 's'));
    uint8_t *flac = (uint8_t *)read_all(fl, &len);
    REQUIRE(flac && len > 26 && memcmp(flac, "fLaC", 4) == 0);
    flac[21] |= 0x0f; /* bytes 21..25: the low 36 bits of the 64-bit field at byte 18 */
    memset(flac + 22, 0xff, 4);
    p = tmp_path("huge_declared.flac");
    write_file(p, flac, len);
    expect_error(p, NPG_ERR_LIMIT, "limit");
    free(flac);

    /* a NaN in a float WAV */
    float f[8] = {0.1f, 0.2f, NAN, 0.3f, 0, 0, 0, 0};
    p = tmp_path("nan.wav");
    REQUIRE(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, f, 8, 'f'));
    expect_error(p, NPG_ERR_FORMAT, "not a finite number");

    float *x = NULL;
    size_t n = 0;
    CHECK(npg_audio_load(tmp_path("missing.wav"), 16000, &x, &n, NULL) != NPG_OK);
    CHECK(strstr(npg_last_error(), "missing.wav") != NULL);
    CHECK(npg_audio_load(good, 5, &x, &n, NULL) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_audio_load(NULL, 16000, &x, &n, NULL) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_audio_from_float(f, 0, 1, 16000, 16000, &x, &n) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_audio_from_float(f, 8, 0, 16000, 16000, &x, &n) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_audio_from_float(f, 8, 1, 10, 16000, &x, &n) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_audio_from_float(f, 8, 1, 16000, 16000, &x, &n) == NPG_ERR_FORMAT); /* the NaN */
    CHECK(npg_audio_from_float(f, 1, 1, 48000, 16000, &x, &n) == NPG_ERR_INVALID_ARGUMENT); /* rounds to 0 */
    CHECK(strstr(npg_last_error(), "no samples") != NULL);
    CHECK(npg_audio_load_memory("RIFF", 4, "mem.wav", 16000, &x, &n, NULL) == NPG_ERR_FORMAT);
    CHECK(strstr(npg_last_error(), "mem.wav") != NULL);
}

int main(void) {
    tmpdir = make_temp_dir();
    if (!tmpdir)
        return 1;
    RUN(test_pcm16_exact);
    RUN(test_pcm_8_24_32);
    RUN(test_float_and_stereo);
    RUN(test_resample_tone);
    RUN(test_jfk_flac_vs_wav);
    RUN(test_bad_audio);
    rm_rf(tmpdir);
    free(tmpdir);
    return npg_test_summary();
}
