/* gguf_export_vocab.c — a tokenizer folder written as llama.cpp's tokenizer.ggml.* metadata.
 *
 * A BPE tokenizer with byte_fallback (Llama / SentencePiece style, "▁" for spaces) becomes model
 * "llama": tokens, scores and token types; the score of a token is minus the rank of the first merge
 * that makes it (so merging by highest score — what llama.cpp's SPM tokenizer does — follows the
 * merge order), single characters score 0 and tokens no merge makes score -1e9. Any other BPE becomes
 * model "gpt2" with its merges and a `tokenizer.ggml.pre` named after its pre-tokenizer regex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "models/gguf_export.h"
#include "tokenizer/tok_gguf.h"
#include "tokenizer/tok_internal.h"

enum { T_NORMAL = 1, T_UNKNOWN = 2, T_CONTROL = 3, T_USER = 4, T_UNUSED = 5, T_BYTE = 6 };

typedef struct vocab {
    char **tok; /* [n] (NULL: a gap, written as [PAD<i>]) */
    size_t *len;
    int32_t *type;
    float *score;
    size_t n;
} vocab;

static void vocab_free(vocab *v) {
    for (size_t i = 0; v->tok && i < v->n; i++)
        free(v->tok[i]);
    free(v->tok), free(v->len), free(v->type), free(v->score);
}

static npg_status set_token(vocab *v, int64_t id, const char *s) {
    if (id < 0 || (size_t)id >= v->n)
        return npg_fail(NPG_ERR_FORMAT, "tokenizer.json: token id %lld out of range", (long long)id);
    free(v->tok[id]);
    v->tok[id] = strdup(s);
    NPG_CHECK_ALLOC(v->tok[id]);
    v->len[id] = strlen(s);
    return NPG_OK;
}

static int64_t find_id(const cJSON *vmap, const char *s) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(vmap, s);
    int64_t id;
    return e && npg_json_int_value(e, &id) ? id : -1;
}

/* a merge entry as its two halves: "a b" or ["a", "b"] */
static bool merge_parts(const cJSON *m, char *a, char *b, size_t cap) {
    if (cJSON_IsString(m)) {
        const char *sp = strchr(m->valuestring, ' ');
        if (!sp || (size_t)(sp - m->valuestring) >= cap || strlen(sp + 1) >= cap)
            return false;
        memcpy(a, m->valuestring, (size_t)(sp - m->valuestring));
        a[sp - m->valuestring] = 0;
        snprintf(b, cap, "%s", sp + 1);
        return true;
    }
    if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) && cJSON_IsString(m->child->next) &&
        strlen(m->child->valuestring) < cap && strlen(m->child->next->valuestring) < cap) {
        snprintf(a, cap, "%s", m->child->valuestring);
        snprintf(b, cap, "%s", m->child->next->valuestring);
        return true;
    }
    return false;
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static const cJSON *find_split_regex(const cJSON *pre) {
    if (!pre)
        return NULL;
    const char *type = npg_json_get_string(pre, "type");
    if (type && strcmp(type, "Split") == 0)
        return npg_json_get(npg_json_get(pre, "pattern"), "Regex");
    const cJSON *list = npg_json_get(pre, "pretokenizers"), *it;
    cJSON_ArrayForEach(it, list) {
        const cJSON *r = find_split_regex(it);
        if (r)
            return r;
    }
    return NULL;
}

/* the "single" template of a TemplateProcessing post-processor, alone or inside a Sequence */
static const cJSON *template_single(const cJSON *pp) {
    const char *type = npg_json_get_string(pp, "type");
    if (type && strcmp(type, "TemplateProcessing") == 0)
        return npg_json_get(pp, "single");
    const cJSON *it;
    cJSON_ArrayForEach(it, npg_json_get(pp, "processors")) {
        const cJSON *s = template_single(it);
        if (s)
            return s;
    }
    return NULL;
}

static npg_status put_special(npg_gguf_writer *w, const cJSON *cfg, const cJSON *vmap, const vocab *v, const char *field,
                              const char *key) {
    const cJSON *t = npg_json_get(cfg, field);
    const char *s = cJSON_IsString(t) ? t->valuestring : npg_json_get_string(t, "content");
    if (!s)
        return NPG_OK;
    int64_t id = find_id(vmap, s);
    for (size_t i = 0; id < 0 && i < v->n; i++)
        if (v->tok[i] && strcmp(v->tok[i], s) == 0)
            id = (int64_t)i;
    return id >= 0 ? npg_gguf_put_u32(w, key, (uint32_t)id) : NPG_OK;
}

