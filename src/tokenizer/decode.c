/* decode.c — ids -> text: the decoder chain (Replace, ByteFallback, Fuse, Strip, ByteLevel,
 * Metaspace, Sequence) over the list of token strings, as tokenizers' Decoder::decode_chain.
 *
 * A decode works on a list of strings held in a npg_tok_declist (one byte buffer + spans). Each step
 * reads one list and writes the other, and never makes more strings than it got, so a list sized
 * for n tokens suffices for every step. The byte growth of each step is bounded (dec_growth), which
 * lets the streaming detokenizer reserve everything up front and never allocate while streaming. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

static npg_status one_char(const npg_tokenizer *tok, const char *s, const char *what, char buf[5], size_t *len) {
    size_t n = s ? strlen(s) : 0;
    uint32_t cp;
    if (n == 0 || n > 4 || npg_utf8_valid_prefix(s, n) != n || npg_utf8_decode(s, n, &cp) != n)
        return npg_fail(NPG_ERR_FORMAT, "%s: decoder %s must be exactly one character", tok->json_path, what);
    memcpy(buf, s, n);
    buf[n] = '\0';
    *len = n;
    return NPG_OK;
}

static npg_status add_dec(npg_tokenizer *tok, const cJSON *node) {
    if (!node || cJSON_IsNull(node))
        return NPG_OK;
    const char *type = npg_json_get_string(node, "type");
    if (!type)
        return npg_fail(NPG_ERR_FORMAT, "%s: decoder has no \"type\"", tok->json_path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = npg_json_get(node, "decoders");
        if (!cJSON_IsArray(list))
            return npg_fail(NPG_ERR_FORMAT, "%s: decoder.decoders must be a list", tok->json_path);
        const cJSON *child;
        cJSON_ArrayForEach(child, list) NPG_TRY(add_dec(tok, child));
        return NPG_OK;
    }
    if (tok->n_dec == NPG_TOK_MAX_STEPS)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: more than %d decoders", tok->json_path, NPG_TOK_MAX_STEPS);
    npg_tok_dec *d = &tok->dec[tok->n_dec];
    memset(d, 0, sizeof *d);
    if (strcmp(type, "Replace") == 0) {
        const char *content = npg_json_get_string(node, "content");
        const cJSON *pattern = npg_json_get(node, "pattern");
        if (!content || !pattern)
            return npg_fail(NPG_ERR_FORMAT, "%s: decoder Replace needs \"pattern\" and \"content\"", tok->json_path);
        char what[512];
        snprintf(what, sizeof what, "%s: decoder Replace", tok->json_path);
        d->kind = NPG_DEC_REPLACE;
        NPG_TRY(npg_tok_pattern_from_json(pattern, what, &d->pattern));
        tok->n_dec++; /* owned from here on */
        d->content = strdup(content);
        NPG_CHECK_ALLOC(d->content);
        d->content_len = strlen(content);
        return NPG_OK;
    } else if (strcmp(type, "ByteFallback") == 0) {
        d->kind = NPG_DEC_BYTE_FALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        d->kind = NPG_DEC_FUSE;
    } else if (strcmp(type, "Strip") == 0) {
        d->kind = NPG_DEC_STRIP;
        NPG_TRY(one_char(tok, npg_json_get_string(node, "content"), "Strip content", d->strip_char, &d->strip_char_len));
        double start = 0, stop = 0;
        npg_json_get_number(node, "start", &start);
        npg_json_get_number(node, "stop", &stop);
        if (start < 0 || stop < 0 || start > 1e6 || stop > 1e6)
            return npg_fail(NPG_ERR_FORMAT, "%s: decoder Strip start/stop out of range", tok->json_path);
        d->start = (size_t)start;
        d->stop = (size_t)stop;
    } else if (strcmp(type, "ByteLevel") == 0) {
        d->kind = NPG_DEC_BYTELEVEL;
    } else if (strcmp(type, "Metaspace") == 0) {
        d->kind = NPG_DEC_METASPACE;
        const char *r = npg_json_get_string(node, "replacement");
        NPG_TRY(one_char(tok, r ? r : "\xE2\x96\x81", "Metaspace replacement", d->strip_char, &d->strip_char_len));
        const char *scheme = npg_json_get_string(node, "prepend_scheme");
        bool add_prefix = true;
        npg_json_get_bool(node, "add_prefix_space", &add_prefix);
        d->prepend_scheme = add_prefix ? NPG_PREPEND_ALWAYS : NPG_PREPEND_NEVER;
        if (scheme && strcmp(scheme, "never") == 0)
            d->prepend_scheme = NPG_PREPEND_NEVER;
        else if (scheme && strcmp(scheme, "first") == 0)
            d->prepend_scheme = NPG_PREPEND_FIRST;
        else if (scheme && strcmp(scheme, "always") == 0)
            d->prepend_scheme = NPG_PREPEND_ALWAYS;
        else if (scheme)
            return npg_fail(NPG_ERR_FORMAT, "%s: unknown decoder Metaspace prepend_scheme '%s'", tok->json_path,
                            scheme);
    } else {
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: decoder type '%s' is not supported", tok->json_path, type);
    }
    tok->n_dec++;
    return NPG_OK;
}

