/* tok_json_scan.c — a fast path for the two big parts of tokenizer.json: model.vocab and
 * model.merges.
 *
 * A 262k-token vocabulary with 500k merges (Gemma-3, 33 MB) makes several million cJSON nodes, and
 * allocating them costs seconds. These two parts have a fixed shape ({"token": id, ...} and
 * ["a b", ...] or [["a", "b"], ...]), so they are read here straight from the text into the hash
 * tables, and cJSON parses only a copy of the small rest, where they are replaced by {} and [].
 * Anything unexpected leaves the text alone and the ordinary cJSON path (bpe.c) reads it, with its
 * error messages. Passes over the text: one to find the values (skip_value), one memchr count to
 * size the tables, one to read them. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tok_internal.h"

typedef struct span {
    const char *b, *e; /* [b, e) of a JSON value in the text, b == NULL when absent */
} span;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* p at '"': returns just past the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Skips one value of any kind; NULL on malformed text. */
static const char *skip_value(const char *p, const char *end) {
    p = skip_ws(p, end);
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
        p++;
    return p;
}

static int hex4(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Decodes the JSON string at p ('"') into out (cleared first); *next past the closing quote.
 * Returns false on anything malformed. */
static bool read_string(const char *p, const char *end, npg_strbuf *out, const char **next) {
    npg_strbuf_clear(out);
    if (p >= end || *p != '"')
        return false;
    p++;
    const char *run = p;
    while (p < end && *p != '"') {
        if (*p != '\\') {
            p++;
            continue;
        }
        if (npg_strbuf_append(out, run, (size_t)(p - run)) != NPG_OK || p + 1 >= end)
            return false;
        char c = p[1];
        p += 2;
        char ch = 0;
        switch (c) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            if (end - p < 4)
                return false;
            int cp = hex4(p);
            p += 4;
            if (cp < 0)
                return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return false;
                int lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return false;
            }
            char buf[4];
            size_t n = npg_utf8_encode((uint32_t)cp, buf);
            if (npg_strbuf_append(out, buf, n) != NPG_OK)
                return false;
            run = p;
            continue;
        }
        default:
            return false;
        }
        if (npg_strbuf_append_char(out, ch) != NPG_OK)
            return false;
        run = p;
    }
    if (p >= end || npg_strbuf_append(out, run, (size_t)(p - run)) != NPG_OK ||
        npg_strbuf_append(out, "", 0) != NPG_OK)
        return false;
    *next = p + 1;
    return true;
}

/* Iterates the members of the object at p ('{'). The callback gets each key and its value's start and
 * returns the end of the value (it may parse it or skip it), NULL to stop. Returns the end of the
 * object, NULL when malformed or stopped. */
typedef const char *(*member_fn)(void *ctx, const npg_strbuf *key, const char *value, const char *end);

