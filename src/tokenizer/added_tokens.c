/* added_tokens.c — added tokens ("added_tokens" of tokenizer.json): loading, and splitting text at
 * their occurrences before the model sees it.
 *
 * As in tokenizers' AddedVocabulary there are two matchers: tokens with normalized=false match the
 * raw input, tokens with normalized=true match each piece after the normalizer (their content is
 * normalized too). Matching is leftmost-longest (Aho-Corasick LeftmostLongest): scanning left to
 * right, at the first position where some token matches, the longest one wins, and scanning goes on
 * after it. Here a byte trie does the matching; a 256-bit set of first bytes skips the positions
 * where no token can start, so plain text costs one bit test per byte. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

static npg_status trie_new_node(npg_tok_trie *t, int32_t *node) {
    if (t->n_nodes == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        int32_t *term = realloc(t->term, cap * sizeof *term);
        NPG_CHECK_ALLOC(term);
        t->term = term;
        t->cap = cap;
    }
    t->term[t->n_nodes] = -1;
    *node = (int32_t)t->n_nodes++;
    return NPG_OK;
}

static npg_status trie_insert(npg_tok_trie *t, const char *s, size_t len, int32_t index) {
    int32_t node = 0;
    if (t->n_nodes == 0)
        NPG_TRY(trie_new_node(t, &node));
    t->first[(unsigned char)s[0] >> 3] |= (uint8_t)(1u << ((unsigned char)s[0] & 7));
    for (size_t i = 0; i < len; i++) {
        uint64_t key = ((uint64_t)(uint32_t)node << 8) | (unsigned char)s[i];
        int32_t child;
        if (!npg_tok_pairmap_get(&t->edges, key, NULL, &child)) {
            NPG_TRY(trie_new_node(t, &child));
            NPG_TRY(npg_tok_pairmap_put(&t->edges, key, 0, child));
        }
        node = child;
    }
    t->term[node] = index;
    return NPG_OK;
}

/* The longest token starting at s[0]: its length, and *index; 0 when none. */
static size_t trie_longest(const npg_tok_trie *t, const char *s, size_t len, int32_t *index) {
    int32_t node = 0;
    size_t best = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t child;
        if (!npg_tok_pairmap_get(&t->edges, ((uint64_t)(uint32_t)node << 8) | (unsigned char)s[i], NULL, &child))
            break;
        node = child;
        if (t->term[node] >= 0) {
            best = i + 1;
            *index = t->term[node];
        }
    }
    return best;
}

static void trie_free(npg_tok_trie *t) {
    npg_tok_pairmap_free(&t->edges);
    free(t->term);
    memset(t, 0, sizeof *t);
}

npg_status npg_tok_added_load(npg_tokenizer *tok, const cJSON *list) {
    if (!list || cJSON_IsNull(list))
        return NPG_OK;
    if (!cJSON_IsArray(list))
        return npg_fail(NPG_ERR_FORMAT, "%s: 'added_tokens' must be a list", tok->json_path);
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n == 0)
        return NPG_OK;
    tok->added = calloc(n, sizeof *tok->added);
    NPG_CHECK_ALLOC(tok->added);
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        int64_t id;
        const char *content = npg_json_get_string(it, "content");
        if (!content)
            return npg_fail(NPG_ERR_FORMAT, "%s: added_tokens[%zu] has no string 'content'", tok->json_path,
                            tok->n_added);
        NPG_TRY(npg_json_require_int(it, "id", tok->json_path, &id));
        if (id < 0 || id >= INT32_MAX)
            return npg_fail(NPG_ERR_FORMAT, "%s: added_tokens[%zu] has id %lld out of range", tok->json_path,
                            tok->n_added, (long long)id);
        if (!*content)
            continue; /* tokenizers ignores empty added tokens */
        npg_tok_added *a = &tok->added[tok->n_added];
        a->content = strdup(content);
        NPG_CHECK_ALLOC(a->content);
        tok->n_added++;
        a->len = strlen(content);
        a->id = (int32_t)id;
        npg_json_get_bool(it, "special", &a->special);
        a->normalized = !a->special; /* AddedToken's default */
        npg_json_get_bool(it, "normalized", &a->normalized);
        npg_json_get_bool(it, "lstrip", &a->lstrip);
        npg_json_get_bool(it, "rstrip", &a->rstrip);
        npg_json_get_bool(it, "single_word", &a->single_word);
        /* a repeated content: the later entry's flags win, as in tokenizers' id -> token map */
        NPG_TRY(npg_tok_dict_put(&tok->added_index, a->content, a->len, (int32_t)(tok->n_added - 1)));
    }

    /* The normalized trie matches normalized text, so its patterns are normalized contents. */
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    NPG_CHECK_ALLOC(md);
    npg_strbuf out = {0}, tmp = {0};
    npg_status st = NPG_OK;
    for (size_t i = 0; i < tok->n_added && st == NPG_OK; i++) {
        npg_tok_added *a = &tok->added[i];
        int32_t index;
        npg_tok_dict_get(&tok->added_index, a->content, a->len, &index);
        const npg_tok_added *owner = &tok->added[index];
        if (!owner->normalized) {
            st = trie_insert(&tok->trie_raw, a->content, a->len, index);
            continue;
        }
        st = npg_tok_normalize(tok, md, a->content, a->len, &out, &tmp);
        if (st == NPG_OK && out.len) {
            a->norm = malloc(out.len + 1);
            if (!a->norm) {
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory loading added tokens");
                break;
            }
            memcpy(a->norm, out.data, out.len + 1);
            a->norm_len = out.len;
            st = trie_insert(&tok->trie_norm, a->norm, a->norm_len, index);
            tok->has_norm_added = true;
        }
    }
    npg_strbuf_free(&out);
    npg_strbuf_free(&tmp);
    pcre2_match_data_free(md);
    return st;
}

