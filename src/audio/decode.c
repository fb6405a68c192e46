/* decode.c — audio files through libsndfile, read from memory (a virtual-I/O reader over the mapped
 * file), chunk by chunk: each chunk is mixed to mono and streamed into the resampler, so memory
 * follows the samples actually decoded (a header may declare any length). */
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "core/error.h"

typedef struct mem_reader {
    const uint8_t *data;
    sf_count_t size;
    sf_count_t pos;
} mem_reader;

static sf_count_t mem_len(void *user) { return ((mem_reader *)user)->size; }

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user) {
    mem_reader *m = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
    /* a seek outside the buffer is refused (libsndfile then reports a truncated file) */
    if ((offset < 0 && -offset > base) || (offset > 0 && offset > m->size - base))
        return -1;
    m->pos = base + offset;
    return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user) {
    mem_reader *m = user;
    if (count <= 0 || m->pos >= m->size)
        return 0;
    sf_count_t n = count < m->size - m->pos ? count : m->size - m->pos;
    memcpy(ptr, m->data + m->pos, (size_t)n);
    m->pos += n;
    return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user) { return 0; }

static sf_count_t mem_tell(void *user) { return ((mem_reader *)user)->pos; }

/* "WAV PCM 16-bit", "FLAC PCM 24-bit", ...: the container, then the sample encoding. */
static void format_name(int format, char *out, size_t cap) {
    const char *major = NULL, *sub = NULL;
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: case SF_FORMAT_WAVEX: case SF_FORMAT_RF64: major = "WAV"; break;
    case SF_FORMAT_FLAC: major = "FLAC"; break;
    case SF_FORMAT_AIFF: major = "AIFF"; break;
    case SF_FORMAT_OGG: major = "Ogg"; break;
    case SF_FORMAT_MPEG: major = "MPEG"; break;
    default: break;
    }
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: sub = "PCM 8-bit"; break;
    case SF_FORMAT_PCM_16: sub = "PCM 16-bit"; break;
    case SF_FORMAT_PCM_24: sub = "PCM 24-bit"; break;
    case SF_FORMAT_PCM_32: sub = "PCM 32-bit"; break;
    case SF_FORMAT_FLOAT: sub = "float 32-bit"; break;
    case SF_FORMAT_DOUBLE: sub = "float 64-bit"; break;
    default: break;
    }
    SF_FORMAT_INFO fi;
    if (!major) {
        fi = (SF_FORMAT_INFO){.format = format & SF_FORMAT_TYPEMASK};
        major = sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name ? fi.name : "audio";
    }
    SF_FORMAT_INFO si;
    if (!sub) {
        si = (SF_FORMAT_INFO){.format = format & SF_FORMAT_SUBMASK};
        sub = sf_command(NULL, SFC_GET_FORMAT_INFO, &si, sizeof si) == 0 && si.name ? si.name : "encoded";
    }
    snprintf(out, cap, "%s %s", major, sub);
}

npg_status npg_audio_decode(const uint8_t *data, size_t size, const char *what, uint32_t target_rate,
                            float **samples, size_t *n_samples, npg_audio_info *info) {
    mem_reader m = {.data = data, .size = (sf_count_t)size};
    SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO sfi = {0};
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &sfi, &m);
    if (!sf)
        return npg_fail(NPG_ERR_FORMAT, "%s: not a readable audio file (WAV, FLAC, ...): %s", what,
                        sf_strerror(NULL));
    char fmt[48];
    format_name(sfi.format, fmt, sizeof fmt);
    npg_status st = NPG_OK;
    if (sfi.samplerate <= 0 || sfi.channels <= 0)
        st = npg_fail(NPG_ERR_FORMAT, "%s: %s header gives %d Hz and %d channels", what, fmt, sfi.samplerate,
                      sfi.channels);
    else
        st = npg_audio_check_format((uint32_t)sfi.samplerate, (uint32_t)sfi.channels, what);
    uint32_t rate = (uint32_t)sfi.samplerate, channels = (uint32_t)sfi.channels;
    size_t max_in = st == NPG_OK ? npg_audio_max_samples(rate) : 0;
    /* a declared length past the limit is refused before anything is decoded (SF_COUNT_MAX: unknown) */
    if (st == NPG_OK && sfi.frames != SF_COUNT_MAX && sfi.frames > (sf_count_t)max_in)
        st = npg_fail(NPG_ERR_LIMIT, "%s: %s declares %lld frames at %u Hz, longer than the limit of %u seconds", what,
                      fmt, (long long)sfi.frames, rate, NPG_AUDIO_MAX_SECONDS);
    uint32_t out_rate = target_rate ? target_rate : rate;
    npg_resampler *rs = NULL;
    if (st == NPG_OK)
        st = npg_resampler_create(rate, out_rate, what, &rs);
    enum { CHUNK = 4096 };
    float *chunk = NULL, *mono = NULL;
    if (st == NPG_OK) {
        chunk = malloc((size_t)CHUNK * channels * sizeof *chunk);
        mono = malloc(CHUNK * sizeof *mono);
        if (!chunk || !mono)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    }
    npg_audio_buf out = {.max_len = npg_audio_max_samples(out_rate) + 1, .what = what};
    uint64_t frames = 0;
    while (st == NPG_OK) {
        sf_count_t got = sf_readf_float(sf, chunk, CHUNK);
        if (got <= 0)
            break;
        if ((uint64_t)got > max_in - frames) {
            st = npg_fail(NPG_ERR_LIMIT, "%s: longer than the limit of %u seconds of audio", what,
                          NPG_AUDIO_MAX_SECONDS);
            break;
        }
        st = npg_audio_mix_mono(chunk, (size_t)got, channels, mono, what, frames);
        if (st == NPG_OK)
            st = npg_resampler_push(rs, mono, (size_t)got, &out);
        frames += (uint64_t)got;
    }
    if (st == NPG_OK && sf_error(sf) != SF_ERR_NO_ERROR)
        st = npg_fail(NPG_ERR_FORMAT, "%s: %s stream is corrupt after %llu frames: %s", what, fmt,
                      (unsigned long long)frames, sf_strerror(sf));
    if (st == NPG_OK && frames == 0)
        st = npg_fail(NPG_ERR_FORMAT, "%s: %s file holds no audio samples", what, fmt);
    if (st == NPG_OK)
        st = npg_resampler_finish(rs, &out);
    free(chunk);
    free(mono);
    npg_resampler_free(rs);
    sf_close(sf);
    if (st == NPG_OK && out.len == 0) /* e.g. one frame at 48 kHz rounds to none at 16 kHz */
        st = npg_fail(NPG_ERR_FORMAT, "%s: %llu frames at %u Hz are no samples at %u Hz", what,
                      (unsigned long long)frames, rate, out_rate);
    if (st != NPG_OK) {
        free(out.data);
        return st;
    }
    if (info) {
        *info = (npg_audio_info){.sample_rate = rate, .channels = channels, .frames = frames};
        snprintf(info->format, sizeof info->format, "%s", fmt);
    }
    *samples = out.data;
    *n_samples = out.len;
    return NPG_OK;
}
