/* detok_stream.c — streaming detokenization with a sliding window of ids.
 *
 * Decoders are not token-by-token maps: ByteFallback joins "<0xXX>" runs into characters, ByteLevel
 * joins bytes across tokens, and SentencePiece's Strip drops the space of the first token only. The
 * stream therefore decodes a small window of ids and emits the part of the text that grew, as
 * tokenizers' DecodeStream does:
 *
 *   win[0 .. n_win)   the window; win[0 .. ready) is text already accounted for, whose decode is acc
 *   push(id):         S = decode(win + id). If S is longer than acc and does not end in U+FFFD (an
 *                     unfinished character, or a byte run still to complete), emit S minus acc, drop
 *                     win[0 .. ready) and recompute acc for what is left. Otherwise hold.
 *
 * Because the window always starts with ids whose text was accounted for (the prompt's tail at
 * first), the Strip decoder eats the leading space of an old token, never of a new one, so the
 * pieces concatenate to decode(prefix + generated) minus decode(prefix). Invariant: acc ==
 * decode(win[0 .. ready)), and ready == n_win right after an emission.
 *
 * Capacity: the window is at most (prompt tail + max_tokens + 1) ids, and the buffers are reserved
 * at creation (see TEXT_WINDOW), so push does not allocate. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tok_internal.h"

/* The prompt's tail that seeds the window: a few ids, and at least one that is not skipped. */
#define TAIL_MIN 4
/* Text buffers are reserved for at most this many generated ids in the window (the ids themselves for
 * all max_tokens): the window only grows while no text becomes final, so a longer window means over a
 * thousand ids in a row ending inside a character, which no real text does; decoding then still
 * works, allocating. This keeps a 128k-token budget from reserving gigabytes of text. */
#define TEXT_WINDOW 1024

struct npg_detok_stream {
    const npg_tokenizer *tok;
    bool skip;
    int32_t *win;
    size_t n_win, ready, cap_win;
    size_t max_tokens;
    char *acc, *piece; /* acc: decode(win[0 .. ready)); piece: the last emitted text */
    size_t acc_len, bytes_cap;
    npg_tok_decoder dc;
};

static bool ends_with_replacement(const char *s, size_t len) {
    return len >= 3 && memcmp(s + len - 3, "\xEF\xBF\xBD", 3) == 0;
}

/* Bytes of s that are already accounted for by acc: all of acc when s starts with it, else their
 * common prefix cut back to a character boundary of s. */
static size_t accounted(const char *acc, size_t acc_len, const char *s, size_t len) {
    size_t n = 0;
    while (n < acc_len && n < len && acc[n] == s[n])
        n++;
    if (n == acc_len)
        return n;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static npg_status check_ids(const npg_tokenizer *tok, const int32_t *ids, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= tok->n_ids)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: token id %d at index %zu is outside the vocabulary [0, %zu)",
                            what, ids[i], i, tok->n_ids);
    return NPG_OK;
}

static bool is_byte_token(const npg_tokenizer *tok, int32_t id) {
    uint8_t b;
    return tok->id_str[id] && npg_tok_byte_token(tok->id_str[id], tok->id_len[id], &b);
}

/* Grows the window to n ids and the text buffers to n_text ids' worth (the only place that
 * allocates, besides the degenerate cases noted at TEXT_WINDOW). */
static npg_status reserve(npg_detok_stream *s, size_t n, size_t n_text) {
    if (n <= s->cap_win && s->acc)
        return NPG_OK;
    int32_t *w = realloc(s->win, n * sizeof *w);
    NPG_CHECK_ALLOC(w);
    s->win = w;
    s->cap_win = n;
    NPG_TRY(npg_tok_decoder_reserve(s->tok, &s->dc, n_text < n ? n_text : n));
    size_t bytes = s->dc.out.cap > s->bytes_cap ? s->dc.out.cap : s->bytes_cap;
    char *a = realloc(s->acc, bytes);
    NPG_CHECK_ALLOC(a);
    s->acc = a;
    char *p = realloc(s->piece, bytes);
    NPG_CHECK_ALLOC(p);
    s->piece = p;
    s->bytes_cap = bytes;
    return NPG_OK;
}

/* Only a decoder chain that grows text beyond dec_growth's cap gets here with more bytes than
 * reserved; it then allocates rather than fails. */
static npg_status fit(npg_detok_stream *s, size_t len) {
    if (len + 1 <= s->bytes_cap)
        return NPG_OK;
    char *a = realloc(s->acc, len + 1);
    NPG_CHECK_ALLOC(a);
    s->acc = a;
    char *p = realloc(s->piece, len + 1);
    NPG_CHECK_ALLOC(p);
    s->piece = p;
    s->bytes_cap = len + 1;
    return NPG_OK;
}

static npg_status set_acc(npg_detok_stream *s, const char *text, size_t len) {
    NPG_TRY(fit(s, len));
    memmove(s->acc, text, len);
    s->acc[len] = '\0';
    s->acc_len = len;
    return NPG_OK;
}

