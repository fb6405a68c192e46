/* whisper_tokens.c — OpenAI tokenizer.py's special tokens and non-speech set from an HF tokenizer. */
#include "pipeline/whisper_tokens.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

static npg_status need(const npg_tokenizer *tok, const char *name, int32_t *out) {
    *out = npg_tokenizer_token_to_id(tok, name);
    if (*out < 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: not a Whisper tokenizer (no token %s)", npg_tokenizer_dir(tok), name);
    return NPG_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts and removes duplicates in place; returns the new count. */
static size_t sort_unique(int32_t *v, size_t n) {
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_i32);
    size_t m = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

/* tokenizer.py non_speech_tokens: symbols that are one token (alone or after a space) are suppressed;
 * the musical signs (U+2640..U+267F, several tokens in some vocabularies) by their first token. */
static npg_status non_speech(const npg_tokenizer *tok, npg_whisper_tokens *t) {
    static const char *const symbols[] = {
        "\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[", "\\", "]", "^", "_", "`", "{",
        "|", "}", "~", "\xe3\x80\x8c", "\xe3\x80\x8d", "\xe3\x80\x8e", "\xe3\x80\x8f", /* 「」『』 */
        "<<", ">>", "<<<", ">>>", "--", "---", "-(", "-[", "('", "(\"", "((", "))", "(((", ")))", "[[", "]]",
        "{{", "}}", "\xe2\x99\xaa\xe2\x99\xaa", "\xe2\x99\xaa\xe2\x99\xaa\xe2\x99\xaa", /* ♪♪ ♪♪♪ */
    };
    static const char *const misc[] = {"\xe2\x99\xa9", "\xe2\x99\xaa", "\xe2\x99\xab", "\xe2\x99\xac",
                                       "\xe2\x99\xad", "\xe2\x99\xae", "\xe2\x99\xaf"}; /* ♩♪♫♬♭♮♯ */
    size_t n_sym = sizeof symbols / sizeof *symbols, n_misc = sizeof misc / sizeof *misc;
    size_t cap = 2 + 2 * (n_sym + n_misc);
    t->non_speech = malloc(cap * sizeof *t->non_speech);
    NPG_CHECK_ALLOC(t->non_speech);
    size_t n = 0;
    for (size_t i = 0; i < 2 + n_sym + n_misc; i++) {
        const char *sym = i == 0 ? "-" : i == 1 ? "'" : i < 2 + n_sym ? symbols[i - 2] : misc[i - 2 - n_sym];
        bool is_misc = i >= 2 + n_sym;
        for (int spaced = 0; spaced < 2; spaced++) {
            if (i < 2 && !spaced)
                continue; /* " -" and " '": hyphens and quotes stay allowed inside words */
            char buf[32];
            buf[0] = ' ';
            strcpy(buf + 1, sym);
            int32_t *ids = NULL;
            size_t n_ids = 0;
            npg_status st = npg_tokenizer_encode(tok, spaced ? buf : buf + 1, false, &ids, &n_ids);
            if (st != NPG_OK)
                return st;
            if (n_ids >= 1 && (n_ids == 1 || is_misc || i < 2))
                t->non_speech[n++] = ids[0];
            npg_free(ids);
        }
    }
    t->n_non_speech = sort_unique(t->non_speech, n);
    return NPG_OK;
}

npg_status npg_whisper_tokens_init(const npg_tokenizer *tok, npg_whisper_tokens *t) {
    memset(t, 0, sizeof *t);
    t->vocab = npg_tokenizer_vocab_size(tok);
    NPG_TRY(need(tok, "<|endoftext|>", &t->eot));
    NPG_TRY(need(tok, "<|startoftranscript|>", &t->sot));
    NPG_TRY(need(tok, "<|startofprev|>", &t->sot_prev));
    NPG_TRY(need(tok, "<|startoflm|>", &t->sot_lm));
    NPG_TRY(need(tok, "<|notimestamps|>", &t->no_timestamps));
    NPG_TRY(need(tok, "<|transcribe|>", &t->transcribe));
    NPG_TRY(need(tok, "<|translate|>", &t->translate));
    /* OpenAI's name; older HF vocabularies call the same id <|nocaptions|> */
    t->no_speech = npg_tokenizer_token_to_id(tok, "<|nospeech|>");
    if (t->no_speech < 0)
        t->no_speech = npg_tokenizer_token_to_id(tok, "<|nocaptions|>");
    t->timestamp_begin = t->no_timestamps + 1;
    if ((size_t)t->timestamp_begin + 1500 > t->vocab)
        return npg_fail(NPG_ERR_FORMAT, "%s: vocabulary of %zu ids has no room for the 1501 timestamp tokens after "
                        "<|notimestamps|> (%d)", npg_tokenizer_dir(tok), t->vocab, (int)t->no_timestamps);
    /* languages: the tokens between <|startoftranscript|> and the first task token */
    int32_t lang_end = t->translate < t->transcribe ? t->translate : t->transcribe;
    for (int32_t id = t->sot + 1; id < lang_end && t->n_langs < NPG_WHISPER_MAX_LANGS; id++) {
        char *s = NULL;
        NPG_TRY(npg_tokenizer_decode(tok, &id, 1, false, &s));
        size_t len = strlen(s);
        if (len < 5 || len - 4 >= sizeof t->lang_codes[0] || strncmp(s, "<|", 2) != 0 || strcmp(s + len - 2, "|>") != 0) {
            npg_free(s);
            break;
        }
        memcpy(t->lang_codes[t->n_langs], s + 2, len - 4);
        t->lang_codes[t->n_langs][len - 4] = '\0';
        t->lang_ids[t->n_langs++] = id;
        npg_free(s);
    }
    /* model.py is_multilingual: n_vocab >= 51865. English-only vocabularies hold the language tokens too,
     * but their prompt is <|startoftranscript|> alone. */
    t->multilingual = t->vocab >= 51865 && t->n_langs > 0;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    NPG_TRY(npg_tokenizer_encode(tok, " ", false, &ids, &n_ids));
    t->space = n_ids ? ids[0] : -1;
    npg_free(ids);
    npg_status st = non_speech(tok, t);
    if (st != NPG_OK)
        npg_whisper_tokens_free(t);
    return st;
}

void npg_whisper_tokens_free(npg_whisper_tokens *t) {
    if (!t)
        return;
    free(t->non_speech);
    t->non_speech = NULL;
    t->n_non_speech = 0;
}

int32_t npg_whisper_lang_token(const npg_whisper_tokens *t, const char *code) {
    for (size_t i = 0; i < t->n_langs; i++)
        if (strcmp(t->lang_codes[i], code) == 0)
            return t->lang_ids[i];
    return -1;
}

const char *npg_whisper_lang_code(const npg_whisper_tokens *t, int32_t id) {
    for (size_t i = 0; i < t->n_langs; i++)
        if (t->lang_ids[i] == id)
            return t->lang_codes[i];
    return NULL;
}

npg_status npg_whisper_suppress_set(const npg_whisper_tokens *t, const char *spec, int32_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!spec)
        spec = "-1";
    size_t n_items = 1;
    for (const char *p = spec; *p; p++)
        n_items += *p == ',';
    int32_t *v = malloc((n_items + t->n_non_speech + 6) * sizeof *v);
    NPG_CHECK_ALLOC(v);
    size_t n = 0;
    const char *p = spec;
    while (*p) {
        char *end = NULL;
        long x = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || x < -1 || x >= (long)t->vocab) {
            free(v);
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "suppress_tokens \"%s\": expected comma-separated ids below %zu "
                            "or -1 (the non-speech set)", spec, t->vocab);
        }
        if (x == -1) {
            memcpy(v + n, t->non_speech, t->n_non_speech * sizeof *v);
            n += t->n_non_speech;
        } else {
            v[n++] = (int32_t)x;
        }
        p = *end ? end + 1 : end;
    }
    v[n++] = t->transcribe;
    v[n++] = t->translate;
    v[n++] = t->sot;
    v[n++] = t->sot_prev;
    v[n++] = t->sot_lm;
    if (t->no_speech >= 0)
        v[n++] = t->no_speech;
    *n_out = sort_unique(v, n);
    *out = v;
    return NPG_OK;
}
