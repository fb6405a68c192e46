/* tok_gguf.c — tokenizer.json from GGUF tokenizer metadata (tok_gguf.h).
 *
 * SentencePiece ("llama") vocabularies carry scores, not merges. The BPE merges are rebuilt from them
 * as transformers' SentencePiece converter does: for every normal (or user-defined) token, every split
 * into two such tokens is a merge, ranked by the token's score (highest first; ties by token id, then left id). So
 * merging the lowest rank first (npugen's BPE) merges the pair whose result scores highest — llama.cpp's
 * SPM rule — and an HF tokenizer converted from the same model gives the same ids. */
#include "tokenizer/tok_gguf.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

enum { T_NORMAL = 1, T_UNKNOWN = 2, T_CONTROL = 3, T_USER = 4, T_UNUSED = 5, T_BYTE = 6 };

static const struct {
    const char *name;
    const char *regex; /* NULL: ByteLevel's own GPT-2 regex */
    bool nfc, ignore_merges;
} pre_table[] = {
    {"gpt2", NULL, false, false},
    {"default", NULL, false, false},
    {"qwen2",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     true, false},
    {"llama-bpe",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     false, true},
    {"llama3",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     false, true},
    {"tekken",
     "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}"
     "\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     false, false},
};

const char *npg_tok_gguf_pre_name(const char *regex) {
    for (size_t i = 0; i < sizeof pre_table / sizeof pre_table[0]; i++)
        if (regex ? pre_table[i].regex && strcmp(regex, pre_table[i].regex) == 0 : !pre_table[i].regex)
            return pre_table[i].name;
    return NULL;
}

typedef struct gvocab {
    const npg_gguf *g;
    const npg_gguf_kv *tokens, *types, *scores;
    size_t n;
    npg_tok_dict dict; /* token → first id */
} gvocab;

static int32_t type_of(const gvocab *v, size_t i) {
    int64_t t = T_NORMAL;
    if (v->types && !npg_gguf_arr_int(v->types, i, &t))
        t = T_NORMAL;
    return (int32_t)t;
}

static float score_of(const gvocab *v, size_t i) {
    float s = 0.0f;
    if (v->scores && !npg_gguf_arr_float(v->scores, i, &s))
        s = 0.0f;
    return s;
}

static cJSON *str_node(npg_gguf_str s) {
    char *tmp = malloc((size_t)s.len + 1);
    if (!tmp)
        return NULL;
    memcpy(tmp, s.p, (size_t)s.len);
    tmp[s.len] = 0;
    cJSON *n = cJSON_CreateString(tmp);
    free(tmp);
    return n;
}

typedef struct merge {
    float score;
    int32_t id, left, right;
} merge;

static int cmp_merge(const void *a, const void *b) {
    const merge *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->left > y->left) - (x->left < y->left);
}

/* Normal and user-defined tokens take part in merges (a user-defined "▁▁" is a vocabulary entry that
 * transformers' BPE reaches by merging); control, byte and unused ones do not. */
static bool mergeable(int32_t t) { return t == T_NORMAL || t == T_USER; }

