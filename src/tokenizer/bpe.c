/* bpe.c — the BPE model: vocabulary and merge table loading, and word tokenization.
 *
 * A word starts as one symbol per character (looked up in the vocab; unknown characters become
 * their "<0xXX>" byte tokens with byte_fallback, else the unk token, fused when fuse_unk). Then the
 * merges apply lowest rank first, leftmost first among equal ranks, exactly as tokenizers'
 * Word::merge_all:
 *
 *   symbols: a doubly linked list over an array (merged-away symbols are marked dead);
 *   heap:    candidate pairs (rank, left position, merged id), a binary min-heap on (rank, pos).
 *
 * A popped candidate is stale when its left symbol died, has no right neighbour any more, or the
 * pair now there no longer merges into the same id; stale entries are skipped. Each merge pushes at
 * most two new candidates, so a word of n characters costs O(n log n), not O(n^2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

static npg_status dup_opt_string(const cJSON *model, const char *key, char **out, size_t *len) {
    const char *s = npg_json_get_string(model, key);
    *out = NULL;
    *len = 0;
    if (s && *s) {
        *out = strdup(s);
        NPG_CHECK_ALLOC(*out);
        *len = strlen(s);
    }
    return NPG_OK;
}

static npg_status load_vocab(npg_tokenizer *tok, const cJSON *vocab) {
    if (!cJSON_IsObject(vocab))
        return npg_fail(NPG_ERR_FORMAT, "%s: model.vocab must be an object of token -> id", tok->json_path);
    size_t n = 0, bytes = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        n++;
        bytes += strlen(it->string) + 1;
    }
    NPG_TRY(npg_tok_dict_reserve(&tok->bpe.vocab, n, bytes));
    cJSON_ArrayForEach(it, vocab) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || v < 0 || v > INT32_MAX - 1 || v != (double)(int32_t)v)
            return npg_fail(NPG_ERR_FORMAT, "%s: model.vocab['%s'] must be a non-negative integer id",
                            tok->json_path, it->string);
        NPG_TRY(npg_tok_dict_put(&tok->bpe.vocab, it->string, strlen(it->string), (int32_t)v));
    }
    return NPG_OK;
}

npg_status npg_tok_bpe_add_merge(npg_tokenizer *tok, size_t rank, const char *a, size_t a_len, const char *b, size_t b_len,
                            npg_strbuf *tmp) {
    npg_tok_bpe *bpe = &tok->bpe;
    int32_t ia, ib, im;
    if (!npg_tok_dict_get(&bpe->vocab, a, a_len, &ia))
        return npg_fail(NPG_ERR_FORMAT, "%s: merge %zu uses '%.*s', which is not in the vocab", tok->json_path, rank,
                        (int)a_len, a);
    if (!npg_tok_dict_get(&bpe->vocab, b, b_len, &ib))
        return npg_fail(NPG_ERR_FORMAT, "%s: merge %zu uses '%.*s', which is not in the vocab", tok->json_path, rank,
                        (int)b_len, b);
    size_t skip = bpe->cont_prefix_len;
    if (skip > b_len || (skip && memcmp(b, bpe->cont_prefix, skip) != 0))
        skip = 0;
    npg_strbuf_clear(tmp);
    NPG_TRY(npg_strbuf_append(tmp, a, a_len));
    NPG_TRY(npg_strbuf_append(tmp, b + skip, b_len - skip));
    if (!npg_tok_dict_get(&bpe->vocab, tmp->data, tmp->len, &im))
        return npg_fail(NPG_ERR_FORMAT, "%s: merge %zu gives '%s', which is not in the vocab", tok->json_path, rank,
                        tmp->data);
    return npg_tok_pairmap_put(&bpe->merges, ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib, (uint32_t)rank, im);
}

static npg_status load_merges(npg_tokenizer *tok, const cJSON *merges) {
    if (!merges)
        return NPG_OK;
    if (!cJSON_IsArray(merges))
        return npg_fail(NPG_ERR_FORMAT, "%s: model.merges must be a list", tok->json_path);
    NPG_TRY(npg_tok_pairmap_reserve(&tok->bpe.merges, (size_t)cJSON_GetArraySize(merges)));
    npg_strbuf tmp = {0};
    npg_status st = NPG_OK;
    size_t rank = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        if (cJSON_IsString(m)) {
            /* legacy "a b": exactly one space; "#version" lines are comments */
            const char *s = m->valuestring;
            if (strncmp(s, "#version", 8) == 0)
                continue;
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                st = npg_fail(NPG_ERR_FORMAT, "%s: merge %zu ('%s') must be two tokens separated by one space",
                              tok->json_path, rank, s);
                break;
            }
            st = npg_tok_bpe_add_merge(tok, rank, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), &tmp);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            const char *a = m->child->valuestring, *b = m->child->next->valuestring;
            st = npg_tok_bpe_add_merge(tok, rank, a, strlen(a), b, strlen(b), &tmp);
        } else {
            st = npg_fail(NPG_ERR_FORMAT, "%s: merge %zu must be \"a b\" or [\"a\", \"b\"]", tok->json_path, rank);
        }
        if (st != NPG_OK)
            break;
        rank++;
    }
    npg_strbuf_free(&tmp);
    return st;
}

