/* test_tokenizer_stream.c — streaming detokenization against the full decode.
 *
 * For every golden case of every tokenizer, the ids (with specials) are split at every position k:
 * ids[0 .. k) is the prompt, and the next (up to) GEN ids are pushed one at a time, then flushed. The
 * pieces must each be valid UTF-8 and concatenate to decode(prompt + generated) minus decode(prompt)
 * — checked wherever decode(prompt) is a prefix of it (it is not when the prompt ends inside a
 * multi-byte character). Both with and without skipping special tokens. GEN bounds the cost of the
 * few 700-1900-token cases (quadratic otherwise) while still splitting them at every position. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer/tokenizer.h"

#define GEN 48

static const char *const GOLDENS[] = {"gemma3",  "gpt2",       "llama3_2",       "mistral_nemo", "qwen2_5",
                                      "qwen3",   "stories260K_hf", "tinyllama-chat", "whisper_en",
                                      "whisper_multilingual"};

static bool valid_utf8(const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2 : (*u & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return false;
        u++;
        for (int i = 0; i < n; i++, u++)
            if ((*u & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static bool ends_unfinished(const char *s) {
    size_t n = strlen(s);
    return n >= 3 && memcmp(s + n - 3, "\xEF\xBF\xBD", 3) == 0;
}

static char *decode(const npg_tokenizer *tok, const int32_t *ids, size_t n, bool skip) {
    char *t = NULL;
    if (npg_tokenizer_decode(tok, ids, n, skip, &t) != NPG_OK)
        return NULL;
    return t;
}

/* Streams ids[k..n) after the prompt ids[0..k); returns the concatenation (malloc'd) or NULL on a
 * failure, and sets *bad_piece when a piece was not valid UTF-8. */
static char *stream(const npg_tokenizer *tok, const int32_t *ids, size_t n, size_t k, bool skip, bool *bad_piece) {
    npg_detok_stream *s = NULL;
    if (npg_detok_stream_create(tok, ids, k, skip, n - k, &s) != NPG_OK)
        return NULL;
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (size_t i = k; i <= n; i++) {
        const char *piece = NULL;
        npg_status st = i < n ? npg_detok_stream_push(s, ids[i], &piece) : npg_detok_stream_flush(s, &piece);
        if (st != NPG_OK) {
            free(out);
            npg_detok_stream_free(s);
            return NULL;
        }
        if (!valid_utf8(piece))
            *bad_piece = true;
        size_t pl = strlen(piece);
        while (len + pl + 1 > cap)
            cap *= 2;
        out = realloc(out, cap);
        memcpy(out + len, piece, pl + 1);
        len += pl;
    }
    npg_detok_stream_free(s);
    return out;
}

static void stream_file(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "goldens/tokenizers/%s.json", name);
    char *text = read_all(shared_path(rel), NULL);
    REQUIRE(text);
    cJSON *g = cJSON_Parse(text);
    free(text);
    REQUIRE(g);
    npg_tokenizer *tok = NULL;
    npg_status st = npg_tokenizer_create(shared_path(cJSON_GetObjectItemCaseSensitive(g, "tokenizer_files")->valuestring),
                                         &tok);
    if (st != NPG_OK) {
        cJSON_Delete(g);
        REQUIRE_OK(st);
    }
    size_t n_checked = 0, n_bad = 0, n_skipped = 0, ci = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "cases")) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c, "ids_with_special");
        size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
        int32_t *ids = malloc((n + 1) * sizeof *ids);
        const cJSON *it;
        cJSON_ArrayForEach(it, arr) ids[i++] = (int32_t)it->valuedouble;
        for (int skip = 0; skip < 2; skip++) {
            for (size_t k = 0; k <= n; k++) {
                size_t stop = k + GEN < n ? k + GEN : n;
                char *full = decode(tok, ids, stop, skip);
                char *pre = decode(tok, ids, k, skip);
                bool bad_piece = false;
                char *got = full ? stream(tok, ids, stop, k, skip, &bad_piece) : NULL;
                size_t pl = pre ? strlen(pre) : 0;
                if (!pre || !got || bad_piece) {
                    n_bad++;
                    if (n_bad < 5)
                        fprintf(stderr, "  %s case %zu split %zu skip %d: %s\n", name, ci, k, skip,
                                !got ? npg_last_error() : "a piece is not valid UTF-8");
                } else if (strncmp(full, pre, pl) != 0 || ends_unfinished(full)) {
                    /* a cut inside a character: the prompt's decode is not a prefix, or (ByteFallback)
                     * the whole byte run of the end decodes to U+FFFDs while the stream already emitted
                     * its complete characters; the flush is tested in test_sentencepiece_space */
                    n_skipped++;
                } else if (strcmp(got, full + pl) != 0) {
                    n_bad++;
                    if (n_bad < 5)
                        fprintf(stderr, "  %s case %zu split %zu skip %d: expected \"%s\" got \"%s\"\n", name, ci, k,
                                skip, full + pl, got);
                } else {
                    n_checked++;
                }
                npg_free(pre);
                npg_free(full);
                free(got);
            }
        }
        free(ids);
        ci++;
    }
    fprintf(stderr, "  %s: %zu splits agree, %zu differ, %zu not comparable (cut inside a character)\n", name,
            n_checked, n_bad, n_skipped);
    CHECK(n_checked > 1000);
    CHECK(n_bad == 0);
    npg_tokenizer_free(tok);
    cJSON_Delete(g);
}