/* merges from scores (see the top of the file) as [a, b] pairs */
static npg_status spm_merges(const gvocab *v, cJSON *list) {
    size_t cap = 1024, n = 0;
    merge *ms = malloc(cap * sizeof *ms);
    NPG_CHECK_ALLOC(ms);
    npg_status st = NPG_OK;
    for (size_t i = 0; i < v->n && st == NPG_OK; i++) {
        if (!mergeable(type_of(v, i)))
            continue;
        npg_gguf_str s = npg_gguf_arr_str(v->tokens, i);
        for (uint64_t cut = 1; cut < s.len && st == NPG_OK; cut++) {
            if (((unsigned char)s.p[cut] & 0xC0) == 0x80)
                continue; /* inside a character */
            int32_t l, r;
            if (!npg_tok_dict_get(&v->dict, s.p, (size_t)cut, &l) || !npg_tok_dict_get(&v->dict, s.p + cut, (size_t)(s.len - cut), &r))
                continue;
            if (!mergeable(type_of(v, (size_t)l)) || !mergeable(type_of(v, (size_t)r)))
                continue;
            if (n == cap) {
                merge *p = realloc(ms, 2 * cap * sizeof *ms);
                if (!p) {
                    st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
                    break;
                }
                ms = p, cap *= 2;
            }
            ms[n++] = (merge){score_of(v, i), (int32_t)i, l, r};
        }
    }
    if (st == NPG_OK)
        qsort(ms, n, sizeof *ms, cmp_merge);
    for (size_t i = 0; i < n && st == NPG_OK; i++) {
        cJSON *pair = cJSON_CreateArray();
        if (!pair || !cJSON_AddItemToArray(list, pair) ||
            !cJSON_AddItemToArray(pair, str_node(npg_gguf_arr_str(v->tokens, (size_t)ms[i].left))) ||
            !cJSON_AddItemToArray(pair, str_node(npg_gguf_arr_str(v->tokens, (size_t)ms[i].right))))
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    free(ms);
    return st;
}

static npg_status bpe_merges(const npg_gguf *g, cJSON *list) {
    const npg_gguf_kv *m = npg_gguf_find(g, "tokenizer.ggml.merges");
    if (!m || m->type != NPG_GGUF_ARRAY || m->arr_type != NPG_GGUF_STRING)
        return npg_fail(NPG_ERR_FORMAT, "%s: tokenizer.ggml.merges is missing or not a list of strings", g->path);
    for (uint64_t i = 0; i < m->arr_n; i++) {
        npg_gguf_str s = npg_gguf_arr_str(m, i);
        const char *sp = memchr(s.p, ' ', (size_t)s.len);
        if (!sp)
            return npg_fail(NPG_ERR_FORMAT, "%s: merge %llu has no space", g->path, (unsigned long long)i);
        npg_gguf_str a = {s.p, (uint64_t)(sp - s.p)}, b = {sp + 1, s.len - a.len - 1};
        cJSON *pair = cJSON_CreateArray();
        if (!pair || !cJSON_AddItemToArray(list, pair) || !cJSON_AddItemToArray(pair, str_node(a)) ||
            !cJSON_AddItemToArray(pair, str_node(b)))
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return NPG_OK;
}

static cJSON *parse_const(const char *json) { return cJSON_Parse(json); }

static npg_status add_obj(cJSON *root, const char *key, const char *json) {
    cJSON *o = parse_const(json);
    NPG_CHECK_ALLOC(o && cJSON_AddItemToObject(root, key, o));
    return NPG_OK;
}

static npg_status post_processor(const npg_gguf *g, const gvocab *v, cJSON *root, bool spm) {
    bool add_bos = spm, add_eos = false;
    npg_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    npg_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &add_eos);
    int64_t bos = -1, eos = -1;
    npg_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &bos);
    npg_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos);
    add_bos = add_bos && bos >= 0 && (size_t)bos < v->n;
    add_eos = add_eos && eos >= 0 && (size_t)eos < v->n;
    if (!add_bos && !add_eos)
        return NPG_OK;
    cJSON *pp = cJSON_AddObjectToObject(root, "post_processor"), *single = NULL, *specials = NULL;
    NPG_CHECK_ALLOC(pp && cJSON_AddStringToObject(pp, "type", "TemplateProcessing"));
    single = cJSON_AddArrayToObject(pp, "single");
    specials = cJSON_AddObjectToObject(pp, "special_tokens");
    NPG_CHECK_ALLOC(single && specials && cJSON_AddArrayToObject(pp, "pair"));
    for (int part = 0; part < 3; part++) {
        int64_t id = part == 0 ? (add_bos ? bos : -1) : part == 2 ? (add_eos ? eos : -1) : -2;
        if (id == -1)
            continue;
        cJSON *item = cJSON_CreateObject();
        NPG_CHECK_ALLOC(item && cJSON_AddItemToArray(single, item));
        if (id == -2) {
            cJSON *seq = cJSON_AddObjectToObject(item, "Sequence");
            NPG_CHECK_ALLOC(seq && cJSON_AddStringToObject(seq, "id", "A") && cJSON_AddNumberToObject(seq, "type_id", 0));
            continue;
        }
        cJSON *tokstr = str_node(npg_gguf_arr_str(v->tokens, (size_t)id));
        NPG_CHECK_ALLOC(tokstr);
        cJSON *sp = cJSON_AddObjectToObject(item, "SpecialToken");
        NPG_CHECK_ALLOC(sp && cJSON_AddItemToObject(sp, "id", cJSON_Duplicate(tokstr, 0)) &&
                        cJSON_AddNumberToObject(sp, "type_id", 0));
        cJSON *entry = cJSON_CreateObject(), *ids = cJSON_CreateArray(), *toks = cJSON_CreateArray();
        NPG_CHECK_ALLOC(entry && ids && toks);
        cJSON_AddItemToObject(entry, "id", cJSON_Duplicate(tokstr, 0));
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)id));
        cJSON_AddItemToObject(entry, "ids", ids);
        cJSON_AddItemToArray(toks, tokstr);
        cJSON_AddItemToObject(entry, "tokens", toks);
        if (!cJSON_GetObjectItemCaseSensitive(specials, cJSON_GetStringValue(cJSON_GetObjectItem(entry, "id"))))
            cJSON_AddItemToObject(specials, cJSON_GetStringValue(cJSON_GetObjectItem(entry, "id")), entry);
        else
            cJSON_Delete(entry);
    }
    return NPG_OK;
}