static npg_status emit(npg_detok_stream *s, const char *text, size_t from, size_t len, const char **piece) {
    NPG_TRY(fit(s, len - from));
    memcpy(s->piece, text + from, len - from);
    s->piece[len - from] = '\0';
    *piece = s->piece;
    return NPG_OK;
}

npg_status npg_detok_stream_reset(npg_detok_stream *s, const int32_t *prefix, size_t n_prefix) {
    if (!s || (!prefix && n_prefix))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_detok_stream_reset: %s is NULL", !s ? "stream" : "prefix");
    NPG_TRY(check_ids(s->tok, prefix, n_prefix, "npg_detok_stream prefix"));
    size_t start = n_prefix;
    bool visible = false;
    while (start > 0 && (n_prefix - start < TAIL_MIN || !visible)) {
        start--;
        visible = visible || !(s->skip && (s->tok->id_flags[prefix[start]] & NPG_TOK_FLAG_SPECIAL));
    }
    /* ByteFallback turns a whole run of "<0xXX>" tokens into text or into U+FFFDs at once, so the
     * window must not start inside a run */
    while (start > 0 && is_byte_token(s->tok, prefix[start]) && is_byte_token(s->tok, prefix[start - 1]))
        start--;
    size_t tail = n_prefix - start;
    size_t gen = s->max_tokens + 1 < TEXT_WINDOW ? s->max_tokens + 1 : TEXT_WINDOW;
    NPG_TRY(reserve(s, tail + s->max_tokens + 1, tail + gen));
    if (tail)
        memcpy(s->win, prefix + start, tail * sizeof *s->win);
    s->n_win = s->ready = tail;
    s->acc_len = 0;
    s->acc[0] = '\0';
    s->piece[0] = '\0';
    const char *text;
    size_t len;
    NPG_TRY(npg_tok_decode_run(s->tok, &s->dc, s->win, s->n_win, s->skip, &text, &len));
    return set_acc(s, text, len);
}

npg_status npg_detok_stream_create(const npg_tokenizer *tok, const int32_t *prefix, size_t n_prefix,
                                   bool skip_special_tokens, size_t max_tokens, npg_detok_stream **out) {
    if (!tok || !out || (!prefix && n_prefix))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_detok_stream_create: %s is NULL",
                        !tok ? "tok" : !out ? "out" : "prefix");
    *out = NULL;
    npg_detok_stream *s = calloc(1, sizeof *s);
    NPG_CHECK_ALLOC(s);
    s->tok = tok;
    s->skip = skip_special_tokens;
    s->max_tokens = max_tokens;
    npg_status st = npg_tok_decoder_init(&s->dc);
    if (st == NPG_OK)
        st = npg_detok_stream_reset(s, prefix, n_prefix);
    if (st != NPG_OK) {
        npg_detok_stream_free(s);
        return st;
    }
    *out = s;
    return NPG_OK;
}

void npg_detok_stream_free(npg_detok_stream *s) {
    if (!s)
        return;
    npg_tok_decoder_free(&s->dc);
    free(s->win);
    free(s->acc);
    free(s->piece);
    free(s);
}

npg_status npg_detok_stream_push(npg_detok_stream *s, int32_t id, const char **piece) {
    if (!s || !piece)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_detok_stream_push: %s is NULL", !s ? "stream" : "piece");
    *piece = "";
    NPG_TRY(check_ids(s->tok, &id, 1, "npg_detok_stream_push"));
    if (s->n_win == s->cap_win) /* more ids than max_tokens without any text: grow */
        NPG_TRY(reserve(s, 2 * s->cap_win, 2 * s->cap_win));
    s->win[s->n_win++] = id;
    const char *text;
    size_t len;
    NPG_TRY(npg_tok_decode_run(s->tok, &s->dc, s->win, s->n_win, s->skip, &text, &len));
    if (len <= s->acc_len || ends_with_replacement(text, len))
        return NPG_OK; /* nothing final yet */
    NPG_TRY(emit(s, text, accounted(s->acc, s->acc_len, text, len), len, piece));
    /* slide: keep only the ids since the previous emission */
    memmove(s->win, s->win + s->ready, (s->n_win - s->ready) * sizeof *s->win);
    s->n_win -= s->ready;
    s->ready = s->n_win;
    NPG_TRY(npg_tok_decode_run(s->tok, &s->dc, s->win, s->n_win, s->skip, &text, &len));
    return set_acc(s, text, len);
}

npg_status npg_detok_stream_flush(npg_detok_stream *s, const char **piece) {
    if (!s || !piece)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_detok_stream_flush: %s is NULL", !s ? "stream" : "piece");
    *piece = "";
    const char *text;
    size_t len;
    NPG_TRY(npg_tok_decode_run(s->tok, &s->dc, s->win, s->n_win, s->skip, &text, &len));
    NPG_TRY(emit(s, text, accounted(s->acc, s->acc_len, text, len), len, piece));
    s->ready = s->n_win;
    return set_acc(s, text, len);
}