npg_status npg_tok_bpe_load(npg_tokenizer *tok, const cJSON *model) {
    npg_tok_bpe *bpe = &tok->bpe;
    bpe->unk_id = -1;
    for (int b = 0; b < 256; b++)
        bpe->byte_ids[b] = -1;
    if (!cJSON_IsObject(model))
        return npg_fail(NPG_ERR_FORMAT, "%s: missing object 'model'", tok->json_path);
    const char *type = npg_json_get_string(model, "type");
    /* files written by old versions have no "type"; a BPE model is the one with merges */
    if (type ? strcmp(type, "BPE") != 0 : !npg_json_get(model, "merges"))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: model type '%s' is not supported (npugen implements BPE)",
                        tok->json_path, type ? type : "(none)");
    if (!bpe->preloaded) /* else tok_json_scan.c read it, with vocab and merges */
        NPG_TRY(dup_opt_string(model, "continuing_subword_prefix", &bpe->cont_prefix, &bpe->cont_prefix_len));
    NPG_TRY(dup_opt_string(model, "end_of_word_suffix", &bpe->eow_suffix, &bpe->eow_suffix_len));
    npg_json_get_bool(model, "byte_fallback", &bpe->byte_fallback);
    npg_json_get_bool(model, "fuse_unk", &bpe->fuse_unk);
    npg_json_get_bool(model, "ignore_merges", &bpe->ignore_merges);
    if (!bpe->preloaded) {
        NPG_TRY(load_vocab(tok, npg_json_get(model, "vocab")));
        NPG_TRY(load_merges(tok, npg_json_get(model, "merges")));
    }
    const char *unk = npg_json_get_string(model, "unk_token");
    if (unk && !npg_tok_dict_get(&bpe->vocab, unk, strlen(unk), &bpe->unk_id))
        bpe->unk_id = -1; /* tokenizers fails only when the unk token is needed; we drop the char then */
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        if (!npg_tok_dict_get(&bpe->vocab, name, 6, &bpe->byte_ids[b]))
            bpe->byte_ids[b] = -1;
    }
    return NPG_OK;
}

void npg_tok_bpe_free(npg_tok_bpe *bpe) {
    npg_tok_dict_free(&bpe->vocab);
    npg_tok_pairmap_free(&bpe->merges);
    free(bpe->cont_prefix);
    free(bpe->eow_suffix);
    memset(bpe, 0, sizeof *bpe);
}

/* ---------------------------------------------------------------------------------------------- */

static bool cand_less(const npg_tok_merge_cand *x, const npg_tok_merge_cand *y) {
    return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

static npg_status heap_push(npg_tok_encoder *e, size_t *n, npg_tok_merge_cand c) {
    if (*n == e->heap_cap) {
        size_t cap = e->heap_cap ? 2 * e->heap_cap : 64;
        npg_tok_merge_cand *h = realloc(e->heap, cap * sizeof *h);
        NPG_CHECK_ALLOC(h);
        e->heap = h;
        e->heap_cap = cap;
    }
    npg_tok_merge_cand *h = e->heap;
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_less(&c, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = c;
    return NPG_OK;
}

static npg_tok_merge_cand heap_pop(npg_tok_merge_cand *h, size_t *n) {
    npg_tok_merge_cand top = h[0];
    npg_tok_merge_cand last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= *n)
            break;
        size_t m = (l + 1 < *n && cand_less(&h[l + 1], &h[l])) ? l + 1 : l;
        if (!cand_less(&h[m], &last))
            break;
        h[i] = h[m];
        i = m;
    }
    if (*n)
        h[i] = last;
    return top;
}

static npg_status push_sym(npg_tok_encoder *e, size_t *n, int32_t id) {
    if (*n == e->syms_cap) {
        size_t cap = e->syms_cap ? 2 * e->syms_cap : 64;
        npg_tok_sym *s = realloc(e->syms, cap * sizeof *s);
        NPG_CHECK_ALLOC(s);
        e->syms = s;
        e->syms_cap = cap;
    }
    e->syms[*n].id = id;
    (*n)++;
    return NPG_OK;
}

static bool merge_of(const npg_tok_bpe *bpe, int32_t a, int32_t b, uint32_t *rank, int32_t *new_id) {
    return npg_tok_pairmap_get(&bpe->merges, ((uint64_t)(uint32_t)a << 32) | (uint32_t)b, rank, new_id);
}