static npg_status build(const npg_gguf *g, gvocab *v, cJSON *root) {
    npg_gguf_str model;
    if (!npg_gguf_get_str(g, "tokenizer.ggml.model", &model))
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: no tokenizer (metadata 'tokenizer.ggml.model' is missing)", g->path);
    bool spm = model.len == 5 && memcmp(model.p, "llama", 5) == 0;
    bool bpe = model.len == 4 && memcmp(model.p, "gpt2", 4) == 0;
    if (!spm && !bpe)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model '%.*s' is not supported (llama, gpt2)", g->path,
                        model.len > 32 ? 32 : (int)model.len, model.p);
    v->tokens = npg_gguf_find(g, "tokenizer.ggml.tokens");
    if (!v->tokens || v->tokens->type != NPG_GGUF_ARRAY || v->tokens->arr_type != NPG_GGUF_STRING || !v->tokens->arr_n)
        return npg_fail(NPG_ERR_FORMAT, "%s: tokenizer.ggml.tokens is missing, empty or not a list of strings", g->path);
    v->n = (size_t)v->tokens->arr_n;
    v->types = npg_gguf_find(g, "tokenizer.ggml.token_type");
    v->scores = npg_gguf_find(g, "tokenizer.ggml.scores");
    if (v->types && (v->types->type != NPG_GGUF_ARRAY || v->types->arr_n != v->n))
        return npg_fail(NPG_ERR_FORMAT, "%s: tokenizer.ggml.token_type does not have one entry per token", g->path);
    if (v->scores && (v->scores->type != NPG_GGUF_ARRAY || v->scores->arr_n != v->n))
        return npg_fail(NPG_ERR_FORMAT, "%s: tokenizer.ggml.scores does not have one entry per token", g->path);
    cJSON *m = cJSON_AddObjectToObject(root, "model");
    NPG_CHECK_ALLOC(m && cJSON_AddStringToObject(m, "type", "BPE"));
    cJSON *vocab = cJSON_AddObjectToObject(m, "vocab"), *added = cJSON_AddArrayToObject(root, "added_tokens");
    NPG_CHECK_ALLOC(vocab && added);
    for (size_t i = 0; i < v->n; i++) {
        npg_gguf_str s = npg_gguf_arr_str(v->tokens, i);
        if (memchr(s.p, 0, (size_t)s.len))
            return npg_fail(NPG_ERR_FORMAT, "%s: token %zu contains a NUL byte", g->path, i);
        int32_t prev;
        if (npg_tok_dict_get(&v->dict, s.p, (size_t)s.len, &prev))
            continue; /* a duplicate spelling: the first id keeps it, as llama.cpp's token_to_id */
        NPG_TRY(npg_tok_dict_put(&v->dict, s.p, (size_t)s.len, (int32_t)i));
        cJSON *key = str_node(s);
        NPG_CHECK_ALLOC(key);
        cJSON *num = cJSON_CreateNumber((double)i);
        NPG_CHECK_ALLOC(num);
        cJSON_AddItemToObject(vocab, key->valuestring, num);
        cJSON_Delete(key);
        int32_t t = type_of(v, i);
        if (t == T_CONTROL || t == T_USER || t == T_UNKNOWN) {
            cJSON *a = cJSON_CreateObject();
            NPG_CHECK_ALLOC(a && cJSON_AddItemToArray(added, a));
            cJSON *c = str_node(s);
            NPG_CHECK_ALLOC(c && cJSON_AddNumberToObject(a, "id", (double)i));
            cJSON_AddItemToObject(a, "content", c);
            cJSON_AddBoolToObject(a, "single_word", 0);
            cJSON_AddBoolToObject(a, "lstrip", 0);
            cJSON_AddBoolToObject(a, "rstrip", 0);
            cJSON_AddBoolToObject(a, "normalized", 0);
            cJSON_AddBoolToObject(a, "special", t != T_USER);
        }
    }
    cJSON *merges = cJSON_AddArrayToObject(m, "merges");
    NPG_CHECK_ALLOC(merges);
    int64_t unk = -1;
    npg_gguf_get_int(g, "tokenizer.ggml.unknown_token_id", &unk);
    if (spm) {
        NPG_TRY(spm_merges(v, merges));
        cJSON_AddBoolToObject(m, "byte_fallback", 1);
        cJSON_AddBoolToObject(m, "fuse_unk", 1);
        if (unk >= 0 && (size_t)unk < v->n)
            cJSON_AddItemToObject(m, "unk_token", str_node(npg_gguf_arr_str(v->tokens, (size_t)unk)));
        bool space = true;
        npg_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &space);
        NPG_TRY(add_obj(root, "normalizer",
                        space ? "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"},"
                                "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]}"
                              : "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}"));
        NPG_TRY(add_obj(root, "decoder",
                        space ? "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"
                                "\"\\u2581\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":"
                                "\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}"
                              : "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"
                                "\"\\u2581\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]}"));
    } else {
        NPG_TRY(bpe_merges(g, merges));
        npg_gguf_str pre = {"gpt2", 4};
        npg_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
        size_t which = SIZE_MAX;
        for (size_t i = 0; i < sizeof pre_table / sizeof pre_table[0]; i++)
            if (pre.len == strlen(pre_table[i].name) && memcmp(pre.p, pre_table[i].name, (size_t)pre.len) == 0)
                which = i;
        if (which == SIZE_MAX)
            return npg_fail(NPG_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre '%.*s' is not supported (gpt2, default, qwen2, "
                            "llama-bpe, llama3, tekken)", g->path, pre.len > 32 ? 32 : (int)pre.len, pre.p);
        cJSON_AddBoolToObject(m, "byte_fallback", 0);
        cJSON_AddBoolToObject(m, "ignore_merges", pre_table[which].ignore_merges);
        if (pre_table[which].nfc)
            NPG_TRY(add_obj(root, "normalizer", "{\"type\":\"NFC\"}"));
        if (pre_table[which].regex) {
            cJSON *p = parse_const("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{},"
                                   "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\","
                                   "\"add_prefix_space\":false,\"trim_offsets\":false,\"use_regex\":false}]}");
            NPG_CHECK_ALLOC(p && cJSON_AddItemToObject(root, "pre_tokenizer", p));
            cJSON *pat = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "pretokenizers"), 0), "pattern");
            NPG_CHECK_ALLOC(pat && cJSON_AddStringToObject(pat, "Regex", pre_table[which].regex));
        } else {
            NPG_TRY(add_obj(root, "pre_tokenizer", "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                                                   "\"trim_offsets\":true,\"use_regex\":true}"));
        }
        NPG_TRY(add_obj(root, "decoder", "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,"
                                         "\"use_regex\":true}"));
    }
    return post_processor(g, v, root, spm);
}

npg_status npg_tok_gguf_json(const npg_gguf *g, npg_strbuf *out) {
    cJSON *root = cJSON_CreateObject();
    NPG_CHECK_ALLOC(root);
    gvocab v = {.g = g};
    npg_status st = build(g, &v, root);
    npg_tok_dict_free(&v.dict);
    char *text = st == NPG_OK ? cJSON_PrintUnformatted(root) : NULL;
    if (st == NPG_OK && !text)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory printing the tokenizer of %s", g->path);
    cJSON_Delete(root);
    if (st == NPG_OK)
        st = npg_strbuf_append_str(out, text);
    free(text);
    return st;
}