npg_status npg_tok_dec_load(npg_tokenizer *tok, const cJSON *decoder) {
    tok->has_decoder = decoder && !cJSON_IsNull(decoder);
    NPG_TRY(add_dec(tok, decoder));
    /* Bytes out per byte in, worst case, over the whole chain (npg_tok_decoder_reserve sizes with it;
     * past the cap, decoding still works but may allocate). */
    size_t g = 1;
    for (size_t i = 0; i < tok->n_dec; i++) {
        const npg_tok_dec *d = &tok->dec[i];
        if (d->kind == NPG_DEC_REPLACE) {
            size_t min_match = d->pattern.literal ? d->pattern.literal_len : 0;
            /* a literal of m bytes becomes c bytes; a regex may match empty: c bytes per input byte */
            g *= min_match ? (d->content_len + min_match - 1) / min_match + 1 : d->content_len + 1;
        } else if (d->kind == NPG_DEC_BYTELEVEL) {
            g *= 2; /* a 2-byte char -> 1 invalid byte -> U+FFFD (3 bytes) */
        }
        if (g > 1024)
            g = 1024;
    }
    tok->dec_growth = g;
    return NPG_OK;
}

void npg_tok_dec_free(npg_tok_dec *d) {
    npg_tok_pattern_free(&d->pattern);
    free(d->content);
    memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------------------------------------- */
/* Token lists                                                                                    */

npg_status npg_tok_declist_reserve(npg_tok_declist *l, size_t n_tokens, size_t n_bytes) {
    if (n_tokens > l->cap) {
        size_t *off = realloc(l->off, n_tokens * sizeof *off);
        NPG_CHECK_ALLOC(off);
        l->off = off;
        size_t *len = realloc(l->len, n_tokens * sizeof *len);
        NPG_CHECK_ALLOC(len);
        l->len = len;
        l->cap = n_tokens;
    }
    if (n_bytes + 1 > l->buf.cap) {
        char *b = realloc(l->buf.data, n_bytes + 1);
        NPG_CHECK_ALLOC(b);
        if (!l->buf.data)
            b[0] = '\0';
        l->buf.data = b;
        l->buf.cap = n_bytes + 1;
    }
    return NPG_OK;
}

static void list_clear(npg_tok_declist *l) {
    l->n = 0;
    npg_strbuf_clear(&l->buf);
}

/* Starts a new string at the end of l. */
static npg_status list_begin(npg_tok_declist *l) {
    if (l->n == l->cap)
        NPG_TRY(npg_tok_declist_reserve(l, l->cap ? 2 * l->cap : 16, 0));
    l->off[l->n] = l->buf.len;
    l->len[l->n] = 0;
    l->n++;
    return NPG_OK;
}

/* Appends bytes to the last string of l. */
static npg_status list_add(npg_tok_declist *l, const char *s, size_t len) {
    NPG_TRY(npg_strbuf_append(&l->buf, s, len));
    l->len[l->n - 1] += len;
    return NPG_OK;
}

void npg_tok_declist_free(npg_tok_declist *l) {
    npg_strbuf_free(&l->buf);
    free(l->off);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* ---------------------------------------------------------------------------------------------- */
/* Steps                                                                                          */

bool npg_tok_byte_token(const char *s, size_t len, uint8_t *byte) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return false;
    unsigned v = 0;
    size_t i = 3;
    if (s[3] == '+') /* Rust's u8::from_str_radix accepts a leading '+' */
        i = 4;
    for (; i < 5; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v * 16 + d;
    }
    *byte = (uint8_t)v;
    return true;
}

npg_status npg_tok_bytelevel_token_bytes(const char *s, size_t len, npg_strbuf *out) {
    size_t start = out->len;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += npg_utf8_decode(s + i, len - i, &cp);
        int b = npg_bytelevel_byte(cp);
        if (b < 0) { /* not a ByteLevel string: kept as its UTF-8 */
            out->len = start;
            return npg_strbuf_append(out, s, len);
        }
        char c = (char)b;
        NPG_TRY(npg_strbuf_append(out, &c, 1));
    }
    return npg_strbuf_append(out, "", 0);
}