static const char *each_member(const char *p, const char *end, npg_strbuf *key, member_fn fn, void *ctx) {
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return p + 1;
    for (;;) {
        const char *after;
        if (!read_string(p, end, key, &after))
            return NULL;
        p = skip_ws(after, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        const char *ve = fn(ctx, key, p, end);
        if (!ve)
            return NULL;
        p = skip_ws(ve, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        return (p < end && *p == '}') ? p + 1 : NULL;
    }
}

typedef struct model_spans {
    span model, type, vocab, merges, prefix;
    npg_strbuf key; /* the model's keys (the caller's buffer holds the top level's) */
} model_spans;

static const char *model_member(void *ctx, const npg_strbuf *key, const char *v, const char *end) {
    model_spans *m = ctx;
    const char *ve = skip_value(v, end);
    span sp = {v, ve};
    if (strcmp(key->data, "type") == 0)
        m->type = sp;
    else if (strcmp(key->data, "vocab") == 0)
        m->vocab = sp;
    else if (strcmp(key->data, "merges") == 0)
        m->merges = sp;
    else if (strcmp(key->data, "continuing_subword_prefix") == 0)
        m->prefix = sp;
    return ve;
}

static const char *top_member(void *ctx, const npg_strbuf *key, const char *v, const char *end) {
    model_spans *m = ctx;
    if (strcmp(key->data, "model") != 0 || *v != '{')
        return skip_value(v, end);
    const char *ve = each_member(v, end, &m->key, model_member, m);
    m->model = (span){v, ve};
    return ve;
}

typedef struct vocab_ctx {
    npg_tokenizer *tok;
    npg_status st;
} vocab_ctx;

static const char *vocab_member(void *ctx, const npg_strbuf *key, const char *v, const char *end) {
    vocab_ctx *c = ctx;
    long long id = 0;
    const char *p = v;
    while (p < end && *p >= '0' && *p <= '9' && id <= INT32_MAX)
        id = id * 10 + (*p++ - '0');
    if (p == v || id > INT32_MAX - 1 || (p < end && *p != ',' && *p != '}' && *p != ' ' && *p != '\n' &&
                                         *p != '\r' && *p != '\t')) {
        c->st = npg_fail(NPG_ERR_FORMAT, "%s: model.vocab['%s'] must be a non-negative integer id", c->tok->json_path,
                         key->data);
        return NULL;
    }
    c->st = npg_tok_dict_put(&c->tok->bpe.vocab, key->data, key->len, (int32_t)id);
    return c->st == NPG_OK ? p : NULL;
}

/* Occurrences of c in s: a fast upper bound on the entries (sizes the tables once). */
static size_t count_char(span s, char c) {
    size_t n = 0;
    for (const char *p = s.b; p && (p = memchr(p, c, (size_t)(s.e - p))) != NULL; p++)
        n++;
    return n;
}

/* Merges are resolved in batches: hash the 3 strings of each merge (a, b, and a + b without b's
 * continuing-subword prefix), prefetch their slots, then their keys, then look them up. Each lookup
 * is a cache miss or two in tables of megabytes, and batching overlaps them. */
#define MERGE_BATCH 64

typedef struct merge_item {
    size_t rank;
    size_t a, a_len, b, b_len, m, m_len; /* offsets into the batch text */
    uint64_t h[3];
} merge_item;

typedef struct merge_batch {
    merge_item item[MERGE_BATCH];
    size_t n;
    npg_strbuf text;
} merge_batch;

static npg_status batch_add(npg_tokenizer *tok, merge_batch *mb, size_t rank, const char *a, size_t a_len,
                            const char *b, size_t b_len) {
    const npg_tok_bpe *bpe = &tok->bpe;
    merge_item *it = &mb->item[mb->n++];
    it->rank = rank;
    size_t skip = bpe->cont_prefix_len;
    if (skip > b_len || (skip && memcmp(b, bpe->cont_prefix, skip) != 0))
        skip = 0;
    it->a = mb->text.len;
    it->a_len = a_len;
    it->b = it->a + a_len;
    it->b_len = b_len;
    it->m = it->b + b_len;
    it->m_len = a_len + b_len - skip;
    NPG_TRY(npg_strbuf_append(&mb->text, a, a_len));
    NPG_TRY(npg_strbuf_append(&mb->text, b, b_len));
    NPG_TRY(npg_strbuf_append(&mb->text, a, a_len));
    return npg_strbuf_append(&mb->text, b + skip, b_len - skip);
}

static npg_status batch_run(npg_tokenizer *tok, merge_batch *mb, npg_strbuf *tmp) {
    npg_tok_bpe *bpe = &tok->bpe;
    const char *t = mb->text.data;
    for (size_t i = 0; i < mb->n; i++) {
        merge_item *it = &mb->item[i];
        it->h[0] = npg_tok_dict_hash(t + it->a, it->a_len);
        it->h[1] = npg_tok_dict_hash(t + it->b, it->b_len);
        it->h[2] = npg_tok_dict_hash(t + it->m, it->m_len);
        for (int k = 0; k < 3; k++)
            npg_tok_dict_prefetch(&bpe->vocab, it->h[k]);
    }
    for (size_t i = 0; i < mb->n; i++)
        for (int k = 0; k < 3; k++)
            npg_tok_dict_prefetch_key(&bpe->vocab, mb->item[i].h[k]);
    uint64_t keys[MERGE_BATCH];
    int32_t merged[MERGE_BATCH];
    for (size_t i = 0; i < mb->n; i++) {
        const merge_item *it = &mb->item[i];
        int32_t ia, ib, im;
        if (!npg_tok_dict_get_hashed(&bpe->vocab, t + it->a, it->a_len, it->h[0], &ia) ||
            !npg_tok_dict_get_hashed(&bpe->vocab, t + it->b, it->b_len, it->h[1], &ib) ||
            !npg_tok_dict_get_hashed(&bpe->vocab, t + it->m, it->m_len, it->h[2], &im))
            return npg_tok_bpe_add_merge(tok, it->rank, t + it->a, it->a_len, t + it->b, it->b_len, tmp); /* the error */
        keys[i] = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
        merged[i] = im;
        npg_tok_pairmap_prefetch(&bpe->merges, keys[i]);
    }
    for (size_t i = 0; i < mb->n; i++) /* in rank order: a repeated pair keeps the later rank */
        NPG_TRY(npg_tok_pairmap_put(&bpe->merges, keys[i], (uint32_t)mb->item[i].rank, merged[i]));
    mb->n = 0;
    npg_strbuf_clear(&mb->text);
    return NPG_OK;
}

static npg_status load_merges(npg_tokenizer *tok, span m, npg_strbuf *a, npg_strbuf *b, npg_strbuf *tmp,
                              bool *handled) {
    const char *p = skip_ws(m.b + 1, m.e), *end = m.e;
    size_t rank = 0;
    *handled = true;
    merge_batch *mb = calloc(1, sizeof *mb);
    NPG_CHECK_ALLOC(mb);
    npg_status st = NPG_OK;
    while (st == NPG_OK && p < end && *p != ']') {
        const char *next;
        if (*p == '"') {
            if (!read_string(p, end, a, &next))
                goto unexpected;
            if (strncmp(a->data, "#version", 8) != 0) {
                const char *sp = strchr(a->data, ' ');
                if (!sp || strchr(sp + 1, ' ')) {
                    st = npg_fail(NPG_ERR_FORMAT, "%s: merge %zu ('%s') must be two tokens separated by one space",
                                  tok->json_path, rank, a->data);
                    break;
                }
                st = batch_add(tok, mb, rank++, a->data, (size_t)(sp - a->data), sp + 1, strlen(sp + 1));
            }
        } else if (*p == '[') {
            p = skip_ws(p + 1, end);
            if (!read_string(p, end, a, &next))
                goto unexpected;
            p = skip_ws(next, end);
            if (p >= end || *p != ',')
                goto unexpected;
            p = skip_ws(p + 1, end);
            if (!read_string(p, end, b, &next))
                goto unexpected;
            p = skip_ws(next, end);
            if (p >= end || *p != ']')
                goto unexpected;
            next = p + 1;
            st = batch_add(tok, mb, rank++, a->data, a->len, b->data, b->len);
        } else {
            goto unexpected;
        }
        if (st == NPG_OK && mb->n == MERGE_BATCH)
            st = batch_run(tok, mb, tmp);
        p = skip_ws(next, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
    }
    if (st == NPG_OK && mb->n)
        st = batch_run(tok, mb, tmp);
    npg_strbuf_free(&mb->text);
    free(mb);
    return st;
unexpected:
    /* not the usual shape: start over with the cJSON path */
    *handled = false;
    npg_tok_pairmap_free(&tok->bpe.merges);
    npg_strbuf_free(&mb->text);
    free(mb);
    return NPG_OK;
}

/* text with the values of spans x and y (x before y) replaced by empty containers. */
static npg_status build_rest(const char *text, size_t len, span x, span y, npg_strbuf *rest) {
    NPG_TRY(npg_strbuf_append(rest, text, (size_t)(x.b - text)));
    NPG_TRY(npg_strbuf_append(rest, *x.b == '{' ? "{}" : "[]", 2));
    NPG_TRY(npg_strbuf_append(rest, x.e, (size_t)(y.b - x.e)));
    NPG_TRY(npg_strbuf_append(rest, *y.b == '{' ? "{}" : "[]", 2));
    return npg_strbuf_append(rest, y.e, (size_t)(text + len - y.e));
}

npg_status npg_tok_scan_model(npg_tokenizer *tok, const char *text, size_t len, npg_strbuf *rest) {
    const char *end = text ? text + len : NULL; /* an empty tokenizer.json reads as NULL: no arithmetic on it */
    npg_strbuf key = {0}, a = {0}, b = {0}, tmp = {0};
    model_spans ms;
    memset(&ms, 0, sizeof ms);
    npg_status st = NPG_OK;
    /* only the plain, well-formed BPE shape is taken; anything else goes to cJSON */
    if (!text || !each_member(text, end, &key, top_member, &ms) || !ms.model.b || !ms.model.e || !ms.type.b ||
        !ms.vocab.b || !ms.merges.b || *ms.vocab.b != '{' || *ms.merges.b != '[')
        goto done;
    const char *next;
    if (!read_string(ms.type.b, ms.type.e, &key, &next) || strcmp(key.data, "BPE") != 0)
        goto done;
    if (ms.prefix.b && *ms.prefix.b == '"') {
        if (!read_string(ms.prefix.b, ms.prefix.e, &key, &next))
            goto done;
        if (key.len) {
            tok->bpe.cont_prefix = strdup(key.data);
            if (!tok->bpe.cont_prefix) {
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reading %s", tok->json_path);
                goto done;
            }
            tok->bpe.cont_prefix_len = key.len;
        }
    }
    /* size the tables once (no rehash) from an upper bound on the entries */
    const char *m1 = skip_ws(ms.merges.b + 1, ms.merges.e);
    size_t n_merges = (m1 < ms.merges.e && *m1 == '[') ? count_char(ms.merges, '[') : count_char(ms.merges, '"') / 2;
    st = npg_tok_dict_reserve(&tok->bpe.vocab, count_char(ms.vocab, '"') / 2 + 16, (size_t)(ms.vocab.e - ms.vocab.b));
    if (st == NPG_OK)
        st = npg_tok_pairmap_reserve(&tok->bpe.merges, n_merges + 16);
    if (st != NPG_OK)
        goto done;
    vocab_ctx vc = {tok, NPG_OK};
    if (!each_member(ms.vocab.b, ms.vocab.e, &key, vocab_member, &vc)) {
        st = vc.st;
        if (st == NPG_OK) /* malformed in a way the scanner does not explain: let cJSON say where */
            npg_tok_dict_free(&tok->bpe.vocab);
        goto done;
    }
    bool handled;
    st = load_merges(tok, ms.merges, &a, &b, &tmp, &handled);
    if (st != NPG_OK || !handled) {
        npg_tok_dict_free(&tok->bpe.vocab);
        goto done;
    }
    if (ms.vocab.b < ms.merges.b)
        st = build_rest(text, len, ms.vocab, ms.merges, rest);
    else
        st = build_rest(text, len, ms.merges, ms.vocab, rest);
    tok->bpe.preloaded = st == NPG_OK;
done:
    if (!tok->bpe.preloaded) {
        free(tok->bpe.cont_prefix);
        tok->bpe.cont_prefix = NULL;
        tok->bpe.cont_prefix_len = 0;
    }
    npg_strbuf_free(&key);
    npg_strbuf_free(&ms.key);
    npg_strbuf_free(&a);
    npg_strbuf_free(&b);
    npg_strbuf_free(&tmp);
    return st;
}
