/* tok_json_scan.c — a fast path for the two big parts of tokenizer.json: model.vocab and
 * model.merges.
 *
 * A 262k-token vocabulary with 500k merges (Gemma-3, 33 MB) makes several million cJSON nodes, and
 * allocating them costs seconds. These two parts have a fixed shape ({"token": id, ...} and
 * ["a b", ...] or [["a", "b"], ...]), so they are read here straight from the text into the hash
 * tables, then overwritten with spaces ("{}" / "[]" stay) so that cJSON parses only the small rest.
 * Anything unexpected leaves the text alone and the ordinary cJSON path (bpe.c) reads it, with its
 * error messages. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tok_internal.h"

typedef struct span {
    char *b, *e; /* [b, e) of a JSON value in the text, b == NULL when absent */
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

/* Iterates the members of the object at p ('{'): calls back with the key and the value's span. */
typedef bool (*member_fn)(void *ctx, const npg_strbuf *key, span value);

static bool each_member(char *p, const char *end, npg_strbuf *key, member_fn fn, void *ctx) {
    p = (char *)skip_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p = (char *)skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return true;
    for (;;) {
        const char *after;
        if (!read_string(p, end, key, &after))
            return false;
        p = (char *)skip_ws(after, end);
        if (p >= end || *p != ':')
            return false;
        p = (char *)skip_ws(p + 1, end);
        char *ve = (char *)skip_value(p, end);
        if (!ve)
            return false;
        if (!fn(ctx, key, (span){p, ve}))
            return false;
        p = (char *)skip_ws(ve, end);
        if (p < end && *p == ',') {
            p = (char *)skip_ws(p + 1, end);
            continue;
        }
        return p < end && *p == '}';
    }
}

typedef struct model_spans {
    span model, type, vocab, merges, prefix;
} model_spans;

static bool top_member(void *ctx, const npg_strbuf *key, span v) {
    if (strcmp(key->data, "model") == 0)
        ((model_spans *)ctx)->model = v;
    return true;
}

static bool model_member(void *ctx, const npg_strbuf *key, span v) {
    model_spans *m = ctx;
    if (strcmp(key->data, "type") == 0)
        m->type = v;
    else if (strcmp(key->data, "vocab") == 0)
        m->vocab = v;
    else if (strcmp(key->data, "merges") == 0)
        m->merges = v;
    else if (strcmp(key->data, "continuing_subword_prefix") == 0)
        m->prefix = v;
    return true;
}

typedef struct vocab_ctx {
    npg_tokenizer *tok;
    npg_status st;
} vocab_ctx;

static bool vocab_member(void *ctx, const npg_strbuf *key, span v) {
    vocab_ctx *c = ctx;
    char *e;
    long long id = strtoll(v.b, &e, 10);
    if (e != v.e || v.b == v.e || *v.b == '-' || id > INT32_MAX - 1) {
        c->st = npg_fail(NPG_ERR_FORMAT, "%s: model.vocab['%s'] must be a non-negative integer id", c->tok->json_path,
                         key->data);
        return false;
    }
    c->st = npg_tok_dict_put(&c->tok->bpe.vocab, key->data, key->len, (int32_t)id);
    return c->st == NPG_OK;
}

/* The number of values directly inside an object or array (an object's keys count too). */
static size_t count_items(span s) {
    const char *p = skip_ws(s.b + 1, s.e);
    size_t n = 0;
    while (p && p < s.e && *p != '}' && *p != ']') {
        p = skip_value(p, s.e);
        n++;
        if (p)
            p = skip_ws(p, s.e);
        if (p && p < s.e && (*p == ',' || *p == ':'))
            p = skip_ws(p + 1, s.e);
    }
    return n;
}

static void blank(span s) {
    if (s.e - s.b >= 2)
        memset(s.b + 1, ' ', (size_t)(s.e - s.b - 2));
}

static npg_status load_merges(npg_tokenizer *tok, span m, npg_strbuf *a, npg_strbuf *b, npg_strbuf *tmp,
                              bool *handled) {
    const char *p = skip_ws(m.b + 1, m.e), *end = m.e;
    size_t rank = 0;
    *handled = true;
    while (p < end && *p != ']') {
        const char *next;
        if (*p == '"') {
            if (!read_string(p, end, a, &next))
                goto unexpected;
            if (strncmp(a->data, "#version", 8) != 0) {
                const char *sp = strchr(a->data, ' ');
                if (!sp || strchr(sp + 1, ' '))
                    return npg_fail(NPG_ERR_FORMAT, "%s: merge %zu ('%s') must be two tokens separated by one space",
                                    tok->json_path, rank, a->data);
                NPG_TRY(npg_tok_bpe_add_merge(tok, rank, a->data, (size_t)(sp - a->data), sp + 1, strlen(sp + 1), tmp));
                rank++;
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
            NPG_TRY(npg_tok_bpe_add_merge(tok, rank, a->data, a->len, b->data, b->len, tmp));
            rank++;
        } else {
            goto unexpected;
        }
        p = skip_ws(next, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
    }
    return NPG_OK;
unexpected:
    /* not the usual shape: start over with the cJSON path */
    *handled = false;
    npg_tok_pairmap_free(&tok->bpe.merges);
    return NPG_OK;
}

npg_status npg_tok_scan_model(npg_tokenizer *tok, char *text, size_t len) {
    const char *end = text + len;
    npg_strbuf key = {0}, a = {0}, b = {0}, tmp = {0};
    model_spans ms;
    memset(&ms, 0, sizeof ms);
    npg_status st = NPG_OK;
    /* only the plain, well-formed BPE shape is taken; anything else goes to cJSON */
    if (!each_member(text, end, &key, top_member, &ms) || !ms.model.b ||
        !each_member(ms.model.b, ms.model.e, &key, model_member, &ms) || !ms.type.b || !ms.vocab.b ||
        !ms.merges.b || *ms.vocab.b != '{' || *ms.merges.b != '[')
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
    /* reserve once (no rehash): count the entries first, a cheap pass over the text */
    st = npg_tok_dict_reserve(&tok->bpe.vocab, count_items(ms.vocab) / 2 + 16, (size_t)(ms.vocab.e - ms.vocab.b));
    if (st == NPG_OK)
        st = npg_tok_pairmap_reserve(&tok->bpe.merges, count_items(ms.merges) + 16);
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
    tok->bpe.preloaded = true;
    blank(ms.vocab);
    blank(ms.merges);
done:
    if (!tok->bpe.preloaded) {
        free(tok->bpe.cont_prefix);
        tok->bpe.cont_prefix = NULL;
        tok->bpe.cont_prefix_len = 0;
    }
    npg_strbuf_free(&key);
    npg_strbuf_free(&a);
    npg_strbuf_free(&b);
    npg_strbuf_free(&tmp);
    return st;
}
