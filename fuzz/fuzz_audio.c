/* fuzz_audio.c — audio files from a stranger as npg_audio_load_memory reads them (libsndfile over
 * memory: WAV, FLAC and whatever else libsndfile recognises), mixed to mono and resampled to 16 kHz
 * or kept at their rate (the last byte picks), then the Whisper log-mel of the first second. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float *x = NULL;
    size_t n = 0;
    uint32_t target = size > 0 && (data[size - 1] & 1) ? 0 : 16000;
    npg_status st = npg_audio_load_memory(data, size, "fuzz.wav", target, &x, &n, NULL);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    if (!x || n == 0)
        abort();
    volatile float last = x[n - 1]; /* ASan: the loader promised n samples */
    (void)last;
    npg_mel_config cfg;
    npg_mel_config_default(&cfg, size > 0 && (data[0] & 1) ? 128 : 80);
    float *mel = NULL;
    size_t frames = 0;
    st = npg_log_mel(&cfg, x, n < 16000 ? n : 16000, 800, &mel, &frames);
    fuzz_check_status(st);
    if (st == NPG_OK) {
        volatile float v = mel[(size_t)cfg.n_mels * frames - 1];
        (void)v;
        npg_free(mel);
    }
    npg_audio_free(x);
    return 0;
}