/* The initial symbols of a word (tokenizers' BPE::merge_word before merge_all). */
static npg_status initial_symbols(const npg_tokenizer *tok, npg_tok_encoder *e, const char *w, size_t len, size_t *n) {
    const npg_tok_bpe *bpe = &tok->bpe;
    int32_t unk = -1; /* a pending unk symbol */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t cl = npg_utf8_decode(w + i, len - i, &cp);
        const char *s = w + i;
        size_t s_len = cl;
        bool first = i == 0, last = i + cl == len;
        if ((bpe->cont_prefix && !first) || (bpe->eow_suffix && last)) {
            npg_strbuf_clear(&e->word_tmp);
            if (bpe->cont_prefix && !first)
                NPG_TRY(npg_strbuf_append(&e->word_tmp, bpe->cont_prefix, bpe->cont_prefix_len));
            NPG_TRY(npg_strbuf_append(&e->word_tmp, s, cl));
            if (bpe->eow_suffix && last)
                NPG_TRY(npg_strbuf_append(&e->word_tmp, bpe->eow_suffix, bpe->eow_suffix_len));
            s = e->word_tmp.data;
            s_len = e->word_tmp.len;
        }
        i += cl;
        int32_t id;
        if (npg_tok_dict_get(&bpe->vocab, s, s_len, &id)) {
            if (unk >= 0) {
                NPG_TRY(push_sym(e, n, unk));
                unk = -1;
            }
            NPG_TRY(push_sym(e, n, id));
            continue;
        }
        if (bpe->byte_fallback) {
            bool all = true;
            for (size_t j = 0; j < s_len; j++)
                all = all && bpe->byte_ids[(unsigned char)s[j]] >= 0;
            if (all) {
                /* as in tokenizers, a pending unk stays pending across byte tokens */
                for (size_t j = 0; j < s_len; j++)
                    NPG_TRY(push_sym(e, n, bpe->byte_ids[(unsigned char)s[j]]));
                continue;
            }
        }
        if (bpe->unk_id >= 0) {
            if (unk >= 0 && !bpe->fuse_unk)
                NPG_TRY(push_sym(e, n, unk));
            unk = bpe->unk_id;
        }
        /* no unk token: the character is dropped, as tokenizers does */
    }
    if (unk >= 0)
        NPG_TRY(push_sym(e, n, unk));
    return NPG_OK;
}

npg_status npg_tok_bpe_word(const npg_tokenizer *tok, npg_tok_encoder *e, const char *w, size_t len) {
    const npg_tok_bpe *bpe = &tok->bpe;
    int32_t id;
    if (bpe->ignore_merges && npg_tok_dict_get(&bpe->vocab, w, len, &id))
        return npg_tok_encoder_push_id(e, id);

    size_t n = 0;
    NPG_TRY(initial_symbols(tok, e, w, len, &n));
    if (n == 0)
        return NPG_OK;
    npg_tok_sym *sy = e->syms;
    for (size_t i = 0; i < n; i++) {
        sy[i].prev = (int32_t)i - 1;
        sy[i].next = (i + 1 < n) ? (int32_t)i + 1 : -1;
        sy[i].alive = true;
    }
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        npg_tok_merge_cand c = {.pos = (uint32_t)i};
        if (merge_of(bpe, sy[i].id, sy[i + 1].id, &c.rank, &c.new_id))
            NPG_TRY(heap_push(e, &hn, c));
    }
    while (hn) {
        npg_tok_merge_cand top = heap_pop(e->heap, &hn);
        npg_tok_sym *cur = &sy[top.pos];
        if (!cur->alive || cur->next < 0)
            continue;
        npg_tok_sym *right = &sy[cur->next];
        uint32_t rank;
        int32_t new_id;
        if (!merge_of(bpe, cur->id, right->id, &rank, &new_id) || new_id != top.new_id)
            continue; /* stale */
        cur->id = new_id;
        right->alive = false;
        cur->next = right->next;
        if (cur->next >= 0)
            sy[cur->next].prev = (int32_t)top.pos;
        npg_tok_merge_cand c;
        if (cur->prev >= 0 && merge_of(bpe, sy[cur->prev].id, cur->id, &c.rank, &c.new_id)) {
            c.pos = (uint32_t)cur->prev;
            NPG_TRY(heap_push(e, &hn, c));
        }
        if (cur->next >= 0 && merge_of(bpe, cur->id, sy[cur->next].id, &c.rank, &c.new_id)) {
            c.pos = top.pos;
            NPG_TRY(heap_push(e, &hn, c));
        }
    }
    /* symbol 0 never dies (merges only remove the right symbol) */
    for (int32_t i = 0; i >= 0; i = sy[i].next)
        NPG_TRY(npg_tok_encoder_push_id(e, sy[i].id));
    return NPG_OK;
}
