/* encode.c — text -> ids: the encode pipeline (see tok_internal.h) and the post-processor.
 *
 * The post-processors of single sequences reduce to ids put before and after the sequence:
 * TemplateProcessing's "single" template, RobertaProcessing / BertProcessing (cls ... sep), and
 * ByteLevel (offsets only, no ids). A Sequence of them nests: each later one wraps the result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

npg_status npg_tok_encoder_push_id(npg_tok_encoder *e, int32_t id) {
    if (e->n_ids == e->cap_ids) {
        size_t cap = e->cap_ids ? 2 * e->cap_ids : 64;
        int32_t *v = realloc(e->ids, cap * sizeof *v);
        NPG_CHECK_ALLOC(v);
        e->ids = v;
        e->cap_ids = cap;
    }
    e->ids[e->n_ids++] = id;
    return NPG_OK;
}

static void encoder_free(npg_tok_encoder *e) {
    if (e->md)
        pcre2_match_data_free(e->md);
    npg_strbuf_free(&e->norm);
    npg_strbuf_free(&e->norm_tmp);
    free(e->raw_pieces.v);
    free(e->norm_pieces.v);
    for (size_t i = 0; i < NPG_TOK_MAX_STEPS; i++) {
        npg_strbuf_free(&e->level_a[i]);
        npg_strbuf_free(&e->level_b[i]);
        free(e->level_pieces[i].v);
    }
    free(e->matches.v);
    free(e->split_tmp.v);
    free(e->syms);
    free(e->heap);
    npg_strbuf_free(&e->word_tmp);
    free(e->ids);
}

static npg_status push_ids(npg_tok_encoder *e, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        NPG_TRY(npg_tok_encoder_push_id(e, ids[i]));
    return NPG_OK;
}

static npg_status encode_text(const npg_tokenizer *tok, npg_tok_encoder *e, const char *text, size_t len) {
    NPG_TRY(npg_tok_added_split(tok, false, text, len, &e->raw_pieces));
    for (size_t i = 0; i < e->raw_pieces.n; i++) {
        const npg_tok_piece *rp = &e->raw_pieces.v[i];
        if (rp->id >= 0) {
            NPG_TRY(npg_tok_encoder_push_id(e, rp->id));
            continue;
        }
        NPG_TRY(npg_tok_normalize(tok, e->md, text + rp->off, rp->len, &e->norm, &e->norm_tmp));
        e->norm_pieces.n = 0;
        if (tok->has_norm_added)
            NPG_TRY(npg_tok_added_split(tok, true, e->norm.data, e->norm.len, &e->norm_pieces));
        else if (e->norm.len)
            NPG_TRY(npg_tok_pieces_push(&e->norm_pieces, 0, e->norm.len, -1));
        for (size_t j = 0; j < e->norm_pieces.n; j++) {
            const npg_tok_piece *np = &e->norm_pieces.v[j];
            if (np->id >= 0)
                NPG_TRY(npg_tok_encoder_push_id(e, np->id));
            else
                NPG_TRY(npg_tok_pretokenize(tok, e, 0, e->norm.data + np->off, np->len, rp->off == 0 && np->off == 0));
        }
    }
    return NPG_OK;
}

npg_status npg_tokenizer_encode_n(const npg_tokenizer *tok, const char *text, size_t len, bool add_special_tokens,
                                  int32_t **ids, size_t *n_ids) {
    if (!tok || (!text && len) || !ids || !n_ids)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_tokenizer_encode: tok, text, ids and n_ids must not be NULL");
    size_t valid = npg_utf8_valid_prefix(text, len);
    if (valid != len)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_tokenizer_encode: text is not valid UTF-8 (byte %zu of %zu)",
                        valid, len);
    npg_tok_encoder e;
    memset(&e, 0, sizeof e);
    e.md = pcre2_match_data_create(1, NULL);
    npg_status st = e.md ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory in npg_tokenizer_encode");
    if (st == NPG_OK && add_special_tokens)
        st = push_ids(&e, tok->post_prefix, tok->n_post_prefix);
    if (st == NPG_OK && len)
        st = encode_text(tok, &e, text, len);
    if (st == NPG_OK && add_special_tokens)
        st = push_ids(&e, tok->post_suffix, tok->n_post_suffix);
    if (st == NPG_OK && e.n_ids == 0)
        st = npg_tok_encoder_push_id(&e, 0); /* a valid allocation for "no ids"; the count says 0 */
    if (st == NPG_OK) {
        size_t n = (e.n_ids == 1 && !add_special_tokens && !len) ? 0 : e.n_ids;
        if (add_special_tokens && !len && tok->n_post_prefix + tok->n_post_suffix == 0)
            n = 0;
        *ids = e.ids;
        *n_ids = n;
        e.ids = NULL;
    }
    encoder_free(&e);
    return st;
}

npg_status npg_tokenizer_encode(const npg_tokenizer *tok, const char *text, bool add_special_tokens, int32_t **ids,
                                size_t *n_ids) {
    if (!text)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_tokenizer_encode: text must not be NULL");
    return npg_tokenizer_encode_n(tok, text, strlen(text), add_special_tokens, ids, n_ids);
}

/* ---------------------------------------------------------------------------------------------- */
/* Post-processor                                                                                 */

