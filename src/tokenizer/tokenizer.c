/* tokenizer.c — npg_tokenizer_create / free and the small accessors: loads tokenizer.json (model,
 * normalizer, pre-tokenizer, added tokens, post-processor, decoder), then tokenizer_config.json and
 * special_tokens_map.json for the BOS / EOS / PAD strings and the chat template.
 *
 * After loading, id_str[id] is the token string of every id (added tokens override the vocab, as in
 * tokenizers' decode), borrowed from the vocab's key arena or the added token's content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "hub/hub.h"
#include "format/gguf.h"
#include "tokenizer/tok_gguf.h"
#include "tokenizer/tok_internal.h"

enum { NPG_MAX_TOKENIZER_JSON = 512 << 20 };

static npg_status join_path(const char *dir, const char *name, char **out) {
    size_t n = strlen(dir) + strlen(name) + 2;
    *out = malloc(n);
    NPG_CHECK_ALLOC(*out);
    snprintf(*out, n, "%s/%s", dir, name);
    return NPG_OK;
}

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "dir/name", or the file it names when it is a symbolic link stored as text: git checks links out
 * as small files holding the relative target where links are not kept (the shared model folders
 * link their tokenizer files this way). Followed only when the target exists; up to 4 levels. */
npg_status npg_tokenizer_file(const char *dir, const char *name, char **out) {
    NPG_TRY(join_path(dir, name, out));
    for (int level = 0; level < 4; level++) {
        struct stat st;
        if (stat(*out, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size > 1024)
            return NPG_OK;
        char buf[1025];
        FILE *fp = fopen(*out, "rb");
        if (!fp)
            return NPG_OK;
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        buf[n] = '\0';
        if (n == 0 || buf[0] == '{' || buf[0] == '[' || strlen(buf) != n || strchr(buf, '\n'))
            return NPG_OK; /* JSON (or anything else): the file itself */
        const char *slash = strrchr(*out, '/');
        size_t dlen = slash ? (size_t)(slash - *out) : 1;
        char *target = malloc(dlen + n + 2);
        if (!target) {
            free(*out);
            *out = NULL;
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory in %s", __func__);
        }
        if (buf[0] == '/')
            memcpy(target, buf, n + 1);
        else
            snprintf(target, dlen + n + 2, "%.*s/%s", (int)dlen, slash ? *out : ".", buf);
        if (!file_exists(target)) {
            free(target);
            return NPG_OK;
        }
        free(*out);
        *out = target;
    }
    return NPG_OK;
}

/* Builds id -> token string and flags over vocab and added tokens. */
static npg_status build_id_table(npg_tokenizer *tok) {
    const npg_tok_dict *v = &tok->bpe.vocab;
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        if ((size_t)v->ent[i].val + 1 > n)
            n = (size_t)v->ent[i].val + 1;
    for (size_t i = 0; i < tok->n_added; i++)
        if ((size_t)tok->added[i].id + 1 > n)
            n = (size_t)tok->added[i].id + 1;
    if (n == 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: the vocabulary is empty", tok->json_path);
    tok->n_ids = n;
    tok->id_str = calloc(n, sizeof *tok->id_str);
    tok->id_len = calloc(n, sizeof *tok->id_len);
    tok->id_flags = calloc(n, sizeof *tok->id_flags);
    NPG_CHECK_ALLOC(tok->id_str && tok->id_len && tok->id_flags);
    for (size_t i = 0; i < v->n; i++) {
        size_t len;
        const char *k = npg_tok_dict_key(v, i, &len);
        int32_t id = v->ent[i].val;
        /* a repeated id in the vocab: the later key is what tokenizers' reverse map keeps */
        tok->id_str[id] = k;
        tok->id_len[id] = (uint32_t)len;
    }
    for (size_t i = 0; i < tok->n_added; i++) {
        const npg_tok_added *a = &tok->added[i];
        tok->id_str[a->id] = a->content;
        tok->id_len[a->id] = (uint32_t)a->len;
        tok->id_flags[a->id] = (uint8_t)(NPG_TOK_FLAG_ADDED | (a->special ? NPG_TOK_FLAG_SPECIAL : 0));
    }
    for (size_t i = 0; i < n; i++)
        if (tok->id_len[i] > tok->max_token_len)
            tok->max_token_len = tok->id_len[i];
    return NPG_OK;
}

static npg_status load_tokenizer_text(npg_tokenizer *tok, const char *text, size_t size);

static npg_status load_tokenizer_json(npg_tokenizer *tok) {
    if (!npg_path_exists(tok->json_path)) /* present but not a regular file: npg_map_file says what it is */
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: no such file (a tokenizer folder needs tokenizer.json)",
                        tok->json_path);
    /* mapped, not read: the fast scanner takes vocab and merges from the page cache and cJSON gets
     * a copy of the small rest */
    npg_mapped_file mf = {0};
    NPG_TRY(npg_map_file(tok->json_path, &mf));
    /* the largest real tokenizer.json files are tens of MB (Gemma 3: 33 MB); parsing one far larger
     * would only exhaust memory (cJSON takes ~10x the text) */
    if (mf.size > NPG_MAX_TOKENIZER_JSON) {
        size_t size = mf.size;
        npg_unmap_file(&mf);
        return npg_fail(NPG_ERR_LIMIT, "%s: %zu bytes is more than the %d MiB a tokenizer.json may have",
                        tok->json_path, size, NPG_MAX_TOKENIZER_JSON >> 20);
    }
    npg_status st = load_tokenizer_text(tok, (const char *)mf.data, mf.size);
    npg_unmap_file(&mf);
    return st;
}

/* tokenizer.json text (a file's map, or the one built from a GGUF file's metadata) */
static npg_status load_tokenizer_text(npg_tokenizer *tok, const char *text, size_t size) {
    cJSON *root = NULL;
    npg_strbuf rest = {0};
    npg_status st = npg_tok_scan_model(tok, text, size, &rest);
    if (st == NPG_OK && tok->bpe.preloaded)
        st = npg_json_parse_opts(rest.data, rest.len, tok->json_path, true, &root);
    else if (st == NPG_OK)
        st = npg_json_parse_opts(text ? text : "", size, tok->json_path, true, &root);
    npg_strbuf_free(&rest);
    if (st == NPG_OK && !cJSON_IsObject(root))
        st = npg_fail(NPG_ERR_FORMAT, "%s: the top level must be an object", tok->json_path);
    if (st == NPG_OK)
        st = npg_tok_bpe_load(tok, npg_json_get(root, "model"));
    if (st == NPG_OK)
        st = npg_tok_norm_load(tok, npg_json_get(root, "normalizer"));
    if (st == NPG_OK)
        st = npg_tok_pre_load(tok, npg_json_get(root, "pre_tokenizer"));
    if (st == NPG_OK)
        st = npg_tok_dec_load(tok, npg_json_get(root, "decoder"));
    if (st == NPG_OK)
        st = npg_tok_added_load(tok, npg_json_get(root, "added_tokens"));
    if (st == NPG_OK)
        st = npg_tok_post_load(tok, npg_json_get(root, "post_processor"));
    if (st == NPG_OK)
        tok->has_post = cJSON_IsObject(npg_json_get(root, "post_processor"));
    cJSON_Delete(root);
    return st;
}

/* A special token entry: "<s>" or {"content": "<s>", ...}; NULL otherwise. */
static const char *token_string(const cJSON *node) {
    if (cJSON_IsString(node))
        return node->valuestring;
    const char *c = npg_json_get_string(node, "content");
    return c;
}

static npg_status set_string(char **dst, const char *s) {
    if (!s || *dst)
        return NPG_OK;
    *dst = strdup(s);
    NPG_CHECK_ALLOC(*dst);
    return NPG_OK;
}

static npg_status read_special_strings(npg_tokenizer *tok, const cJSON *cfg) {
    NPG_TRY(set_string(&tok->bos, token_string(npg_json_get(cfg, "bos_token"))));
    NPG_TRY(set_string(&tok->eos, token_string(npg_json_get(cfg, "eos_token"))));
    NPG_TRY(set_string(&tok->pad, token_string(npg_json_get(cfg, "pad_token"))));
    return NPG_OK;
}

static npg_status read_chat_template(npg_tokenizer *tok, const cJSON *cfg, const char *path) {
    const cJSON *t = npg_json_get(cfg, "chat_template");
    if (!t || cJSON_IsNull(t))
        return NPG_OK;
    if (cJSON_IsString(t))
        return set_string(&tok->chat_template, t->valuestring);
    if (!cJSON_IsArray(t))
        return npg_fail(NPG_ERR_FORMAT, "%s: chat_template must be a string or a list of {name, template}", path);
    const cJSON *it;
    cJSON_ArrayForEach(it, t) {
        const char *name = npg_json_get_string(it, "name");
        const char *tmpl = npg_json_get_string(it, "template");
        if (!name || !tmpl)
            return npg_fail(NPG_ERR_FORMAT, "%s: chat_template list entries need string 'name' and 'template'", path);
        if (strcmp(name, "default") == 0)
            return set_string(&tok->chat_template, tmpl);
    }
    return NPG_OK; /* no "default" entry: no template */
}

static npg_status load_config(npg_tokenizer *tok) {
    char *path = NULL;
    NPG_TRY(npg_tokenizer_file(tok->dir, "tokenizer_config.json", &path));
    npg_status st = NPG_OK;
    bool add_bos = false, add_eos = false, has_add_bos = false, has_add_eos = false;
    if (file_exists(path)) {
        cJSON *cfg = NULL;
        st = npg_json_parse_file(path, &cfg);
        if (st == NPG_OK && !cJSON_IsObject(cfg))
            st = npg_fail(NPG_ERR_FORMAT, "%s: the top level must be an object", path);
        if (st == NPG_OK)
            st = read_special_strings(tok, cfg);
        if (st == NPG_OK)
            st = read_chat_template(tok, cfg, path);
        if (st == NPG_OK) {
            has_add_bos = npg_json_get_bool(cfg, "add_bos_token", &add_bos);
            has_add_eos = npg_json_get_bool(cfg, "add_eos_token", &add_eos);
        }
        cJSON_Delete(cfg);
    }
    free(path);
    NPG_TRY(st);

    /* special_tokens_map.json fills what tokenizer_config.json left out */
    NPG_TRY(npg_tokenizer_file(tok->dir, "special_tokens_map.json", &path));
    if (file_exists(path)) {
        cJSON *map = NULL;
        st = npg_json_parse_file(path, &map);
        if (st == NPG_OK && !cJSON_IsObject(map))
            st = npg_fail(NPG_ERR_FORMAT, "%s: the top level must be an object", path);
        if (st == NPG_OK)
            st = read_special_strings(tok, map);
        cJSON_Delete(map);
    }
    free(path);
    NPG_TRY(st);

    tok->bos_id = tok->bos ? npg_tokenizer_token_to_id(tok, tok->bos) : -1;
    tok->eos_id = tok->eos ? npg_tokenizer_token_to_id(tok, tok->eos) : -1;
    /* Without a post-processor in tokenizer.json, transformers adds BOS / EOS itself as
     * add_bos_token / add_eos_token say; with one, tokenizer.json already encodes the choice. */
    if (!tok->has_post) {
        if (has_add_bos && add_bos && tok->bos_id >= 0) {
            tok->post_prefix = malloc(sizeof *tok->post_prefix);
            NPG_CHECK_ALLOC(tok->post_prefix);
            tok->post_prefix[0] = tok->bos_id;
            tok->n_post_prefix = 1;
        }
        if (has_add_eos && add_eos && tok->eos_id >= 0) {
            tok->post_suffix = malloc(sizeof *tok->post_suffix);
            NPG_CHECK_ALLOC(tok->post_suffix);
            tok->post_suffix[0] = tok->eos_id;
            tok->n_post_suffix = 1;
        }
    }
    return NPG_OK;
}

/* A GGUF file's tokenizer: tokenizer.json built from its metadata (tok_gguf.c), then the special
 * tokens and chat template from its tokenizer.ggml.* keys where a folder has tokenizer_config.json. */
static npg_status special_from_gguf(npg_tokenizer *tok, const npg_gguf *g, const char *key, char **str, int32_t *id) {
    int64_t v;
    if (!npg_gguf_get_int(g, key, &v) || v < 0 || (size_t)v >= tok->n_ids || !tok->id_str[v])
        return NPG_OK;
    if (id)
        *id = (int32_t)v;
    *str = strndup(tok->id_str[v], tok->id_len[v]);
    NPG_CHECK_ALLOC(*str);
    return NPG_OK;
}

static npg_status load_gguf(npg_tokenizer *tok, const char *path) {
    npg_gguf *g = NULL;
    NPG_TRY(npg_gguf_open(path, &g));
    free(tok->json_path);
    tok->json_path = strdup(path);
    npg_strbuf json = {0};
    npg_status st = tok->json_path ? npg_tok_gguf_json(g, &json) : npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK)
        st = load_tokenizer_text(tok, json.data, json.len);
    npg_strbuf_free(&json);
    if (st == NPG_OK)
        st = build_id_table(tok);
    if (st == NPG_OK)
        st = special_from_gguf(tok, g, "tokenizer.ggml.bos_token_id", &tok->bos, &tok->bos_id);
    if (st == NPG_OK)
        st = special_from_gguf(tok, g, "tokenizer.ggml.eos_token_id", &tok->eos, &tok->eos_id);
    if (st == NPG_OK)
        st = special_from_gguf(tok, g, "tokenizer.ggml.padding_token_id", &tok->pad, NULL);
    npg_gguf_str t;
    if (st == NPG_OK && npg_gguf_get_str(g, "tokenizer.chat_template", &t)) {
        tok->chat_template = strndup(t.p, (size_t)t.len);
        if (!tok->chat_template)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    npg_gguf_close(g);
    return st;
}

npg_status npg_tokenizer_create(const char *dir, npg_tokenizer **out) {
    if (!dir || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_tokenizer_create: %s is NULL", !dir ? "dir" : "out");
    *out = NULL;
    npg_tokenizer *tok = calloc(1, sizeof *tok);
    NPG_CHECK_ALLOC(tok);
    tok->bos_id = tok->eos_id = -1;
    tok->bpe.unk_id = -1;
    npg_status st = NPG_OK;
    st = npg_hub_resolve_model_dir(dir, &tok->dir); /* a folder, or a cached Hub repo id */
    if (st == NPG_OK)
        st = npg_tokenizer_file(tok->dir, "tokenizer.json", &tok->json_path);
    for (int b = 0; b < 256; b++) {
        char buf[4];
        size_t n = npg_utf8_encode(npg_bytelevel_char((uint8_t)b), buf);
        memcpy(tok->bl_chars[b], buf, n);
        tok->bl_len[b] = (uint8_t)n;
    }
    char *gguf = NULL; /* a .gguf file, or a folder holding one and no config.json */
    if (st == NPG_OK)
        st = npg_gguf_locate(tok->dir, &gguf);
    if (st == NPG_OK && gguf) {
        st = load_gguf(tok, gguf);
    } else {
        if (st == NPG_OK)
            st = load_tokenizer_json(tok);
        if (st == NPG_OK)
            st = build_id_table(tok);
        if (st == NPG_OK)
            st = load_config(tok);
    }
    free(gguf);
    if (st != NPG_OK) {
        npg_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return NPG_OK;
}

void npg_tokenizer_free(npg_tokenizer *tok) {
    if (!tok)
        return;
    npg_tok_bpe_free(&tok->bpe);
    npg_tok_added_free(tok);
    for (size_t i = 0; i < tok->n_norm; i++)
        npg_tok_norm_free(&tok->norm[i]);
    for (size_t i = 0; i < tok->n_pre; i++)
        npg_tok_pre_free(&tok->pre[i]);
    for (size_t i = 0; i < tok->n_dec; i++)
        npg_tok_dec_free(&tok->dec[i]);
    free(tok->id_str);
    free(tok->id_len);
    free(tok->id_flags);
    free(tok->post_prefix);
    free(tok->post_suffix);
    free(tok->bos);
    free(tok->eos);
    free(tok->pad);
    free(tok->chat_template);
    free(tok->dir);
    free(tok->json_path);
    free(tok);
}

/* ---------------------------------------------------------------------------------------------- */

size_t npg_tokenizer_vocab_size(const npg_tokenizer *tok) { return tok ? tok->n_ids : 0; }
int32_t npg_tokenizer_bos_token_id(const npg_tokenizer *tok) { return tok ? tok->bos_id : -1; }
int32_t npg_tokenizer_eos_token_id(const npg_tokenizer *tok) { return tok ? tok->eos_id : -1; }
const char *npg_tokenizer_bos_token(const npg_tokenizer *tok) { return tok ? tok->bos : NULL; }
const char *npg_tokenizer_eos_token(const npg_tokenizer *tok) { return tok ? tok->eos : NULL; }
const char *npg_tokenizer_pad_token(const npg_tokenizer *tok) { return tok ? tok->pad : NULL; }
const char *npg_tokenizer_chat_template(const npg_tokenizer *tok) { return tok ? tok->chat_template : NULL; }
const char *npg_tokenizer_dir(const npg_tokenizer *tok) { return tok ? tok->dir : NULL; }

bool npg_tokenizer_is_special(const npg_tokenizer *tok, int32_t id) {
    return tok && id >= 0 && (size_t)id < tok->n_ids && (tok->id_flags[id] & NPG_TOK_FLAG_SPECIAL);
}

bool npg_tokenizer_adds_bos(const npg_tokenizer *tok) {
    if (!tok || tok->bos_id < 0)
        return false;
    for (size_t i = 0; i < tok->n_post_prefix; i++)
        if (tok->post_prefix[i] == tok->bos_id)
            return true;
    return false;
}

int32_t npg_tokenizer_token_to_id(const npg_tokenizer *tok, const char *token) {
    if (!tok || !token)
        return -1;
    size_t len = strlen(token);
    int32_t v;
    if (npg_tok_dict_get(&tok->added_index, token, len, &v))
        return tok->added[v].id;
    if (npg_tok_dict_get(&tok->bpe.vocab, token, len, &v))
        return v;
    return -1;
}
