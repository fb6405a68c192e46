/* serve_media.c — the non-text inputs of the OpenAI API: image content parts as data: URLs and the
 * multipart/form-data upload of /v1/audio/transcriptions. They are parsed and checked here so that
 * the VLM (serve_vlm.c) and Whisper (serve_whisper.c) handlers take them decoded. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

bool serve_data_url_decode(const char *url, char *mime, size_t mime_size, unsigned char **data, size_t *len,
                           const char **why) {
    if (strncasecmp(url, "data:", 5) != 0) {
        *why = "only data: URLs are accepted (the server does not fetch http(s) URLs)";
        return false;
    }
    const char *comma = strchr(url, ',');
    if (!comma) {
        *why = "the data: URL has no ',' before its data";
        return false;
    }
    const char *meta = url + 5;
    size_t meta_len = (size_t)(comma - meta);
    if (meta_len < 7 || strncasecmp(comma - 7, ";base64", 7) != 0) {
        *why = "the data: URL is not base64 (';base64,' expected)";
        return false;
    }
    size_t mlen = meta_len - 7;
    const char *semi = memchr(meta, ';', mlen);
    if (semi)
        mlen = (size_t)(semi - meta);
    if (mlen >= mime_size)
        mlen = mime_size - 1;
    memcpy(mime, meta, mlen);
    mime[mlen] = '\0';
    const unsigned char *p = (const unsigned char *)comma + 1;
    size_t n = strlen((const char *)p);
    unsigned char *out = malloc(n / 4 * 3 + 3);
    if (!out) {
        *why = "out of memory for the data: URL";
        return false;
    }
    size_t o = 0, pad = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '=') {
            pad++;
            continue;
        }
        int v = b64_value(p[i]);
        if (v < 0 || pad) {
            free(out);
            *why = "the data: URL's base64 is malformed";
            return false;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (pad > 2 || o == 0) {
        free(out);
        *why = o == 0 ? "the data: URL is empty" : "the data: URL's base64 is malformed";
        return false;
    }
    *data = out;
    *len = o;
    return true;
}

typedef struct form_state {
    serve_transcription_form *f;
    bool oom;
} form_state;

static void copy_field(char *dst, size_t dst_size, uint64_t off, const char *data, size_t size) {
    if (off >= dst_size - 1)
        return;
    size_t n = size < dst_size - 1 - (size_t)off ? size : dst_size - 1 - (size_t)off;
    memcpy(dst + off, data, n);
    dst[off + n] = '\0';
}

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                  const char *content_type, const char *transfer_encoding, const char *data,
                                  uint64_t off, size_t size) {
    (void)kind, (void)content_type, (void)transfer_encoding;
    form_state *s = cls;
    serve_transcription_form *f = s->f;
    if (strcmp(key, "file") == 0) {
        unsigned char *nf = realloc(f->file, (size_t)off + size + 1);
        if (!nf) {
            s->oom = true;
            return MHD_NO;
        }
        f->file = nf;
        memcpy(f->file + off, data, size);
        f->file_len = (size_t)off + size;
        f->has_file = true;
        if (filename)
            snprintf(f->file_name, sizeof f->file_name, "%s", filename);
    } else if (strcmp(key, "model") == 0) {
        copy_field(f->model, sizeof f->model, off, data, size);
    } else if (strcmp(key, "language") == 0) {
        copy_field(f->language, sizeof f->language, off, data, size);
    } else if (strcmp(key, "response_format") == 0) {
        copy_field(f->response_format, sizeof f->response_format, off, data, size);
    } else if (strcmp(key, "temperature") == 0) {
        copy_field(f->temperature, sizeof f->temperature, off, data, size);
    } else if (strcmp(key, "prompt") == 0) {
        char *np = realloc(f->prompt, (size_t)off + size + 1);
        if (!np) {
            s->oom = true;
            return MHD_NO;
        }
        f->prompt = np;
        memcpy(f->prompt + off, data, size);
        f->prompt[off + size] = '\0';
    } else if (strcmp(key, "timestamp_granularities[]") == 0 || strcmp(key, "timestamp_granularities") == 0) {
        if (size >= 4 && strncmp(data, "word", 4) == 0)
            f->words = true;
        if (size >= 7 && strncmp(data, "segment", 7) == 0)
            f->segments = true;
    }
    return MHD_YES;
}

bool serve_transcription_form_parse(struct MHD_Connection *c, const char *body, size_t len,
                                    serve_transcription_form *f, char *err, size_t err_size) {
    memset(f, 0, sizeof *f);
    form_state s = {.f = f};
    struct MHD_PostProcessor *pp = MHD_create_post_processor(c, 64 * 1024, form_field, &s);
    if (!pp) {
        snprintf(err, err_size, "the body must be multipart/form-data (fields file, model, ...)");
        return false;
    }
    /* the epilogue after the closing boundary is not form data (the openai npm client sends an extra
     * CRLF there, which libmicrohttpd refuses): feed the body up to the closing boundary's CRLF */
    while (len > 0 && (body[len - 1] == '\r' || body[len - 1] == '\n'))
        len--;
    enum MHD_Result r = MHD_post_process(pp, body, len);
    if (r == MHD_YES)
        r = MHD_post_process(pp, "\r\n", 2);
    MHD_destroy_post_processor(pp);
    if (r != MHD_YES || s.oom) {
        snprintf(err, err_size, "%s", s.oom ? "out of memory for the upload" : "the multipart/form-data body is malformed");
        serve_transcription_form_free(f);
        return false;
    }
    if (!f->response_format[0])
        snprintf(f->response_format, sizeof f->response_format, "json");
    return true;
}

void serve_transcription_form_free(serve_transcription_form *f) {
    free(f->file);
    free(f->prompt);
    memset(f, 0, sizeof *f);
}