static npg_status step_byte_fallback(const npg_tok_declist *in, npg_tok_declist *out) {
    /* A run [first, first + run) of "<0xXX>" tokens becomes one string: its bytes when they are
     * valid UTF-8, else one U+FFFD per token (tokenizers' ByteFallback). */
    size_t first = 0, run = 0;
    for (size_t i = 0; i <= in->n; i++) {
        uint8_t b;
        if (i < in->n && npg_tok_byte_token(in->buf.data + in->off[i], in->len[i], &b)) {
            if (run == 0)
                first = i;
            run++;
            continue;
        }
        if (run) {
            NPG_TRY(list_begin(out));
            size_t at = out->buf.len;
            for (size_t k = first; k < first + run; k++) {
                npg_tok_byte_token(in->buf.data + in->off[k], in->len[k], &b);
                char c = (char)b;
                NPG_TRY(list_add(out, &c, 1));
            }
            if (npg_utf8_valid_prefix(out->buf.data + at, run) != run) {
                out->buf.len = at;
                out->len[out->n - 1] = 0;
                for (size_t k = 0; k < run; k++)
                    NPG_TRY(list_add(out, "\xEF\xBF\xBD", 3));
            }
            run = 0;
        }
        if (i < in->n) {
            NPG_TRY(list_begin(out));
            NPG_TRY(list_add(out, in->buf.data + in->off[i], in->len[i]));
        }
    }
    return NPG_OK;
}

static npg_status step_strip(const npg_tok_dec *d, const npg_tok_declist *in, npg_tok_declist *out) {
    for (size_t i = 0; i < in->n; i++) {
        const char *s = in->buf.data + in->off[i];
        size_t b = 0, e = in->len[i], c = d->strip_char_len;
        for (size_t k = 0; k < d->start && e - b >= c && memcmp(s + b, d->strip_char, c) == 0; k++)
            b += c;
        for (size_t k = 0; k < d->stop && e - b >= c && memcmp(s + e - c, d->strip_char, c) == 0; k++)
            e -= c;
        NPG_TRY(list_begin(out));
        NPG_TRY(list_add(out, s + b, e - b));
    }
    return NPG_OK;
}

static npg_status step_metaspace(const npg_tok_dec *d, const npg_tok_declist *in, npg_tok_declist *out) {
    size_t c = d->strip_char_len;
    for (size_t i = 0; i < in->n; i++) {
        const char *s = in->buf.data + in->off[i];
        size_t len = in->len[i], last = 0;
        NPG_TRY(list_begin(out));
        for (size_t k = 0; k + c <= len;) {
            if (memcmp(s + k, d->strip_char, c) != 0) {
                k++;
                continue;
            }
            NPG_TRY(list_add(out, s + last, k - last));
            /* the first token loses every replacement char (tokenizers' MetaspaceDecoder) */
            if (!(i == 0 && d->prepend_scheme != NPG_PREPEND_NEVER))
                NPG_TRY(list_add(out, " ", 1));
            k += c;
            last = k;
        }
        NPG_TRY(list_add(out, s + last, len - last));
    }
    return NPG_OK;
}

static npg_status step_bytelevel(const npg_tok_declist *in, npg_tok_declist *out, npg_strbuf *tmp) {
    npg_strbuf_clear(tmp);
    for (size_t i = 0; i < in->n; i++)
        NPG_TRY(npg_tok_bytelevel_token_bytes(in->buf.data + in->off[i], in->len[i], tmp));
    NPG_TRY(list_begin(out));
    size_t at = out->buf.len;
    NPG_TRY(npg_utf8_append_lossy(&out->buf, tmp->data ? tmp->data : "", tmp->len));
    out->len[out->n - 1] = out->buf.len - at;
    return NPG_OK;
}

static npg_status run_step(const npg_tok_dec *d, pcre2_match_data *md, const npg_tok_declist *in,
                           npg_tok_declist *out, npg_strbuf *tmp) {
    list_clear(out);
    switch (d->kind) {
    case NPG_DEC_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            NPG_TRY(list_begin(out));
            size_t at = out->buf.len;
            NPG_TRY(npg_tok_pattern_replace(&d->pattern, md, in->buf.data + in->off[i], in->len[i], d->content,
                                            d->content_len, &out->buf));
            out->len[out->n - 1] = out->buf.len - at;
        }
        return NPG_OK;
    case NPG_DEC_BYTE_FALLBACK:
        return step_byte_fallback(in, out);
    case NPG_DEC_FUSE:
        NPG_TRY(list_begin(out));
        for (size_t i = 0; i < in->n; i++)
            NPG_TRY(list_add(out, in->buf.data + in->off[i], in->len[i]));
        return NPG_OK;
    case NPG_DEC_STRIP:
        return step_strip(d, in, out);
    case NPG_DEC_BYTELEVEL:
        return step_bytelevel(in, out, tmp);
    case NPG_DEC_METASPACE:
        return step_metaspace(d, in, out);
    }
    return npg_fail(NPG_ERR_INTERNAL, "unknown decoder kind %d", (int)d->kind);
}