static npg_status write_vocab(npg_gguf_writer *w, const cJSON *root, const cJSON *cfg, int64_t min_vocab,
                              const char *path) {
    const cJSON *model = npg_json_get(root, "model"), *vmap = npg_json_get(model, "vocab");
    const cJSON *merges = npg_json_get(model, "merges"), *added = npg_json_get(root, "added_tokens"), *e;
    if (!cJSON_IsObject(vmap))
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: GGUF export needs a BPE model with a vocab", path);
    bool spm = false;
    npg_json_get_bool(model, "byte_fallback", &spm);
    int64_t n = min_vocab, id;
    cJSON_ArrayForEach(e, vmap) {
        if (npg_json_int_value(e, &id) && id + 1 > n)
            n = id + 1;
    }
    cJSON_ArrayForEach(e, added) {
        if (npg_json_int_value(npg_json_get(e, "id"), &id) && id + 1 > n)
            n = id + 1;
    }
    if (n > (1 << 24))
        return npg_fail(NPG_ERR_FORMAT, "%s: token id %lld is implausibly large", path, (long long)n - 1);
    vocab v = {.n = (size_t)n};
    v.tok = calloc(v.n, sizeof *v.tok);
    v.len = calloc(v.n, sizeof *v.len);
    v.type = calloc(v.n, sizeof *v.type);
    v.score = calloc(v.n, sizeof *v.score);
    npg_status st = v.tok && v.len && v.type && v.score ? NPG_OK : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    for (e = vmap->child; e && st == NPG_OK; e = e->next)
        if (npg_json_int_value(e, &id)) {
            st = set_token(&v, id, e->string);
            if (st == NPG_OK) {
                unsigned x;
                int used = 0;
                v.type[id] = spm && sscanf(e->string, "<0x%2X>%n", &x, &used) == 1 && used == 6 && !e->string[6] ? T_BYTE
                                                                                                              : T_NORMAL;
                v.score[id] = utf8_chars(e->string) <= 1 ? 0.0f : -1e9f;
            }
        }
    for (e = added ? added->child : NULL; e && st == NPG_OK; e = e->next) {
        const char *content = npg_json_get_string(e, "content");
        bool special = false;
        npg_json_get_bool(e, "special", &special);
        if (content && npg_json_int_value(npg_json_get(e, "id"), &id)) {
            st = set_token(&v, id, content);
            if (st == NPG_OK)
                v.type[id] = special ? T_CONTROL : T_USER; /* a user token keeps its merge score */
        }
    }
    const char *unk = npg_json_get_string(model, "unk_token");
    if (st == NPG_OK && unk && (id = find_id(vmap, unk)) >= 0)
        v.type[id] = T_UNKNOWN;
    char pad[32];
    for (size_t i = 0; i < v.n && st == NPG_OK; i++)
        if (!v.tok[i]) {
            snprintf(pad, sizeof pad, "[PAD%zu]", i);
            st = set_token(&v, (int64_t)i, pad);
            v.type[i] = T_UNUSED;
        }
    /* token → id for the merge lookups (a JSON object lookup is linear: hopeless for 500k merges) */
    npg_tok_dict dict = {0};
    for (size_t i = 0; i < v.n && st == NPG_OK && spm; i++) {
        int32_t prev;
        if (!npg_tok_dict_get(&dict, v.tok[i], v.len[i], &prev))
            st = npg_tok_dict_put(&dict, v.tok[i], v.len[i], (int32_t)i);
    }
    /* merges: ranks into scores (llama), or "a b" strings (gpt2) */
    size_t n_merges = (size_t)cJSON_GetArraySize(merges), k = 0;
    char **ms = calloc(n_merges ? n_merges : 1, sizeof *ms);
    size_t *ml = calloc(n_merges ? n_merges : 1, sizeof *ml);
    if (st == NPG_OK && (!ms || !ml))
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    for (e = merges ? merges->child : NULL; e && st == NPG_OK; e = e->next, k++) {
        char pa[512], pb[512], joined[1024];
        if (!merge_parts(e, pa, pb, sizeof pa)) {
            st = npg_fail(NPG_ERR_FORMAT, "%s: merge %zu is not \"a b\" or [a, b]", path, k);
            break;
        }
        if (spm) {
            snprintf(joined, sizeof joined, "%s%s", pa, pb);
            int32_t t;
            if (npg_tok_dict_get(&dict, joined, strlen(joined), &t) && v.score[t] < -(float)k)
                v.score[t] = -(float)k;
        } else {
            size_t la = strlen(pa), lb = strlen(pb);
            ms[k] = malloc(la + lb + 2);
            if (!ms[k]) {
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            memcpy(ms[k], pa, la);
            ms[k][la] = ' ';
            memcpy(ms[k] + la + 1, pb, lb + 1);
            ml[k] = la + lb + 1;
        }
    }
    if (st == NPG_OK)
        st = npg_gguf_put_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
    if (st == NPG_OK && !spm) {
        const cJSON *rx = find_split_regex(npg_json_get(root, "pre_tokenizer"));
        const char *pre = npg_tok_gguf_pre_name(cJSON_IsString(rx) ? rx->valuestring : NULL);
        if (!pre)
            st = npg_fail(NPG_ERR_UNSUPPORTED, "%s: pre-tokenizer regex has no llama.cpp name", path);
        else
            st = npg_gguf_put_str(w, "tokenizer.ggml.pre", pre);
    }
    if (st == NPG_OK && spm) {
        const cJSON *norm = npg_json_get(root, "normalizer");
        char *txt = norm ? cJSON_PrintUnformatted(norm) : NULL;
        bool add_space = txt && strstr(txt, "\"Prepend\"") != NULL;
        free(txt);
        st = npg_gguf_put_bool(w, "tokenizer.ggml.add_space_prefix", add_space);
    }
    if (st == NPG_OK)
        st = npg_gguf_put_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.tok, v.len, v.n);
    if (st == NPG_OK && spm)
        st = npg_gguf_put_arr_f32(w, "tokenizer.ggml.scores", v.score, v.n);
    if (st == NPG_OK)
        st = npg_gguf_put_arr_i32(w, "tokenizer.ggml.token_type", v.type, v.n);
    if (st == NPG_OK && !spm)
        st = npg_gguf_put_arr_str(w, "tokenizer.ggml.merges", (const char *const *)ms, ml, k);
    if (st == NPG_OK)
        st = put_special(w, cfg, vmap, &v, "bos_token", "tokenizer.ggml.bos_token_id");
    if (st == NPG_OK)
        st = put_special(w, cfg, vmap, &v, "eos_token", "tokenizer.ggml.eos_token_id");
    if (st == NPG_OK)
        st = put_special(w, cfg, vmap, &v, "pad_token", "tokenizer.ggml.padding_token_id");
    if (st == NPG_OK && unk && (id = find_id(vmap, unk)) >= 0)
        st = npg_gguf_put_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)id);
    /* add_bos / add_eos: what the post-processor does (the one tokenizers runs), else the config's flags */
    bool add_bos = false, add_eos = false;
    const cJSON *single = template_single(npg_json_get(root, "post_processor"));
    if (single) {
        const cJSON *first = cJSON_GetArrayItem(single, 0), *last = cJSON_GetArrayItem(single, cJSON_GetArraySize(single) - 1);
        add_bos = npg_json_get(first, "SpecialToken") != NULL;
        add_eos = cJSON_GetArraySize(single) > 1 && npg_json_get(last, "SpecialToken") != NULL;
    } else {
        npg_json_get_bool(cfg, "add_bos_token", &add_bos);
        npg_json_get_bool(cfg, "add_eos_token", &add_eos);
    }
    if (st == NPG_OK)
        st = npg_gguf_put_bool(w, "tokenizer.ggml.add_bos_token", add_bos);
    if (st == NPG_OK)
        st = npg_gguf_put_bool(w, "tokenizer.ggml.add_eos_token", add_eos);
    const char *tmpl = npg_json_get_string(cfg, "chat_template");
    if (st == NPG_OK && tmpl)
        st = npg_gguf_put_str(w, "tokenizer.chat_template", tmpl);
    npg_tok_dict_free(&dict);
    for (size_t i = 0; i < k; i++)
        free(ms[i]);
    free(ms), free(ml);
    vocab_free(&v);
    return st;
}

npg_status npg_gguf_export_vocab(npg_gguf_writer *w, const char *dir, int64_t min_vocab) {
    char *tj = npg_path_join(dir, "tokenizer.json"), *tc = npg_path_join(dir, "tokenizer_config.json");
    cJSON *root = NULL, *cfg = NULL;
    npg_status st = tj && tc ? npg_json_parse_file(tj, &root) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK && npg_path_exists(tc))
        st = npg_json_parse_file(tc, &cfg);
    if (st == NPG_OK)
        st = write_vocab(w, root, cfg, min_vocab, tj);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    free(tj), free(tc);
    return st;
}
