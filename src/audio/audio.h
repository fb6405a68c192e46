/* audio.h — speech audio for Whisper: decoding (libsndfile), mixing to mono, resampling (libsoxr),
 * the log-mel spectrogram of openai-whisper and its pieces (FFT, Slaney mel filterbank). The public
 * API is in include/npugen.h (npg_audio_*, npg_mel_*, npg_log_mel*); this header shares the helpers
 * between the files of src/audio/.
 *
 * Samples are float32 in [-1, 1] (a PCM int16 sample s becomes s / 32768 exactly), mono, at the
 * rate asked for. A mel spectrogram is [n_mels x n_frames] row-major (mel-major: row m holds the
 * frames of mel bin m), the layout of whisper's log_mel_spectrogram and of the goldens. */
#ifndef NPG_AUDIO_AUDIO_H
#define NPG_AUDIO_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

/* ---- growing mono sample buffer (decode.c, resample.c) ---- */
typedef struct npg_audio_buf {
    float *data;
    size_t len;
    size_t cap;
    size_t max_len; /* refuse to grow past this many samples (NPG_ERR_LIMIT naming `what`) */
    const char *what;
} npg_audio_buf;

npg_status npg_audio_buf_append(npg_audio_buf *b, const float *x, size_t n);

/* ---- resample.c: a streaming mono resampler (libsoxr, SOXR_VHQ, linear phase) ---- */
typedef struct npg_resampler npg_resampler;

/* in_rate == out_rate gives a pass-through that copies samples unchanged (bit-exact). */
npg_status npg_resampler_create(uint32_t in_rate, uint32_t out_rate, const char *what, npg_resampler **out);
/* Feeds n input samples; appends what the resampler produces to `dst`. */
npg_status npg_resampler_push(npg_resampler *r, const float *x, size_t n, npg_audio_buf *dst);
/* Flushes the filter's tail and trims/pads `dst` to round(n_in * out_rate / in_rate) samples. */
npg_status npg_resampler_finish(npg_resampler *r, npg_audio_buf *dst);
void npg_resampler_free(npg_resampler *r);

/* ---- checks shared by the file and raw-float paths (audio.c) ---- */
npg_status npg_audio_check_format(uint32_t rate, uint32_t channels, const char *what);
npg_status npg_audio_check_target(uint32_t target_rate, const char *fn);
/* Mixes n_frames interleaved frames of `channels` channels to mono (the mean, summed in double) into
 * dst[n_frames]; refuses a non-finite sample (`first_index` numbers the first frame in messages). */
npg_status npg_audio_mix_mono(const float *x, size_t n_frames, uint32_t channels, float *dst, const char *what,
                              uint64_t first_index);
/* The most samples a result may hold at `rate` (NPG_AUDIO_MAX_SECONDS of audio). */
size_t npg_audio_max_samples(uint32_t rate);

/* ---- decode.c: libsndfile over a buffer in memory ---- */
npg_status npg_audio_decode(const uint8_t *data, size_t size, const char *what, uint32_t target_rate,
                            float **samples, size_t *n_samples, npg_audio_info *info);

/* ---- fft.c: real FFT of any length n >= 2 (mixed radix: specialised 2, 3, 4, 5, generic odd) ---- */
typedef struct npg_rfft npg_rfft;

npg_status npg_rfft_create(size_t n, npg_rfft **out);
void npg_rfft_free(npg_rfft *f);
/* The power spectrum |X[k]|^2 for k = 0 .. n/2 of the real input x[n]. `work` holds
 * npg_rfft_work_len(f) doubles (one per concurrent caller; the plan itself is read-only). */
void npg_rfft_power(const npg_rfft *f, const double *x, double *power, double *work);
size_t npg_rfft_work_len(const npg_rfft *f);

/* ---- mel_config.c: refuses a configuration out of range or inconsistent (NPG_ERR_FORMAT naming `what`) */
npg_status npg_mel_config_check(const npg_mel_config *cfg, const char *what);

/* ---- mel_filters.c: sparse form of the filterbank used by log_mel.c ---- */
typedef struct npg_mel_bank {
    size_t n_mels;
    size_t n_bins;     /* n_fft / 2 + 1 */
    float *weights;    /* [n_mels x n_bins], dense (librosa's float32 values) */
    uint32_t *first;   /* [n_mels]: first bin with a nonzero weight */
    uint32_t *count;   /* [n_mels]: how many bins from `first` (zeros outside are skipped) */
} npg_mel_bank;

npg_status npg_mel_bank_create(const npg_mel_config *cfg, npg_mel_bank *out);
void npg_mel_bank_free(npg_mel_bank *b);

#endif