static void test_stream_goldens(void) {
    for (size_t i = 0; i < sizeof GOLDENS / sizeof GOLDENS[0]; i++)
        stream_file(GOLDENS[i]);
}

/* SentencePiece leading space: after a prompt, " world" keeps its space; with an empty prompt (only
 * BOS) the first word loses it, exactly as the full decode does. */
static void test_sentencepiece_space(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/tinyllama-chat"), &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    REQUIRE_OK(npg_tokenizer_encode(tok, "Hello world", true, &ids, &n));
    REQUIRE(n == 3 && ids[0] == 1);
    npg_detok_stream *s = NULL;
    const char *piece = NULL;
    REQUIRE_OK(npg_detok_stream_create(tok, ids, 2, true, 8, &s));
    CHECK(npg_detok_stream_push(s, ids[2], &piece) == NPG_OK && strcmp(piece, " world") == 0);
    CHECK(npg_detok_stream_flush(s, &piece) == NPG_OK && strcmp(piece, "") == 0);
    /* reset to the BOS-only prompt: the first piece has no leading space */
    REQUIRE_OK(npg_detok_stream_reset(s, ids, 1));
    CHECK(npg_detok_stream_push(s, ids[1], &piece) == NPG_OK && strcmp(piece, "Hello") == 0);
    CHECK(npg_detok_stream_push(s, ids[2], &piece) == NPG_OK && strcmp(piece, " world") == 0);
    /* a byte-fallback character arrives in pieces: nothing until it is whole */
    int32_t *cjk = NULL;
    size_t n_cjk = 0;
    REQUIRE_OK(npg_tokenizer_encode(tok, "\xF0\x9F\x98\x80", false, &cjk, &n_cjk)); /* U+1F600 */
    CHECK(n_cjk == 5); /* "▁" + 4 byte tokens */
    REQUIRE_OK(npg_detok_stream_reset(s, ids, 3));
    for (size_t i = 0; i + 1 < n_cjk; i++) {
        CHECK(npg_detok_stream_push(s, cjk[i], &piece) == NPG_OK);
        CHECK(i == 0 ? strcmp(piece, " ") == 0 : strcmp(piece, "") == 0);
    }
    CHECK(npg_detok_stream_push(s, cjk[n_cjk - 1], &piece) == NPG_OK && strcmp(piece, "\xF0\x9F\x98\x80") == 0);
    /* an unfinished character at the end is flushed as U+FFFD */
    REQUIRE_OK(npg_detok_stream_reset(s, NULL, 0));
    CHECK(npg_detok_stream_push(s, cjk[1], &piece) == NPG_OK && strcmp(piece, "") == 0);
    CHECK(npg_detok_stream_flush(s, &piece) == NPG_OK && strcmp(piece, "\xEF\xBF\xBD") == 0);
    /* bad ids are refused */
    CHECK(npg_detok_stream_push(s, 32000, &piece) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_detok_stream_push(s, -1, &piece) == NPG_ERR_INVALID_ARGUMENT);
    int32_t bad = 99999;
    CHECK(npg_detok_stream_reset(s, &bad, 1) == NPG_ERR_INVALID_ARGUMENT);
    npg_detok_stream_free(s);
    npg_detok_stream_free(NULL);
    npg_free(cjk);
    npg_free(ids);
    npg_tokenizer_free(tok);
}

/* More ids than max_tokens still work (the window grows). */
static void test_capacity_overflow(void) {
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create(shared_path("tokenizers/gpt2"), &tok));
    int32_t *ids = NULL;
    size_t n = 0;
    REQUIRE_OK(npg_tokenizer_encode(tok, "a \xE4\xB8\xAD\xE6\x96\x87 text that is long enough to pass capacity", false,
                                    &ids, &n));
    npg_detok_stream *s = NULL;
    REQUIRE_OK(npg_detok_stream_create(tok, NULL, 0, false, 1, &s));
    char out[256] = {0};
    const char *piece;
    for (size_t i = 0; i < n; i++) {
        CHECK(npg_detok_stream_push(s, ids[i], &piece) == NPG_OK);
        strncat(out, piece, sizeof out - strlen(out) - 1);
    }
    CHECK(npg_detok_stream_flush(s, &piece) == NPG_OK);
    strncat(out, piece, sizeof out - strlen(out) - 1);
    CHECK(strcmp(out, "a \xE4\xB8\xAD\xE6\x96\x87 text that is long enough to pass capacity") == 0);
    npg_detok_stream_free(s);
    npg_free(ids);
    npg_tokenizer_free(tok);
}

int main(void) {
    RUN(test_stream_goldens);
    RUN(test_sentencepiece_space);
    RUN(test_capacity_overflow);
    return npg_test_summary();
}