/* ---------------------------------------------------------------------------------------------- */

npg_status npg_tok_decode_run(const npg_tokenizer *tok, npg_tok_decoder *dc, const int32_t *ids, size_t n_ids,
                              bool skip_special, const char **text, size_t *len) {
    npg_tok_declist *cur = &dc->a, *nxt = &dc->b;
    list_clear(cur);
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= tok->n_ids)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "token id %d at index %zu is outside the vocabulary [0, %zu)",
                            id, i, tok->n_ids);
        if (!tok->id_str[id])
            continue; /* a hole in the id space: tokenizers skips it */
        if (skip_special && (tok->id_flags[id] & NPG_TOK_FLAG_SPECIAL))
            continue;
        NPG_TRY(list_begin(cur));
        NPG_TRY(list_add(cur, tok->id_str[id], tok->id_len[id]));
    }
    NPG_TRY(npg_strbuf_append(&cur->buf, "", 0));
    if (!tok->has_decoder) {
        /* no decoder: tokens joined by spaces */
        list_clear(nxt);
        NPG_TRY(list_begin(nxt));
        for (size_t i = 0; i < cur->n; i++) {
            if (i)
                NPG_TRY(list_add(nxt, " ", 1));
            NPG_TRY(list_add(nxt, cur->buf.data + cur->off[i], cur->len[i]));
        }
        cur = nxt;
    } else {
        for (size_t s = 0; s < tok->n_dec; s++) {
            NPG_TRY(run_step(&tok->dec[s], dc->md, cur, nxt, &dc->tmp));
            NPG_TRY(npg_strbuf_append(&nxt->buf, "", 0));
            npg_tok_declist *t = cur;
            cur = nxt;
            nxt = t;
        }
    }
    /* the concatenation of what is left */
    npg_strbuf *out = &dc->out;
    npg_strbuf_clear(out);
    for (size_t i = 0; i < cur->n; i++)
        NPG_TRY(npg_strbuf_append(out, cur->buf.data + cur->off[i], cur->len[i]));
    NPG_TRY(npg_strbuf_append(out, "", 0));
    *text = out->data;
    *len = out->len;
    return NPG_OK;
}

npg_status npg_tok_decoder_init(npg_tok_decoder *dc) {
    memset(dc, 0, sizeof *dc);
    dc->md = pcre2_match_data_create(1, NULL);
    NPG_CHECK_ALLOC(dc->md);
    return NPG_OK;
}

npg_status npg_tok_decoder_reserve(const npg_tokenizer *tok, npg_tok_decoder *dc, size_t n_tokens) {
    /* every step keeps within dec_growth bytes per input byte; +1 per token covers the spaces of
     * the no-decoder join */
    size_t bytes = n_tokens * (tok->max_token_len + 1) * tok->dec_growth + 64;
    NPG_TRY(npg_tok_declist_reserve(&dc->a, n_tokens + 1, bytes));
    NPG_TRY(npg_tok_declist_reserve(&dc->b, n_tokens + 1, bytes));
    if (bytes + 1 > dc->tmp.cap) {
        char *t = realloc(dc->tmp.data, bytes + 1);
        NPG_CHECK_ALLOC(t);
        dc->tmp.data = t;
        dc->tmp.cap = bytes + 1;
    }
    if (bytes + 1 > dc->out.cap) {
        char *t = realloc(dc->out.data, bytes + 1);
        NPG_CHECK_ALLOC(t);
        if (!dc->out.len)
            t[0] = '\0';
        dc->out.data = t;
        dc->out.cap = bytes + 1;
    }
    return NPG_OK;
}

void npg_tok_decoder_free(npg_tok_decoder *dc) {
    if (dc->md)
        pcre2_match_data_free(dc->md);
    npg_tok_declist_free(&dc->a);
    npg_tok_declist_free(&dc->b);
    npg_strbuf_free(&dc->tmp);
    npg_strbuf_free(&dc->out);
    memset(dc, 0, sizeof *dc);
}

npg_status npg_tokenizer_decode(const npg_tokenizer *tok, const int32_t *ids, size_t n_ids, bool skip_special_tokens,
                                char **text) {
    if (!tok || (!ids && n_ids) || !text)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_tokenizer_decode: %s is NULL",
                        !tok ? "tok" : !text ? "text" : "ids");
    npg_tok_decoder dc;
    NPG_TRY(npg_tok_decoder_init(&dc));
    const char *s;
    size_t len;
    npg_status st = npg_tok_decode_run(tok, &dc, ids, n_ids, skip_special_tokens, &s, &len);
    if (st == NPG_OK) {
        st = npg_strbuf_append(&dc.out, "", 0);
        if (st == NPG_OK)
            st = npg_strbuf_detach(&dc.out, text);
    }
    npg_tok_decoder_free(&dc);
    return st;
}