void npg_tok_added_free(npg_tokenizer *tok) {
    for (size_t i = 0; i < tok->n_added; i++) {
        free(tok->added[i].content);
        free(tok->added[i].norm);
    }
    free(tok->added);
    tok->added = NULL;
    tok->n_added = 0;
    npg_tok_dict_free(&tok->added_index);
    trie_free(&tok->trie_raw);
    trie_free(&tok->trie_norm);
}

/* ---------------------------------------------------------------------------------------------- */

static uint32_t char_before(const char *s, size_t i) {
    size_t k = i - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    uint32_t cp;
    npg_utf8_decode(s + k, i - k, &cp);
    return cp;
}

npg_status npg_tok_added_split(const npg_tokenizer *tok, bool normalized, const char *s, size_t len,
                               npg_tok_pieces *out) {
    const npg_tok_trie *t = normalized ? &tok->trie_norm : &tok->trie_raw;
    size_t start_offset = 0;
    if (t->n_nodes) {
        for (size_t i = 0; i < len;) {
            unsigned char c = (unsigned char)s[i];
            if (!(t->first[c >> 3] & (1u << (c & 7)))) {
                i++;
                continue;
            }
            int32_t index = -1;
            size_t mlen = trie_longest(t, s + i, len - i, &index);
            if (!mlen) {
                i++;
                continue;
            }
            const npg_tok_added *a = &tok->added[index];
            size_t start = i, stop = i + mlen;
            i = stop; /* the matcher resumes after the match, kept or not */
            if (a->single_word) {
                uint32_t cp;
                bool word_before = start > 0 && npg_uni_is_word(char_before(s, start));
                bool word_after = stop < len && (npg_utf8_decode(s + stop, len - stop, &cp), npg_uni_is_word(cp));
                if (word_before || word_after)
                    continue;
            }
            if (a->lstrip) {
                size_t ns = start;
                while (ns > 0 && npg_uni_is_whitespace(char_before(s, ns))) {
                    ns--;
                    while (ns > 0 && ((unsigned char)s[ns] & 0xC0) == 0x80)
                        ns--;
                }
                start = ns > start_offset ? ns : start_offset;
            }
            if (a->rstrip) {
                while (stop < len) {
                    uint32_t cp;
                    size_t cl = npg_utf8_decode(s + stop, len - stop, &cp);
                    if (!npg_uni_is_whitespace(cp))
                        break;
                    stop += cl;
                }
            }
            if (start < start_offset)
                start = start_offset;
            if (start_offset < start)
                NPG_TRY(npg_tok_pieces_push(out, start_offset, start - start_offset, -1));
            NPG_TRY(npg_tok_pieces_push(out, start, stop - start, a->id));
            start_offset = stop;
        }
    }
    if (start_offset < len)
        NPG_TRY(npg_tok_pieces_push(out, start_offset, len - start_offset, -1));
    return NPG_OK;
}
