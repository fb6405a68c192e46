/* resample.c — sample-rate conversion with libsoxr, streamed chunk by chunk so memory follows the
 * output, not the input.
 *
 * Recipe: soxr_quality_spec(SOXR_VHQ, 0) — 28-bit precision, linear phase, pass band flat to 91.3 %
 * of the lower Nyquist frequency, stop band from Nyquist (no aliasing) — in one thread. openai-whisper
 * resamples with ffmpeg's default swresample filter instead, so only input already at the target
 * rate (copied, bit-exact) equals whisper sample for sample; resampled audio differs by the filters'
 * small pass-band differences (docs/audio.md). */
#include "audio/audio.h"

#include <soxr.h>
#include <stdlib.h>

#include "core/error.h"

struct npg_resampler {
    soxr_t soxr; /* NULL for a pass-through (same rates) */
    uint32_t in_rate, out_rate;
    uint64_t n_in;
    size_t start_len; /* dst->len when the first sample came in */
    bool started;
    const char *what;
    float out[8192];
};

npg_status npg_resampler_create(uint32_t in_rate, uint32_t out_rate, const char *what, npg_resampler **out) {
    npg_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory for the resampler", what);
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    r->what = what;
    if (in_rate != out_rate) {
        soxr_error_t err = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
        soxr_runtime_spec_t rt = soxr_runtime_spec(1);
        r->soxr = soxr_create((double)in_rate, (double)out_rate, 1, &err, &io, &q, &rt);
        if (!r->soxr || err) {
            soxr_delete(r->soxr);
            free(r);
            return npg_fail(NPG_ERR_INTERNAL, "%s: libsoxr cannot resample %u Hz to %u Hz: %s", what, in_rate,
                            out_rate, err ? err : "soxr_create failed");
        }
    }
    *out = r;
    return NPG_OK;
}

void npg_resampler_free(npg_resampler *r) {
    if (!r)
        return;
    soxr_delete(r->soxr);
    free(r);
}

npg_status npg_resampler_push(npg_resampler *r, const float *x, size_t n, npg_audio_buf *dst) {
    if (!r->started) {
        r->started = true;
        r->start_len = dst->len;
    }
    r->n_in += n;
    if (!r->soxr)
        return npg_audio_buf_append(dst, x, n);
    size_t used = 0;
    /* soxr may stop early when the output block is full: go on until it has taken every sample */
    while (used < n) {
        size_t idone = 0, odone = 0;
        soxr_error_t err = soxr_process(r->soxr, x + used, n - used, &idone, r->out, sizeof r->out / sizeof r->out[0],
                                        &odone);
        if (err)
            return npg_fail(NPG_ERR_INTERNAL, "%s: libsoxr: %s", r->what, err);
        used += idone;
        NPG_TRY(npg_audio_buf_append(dst, r->out, odone));
        if (idone == 0 && odone == 0)
            return npg_fail(NPG_ERR_INTERNAL, "%s: libsoxr made no progress", r->what);
    }
    return NPG_OK;
}

npg_status npg_resampler_finish(npg_resampler *r, npg_audio_buf *dst) {
    if (!r->started)
        r->start_len = dst->len;
    if (!r->soxr)
        return NPG_OK;
    for (;;) { /* input NULL = end of input: soxr drains the filter's delay line */
        size_t odone = 0;
        soxr_error_t err = soxr_process(r->soxr, NULL, 0, NULL, r->out, sizeof r->out / sizeof r->out[0], &odone);
        if (err)
            return npg_fail(NPG_ERR_INTERNAL, "%s: libsoxr: %s", r->what, err);
        if (odone == 0)
            break;
        NPG_TRY(npg_audio_buf_append(dst, r->out, odone));
    }
    /* exactly round(n_in * out / in) samples, whatever soxr's flush rounding gave */
    uint64_t want = (r->n_in * r->out_rate + r->in_rate / 2) / r->in_rate;
    size_t have = dst->len - r->start_len;
    if (have > want) {
        dst->len = r->start_len + (size_t)want;
    } else {
        static const float zeros[64];
        while (have < want) {
            size_t k = want - have < 64 ? (size_t)(want - have) : 64;
            NPG_TRY(npg_audio_buf_append(dst, zeros, k));
            have += k;
        }
    }
    return NPG_OK;
}