static npg_status append_ids(int32_t **v, size_t *n, const int32_t *add, size_t n_add, bool front) {
    if (n_add == 0)
        return NPG_OK;
    int32_t *p = realloc(*v, (*n + n_add) * sizeof *p);
    NPG_CHECK_ALLOC(p);
    if (front) {
        memmove(p + n_add, p, *n * sizeof *p);
        memcpy(p, add, n_add * sizeof *p);
    } else {
        memcpy(p + *n, add, n_add * sizeof *p);
    }
    *v = p;
    *n += n_add;
    return NPG_OK;
}

static npg_status template_ids(const npg_tokenizer *tok, const cJSON *specials, const char *name, int32_t **ids,
                               size_t *n) {
    const cJSON *sp = npg_json_get(specials, name);
    const cJSON *list = npg_json_get(sp, "ids");
    if (!cJSON_IsArray(list))
        return npg_fail(NPG_ERR_FORMAT, "%s: post_processor.special_tokens['%s'] has no 'ids' list", tok->json_path,
                        name);
    const cJSON *it;
    size_t k = 0;
    *ids = malloc(((size_t)cJSON_GetArraySize(list) + 1) * sizeof **ids);
    NPG_CHECK_ALLOC(*ids);
    cJSON_ArrayForEach(it, list) {
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble < INT32_MAX) ||
            it->valuedouble != floor(it->valuedouble)) {
            free(*ids);
            *ids = NULL; /* the caller frees *ids too: one owner, no double free */
            return npg_fail(NPG_ERR_FORMAT, "%s: post_processor.special_tokens['%s'].ids must hold ids",
                            tok->json_path, name);
        }
        (*ids)[k++] = (int32_t)it->valuedouble;
    }
    *n = k;
    return NPG_OK;
}

/* Wraps the current (prefix, suffix) with one processor. */
static npg_status add_post(npg_tokenizer *tok, const cJSON *node) {
    if (!node || cJSON_IsNull(node))
        return NPG_OK;
    const char *type = npg_json_get_string(node, "type");
    if (!type)
        return npg_fail(NPG_ERR_FORMAT, "%s: post_processor has no \"type\"", tok->json_path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = npg_json_get(node, "processors");
        if (!cJSON_IsArray(list))
            return npg_fail(NPG_ERR_FORMAT, "%s: post_processor.processors must be a list", tok->json_path);
        const cJSON *child;
        cJSON_ArrayForEach(child, list) NPG_TRY(add_post(tok, child));
        return NPG_OK;
    }
    if (strcmp(type, "ByteLevel") == 0)
        return NPG_OK; /* trims offsets; adds no ids */
    if (strcmp(type, "RobertaProcessing") == 0 || strcmp(type, "BertProcessing") == 0) {
        const cJSON *cls = npg_json_get(node, "cls"), *sep = npg_json_get(node, "sep");
        if (!cJSON_IsArray(cls) || !cJSON_IsArray(sep) || cJSON_GetArraySize(cls) != 2 ||
            cJSON_GetArraySize(sep) != 2 || !cJSON_IsNumber(cls->child->next) || !cJSON_IsNumber(sep->child->next) ||
            !(cls->child->next->valuedouble >= 0 && cls->child->next->valuedouble < INT32_MAX) ||
            !(sep->child->next->valuedouble >= 0 && sep->child->next->valuedouble < INT32_MAX))
            return npg_fail(NPG_ERR_FORMAT, "%s: %s needs 'cls' and 'sep' as [token, id]", tok->json_path, type);
        int32_t c = (int32_t)cls->child->next->valuedouble, s = (int32_t)sep->child->next->valuedouble;
        NPG_TRY(append_ids(&tok->post_prefix, &tok->n_post_prefix, &c, 1, true));
        return append_ids(&tok->post_suffix, &tok->n_post_suffix, &s, 1, false);
    }
    if (strcmp(type, "TemplateProcessing") != 0)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: post-processor type '%s' is not supported", tok->json_path, type);
    const cJSON *single = npg_json_get(node, "single");
    const cJSON *specials = npg_json_get(node, "special_tokens");
    if (!cJSON_IsArray(single))
        return npg_fail(NPG_ERR_FORMAT, "%s: TemplateProcessing needs a 'single' template list", tok->json_path);
    int32_t *pre = NULL, *suf = NULL;
    size_t n_pre = 0, n_suf = 0;
    bool after = false;
    npg_status st = NPG_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, single) {
        const cJSON *sp = npg_json_get(item, "SpecialToken");
        if (npg_json_get(item, "Sequence")) {
            after = true;
            continue;
        }
        const char *name = npg_json_get_string(sp, "id");
        if (!name) {
            st = npg_fail(NPG_ERR_FORMAT, "%s: TemplateProcessing items must be SpecialToken or Sequence",
                          tok->json_path);
            break;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        st = template_ids(tok, specials, name, &ids, &n);
        if (st == NPG_OK)
            st = after ? append_ids(&suf, &n_suf, ids, n, false) : append_ids(&pre, &n_pre, ids, n, false);
        free(ids);
        if (st != NPG_OK)
            break;
    }
    if (st == NPG_OK)
        st = append_ids(&tok->post_prefix, &tok->n_post_prefix, pre, n_pre, true);
    if (st == NPG_OK)
        st = append_ids(&tok->post_suffix, &tok->n_post_suffix, suf, n_suf, false);
    free(pre);
    free(suf);
    return st;
}

npg_status npg_tok_post_load(npg_tokenizer *tok, const cJSON *post) { return add_post(tok, post); }
