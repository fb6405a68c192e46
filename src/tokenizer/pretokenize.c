/* pretokenize.c — the pre-tokenizer chain: Split (and the fixed-pattern splitters Whitespace,
 * WhitespaceSplit, Digits, Punctuation expressed as Split), ByteLevel, Metaspace, Sequence.
 *
 * A Sequence is flattened into steps 0..n-1 and run depth first: step d cuts its piece into
 * sub-pieces, each goes through steps d+1.. and finally the BPE model, left to right. That visits
 * the words in the same order as tokenizers' breadth-first PreTokenizedString, with one level of
 * scratch per step (levels never outlive their parent piece). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

/* The GPT-2 pattern of the ByteLevel pre-tokenizer (use_regex: true). */
#define GPT2_REGEX "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
/* Rust's char::is_ascii_punctuation || unicode punctuation (P*). */
#define PUNCT_REGEX "[\\p{P}!-/:-@\\[-`{-~]"

npg_status npg_tok_pieces_push(npg_tok_pieces *p, size_t off, size_t len, int32_t id) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        npg_tok_piece *v = realloc(p->v, cap * sizeof *v);
        NPG_CHECK_ALLOC(v);
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n].off = off;
    p->v[p->n].len = len;
    p->v[p->n].id = id;
    p->n++;
    return NPG_OK;
}

static npg_status parse_behavior(const npg_tokenizer *tok, const char *b, npg_tok_split_behavior *out) {
    static const struct {
        const char *name;
        npg_tok_split_behavior value;
    } names[] = {
        {"Removed", NPG_SPLIT_REMOVED},
        {"Isolated", NPG_SPLIT_ISOLATED},
        {"MergedWithPrevious", NPG_SPLIT_MERGED_WITH_PREVIOUS},
        {"MergedWithNext", NPG_SPLIT_MERGED_WITH_NEXT},
        {"Contiguous", NPG_SPLIT_CONTIGUOUS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(b, names[i].name) == 0) {
            *out = names[i].value;
            return NPG_OK;
        }
    }
    return npg_fail(NPG_ERR_FORMAT, "%s: unknown split behavior '%s'", tok->json_path, b);
}

static npg_status prepend_scheme(const npg_tokenizer *tok, const cJSON *node, npg_tok_prepend_scheme *out) {
    const char *scheme = npg_json_get_string(node, "prepend_scheme");
    bool legacy = true;
    if (!scheme) {
        /* older files: "add_prefix_space": bool */
        npg_json_get_bool(node, "add_prefix_space", &legacy);
        *out = legacy ? NPG_PREPEND_ALWAYS : NPG_PREPEND_NEVER;
        return NPG_OK;
    }
    if (strcmp(scheme, "always") == 0)
        *out = NPG_PREPEND_ALWAYS;
    else if (strcmp(scheme, "first") == 0)
        *out = NPG_PREPEND_FIRST;
    else if (strcmp(scheme, "never") == 0)
        *out = NPG_PREPEND_NEVER;
    else
        return npg_fail(NPG_ERR_FORMAT, "%s: unknown Metaspace prepend_scheme '%s'", tok->json_path, scheme);
    return NPG_OK;
}

/* Reads the one-character "replacement" of a Metaspace node into (buf, len). */
static npg_status metaspace_replacement(const npg_tokenizer *tok, const cJSON *node, char buf[5], size_t *len) {
    const char *r = npg_json_get_string(node, "replacement");
    if (!r)
        r = npg_json_get_string(node, "str_rep");
    if (!r)
        r = "\xE2\x96\x81"; /* U+2581 */
    size_t n = strlen(r);
    if (n == 0 || n > 4 || npg_utf8_valid_prefix(r, n) != n)
        return npg_fail(NPG_ERR_FORMAT, "%s: Metaspace replacement must be one character", tok->json_path);
    uint32_t cp;
    if (npg_utf8_decode(r, n, &cp) != n)
        return npg_fail(NPG_ERR_FORMAT, "%s: Metaspace replacement must be one character", tok->json_path);
    memcpy(buf, r, n);
    buf[n] = '\0';
    *len = n;
    return NPG_OK;
}

static npg_status add_pre(npg_tokenizer *tok, const cJSON *node) {
    if (cJSON_IsNull(node))
        return NPG_OK;
    const char *type = npg_json_get_string(node, "type");
    if (!type)
        return npg_fail(NPG_ERR_FORMAT, "%s: pre_tokenizer has no \"type\"", tok->json_path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = npg_json_get(node, "pretokenizers");
        if (!cJSON_IsArray(list))
            return npg_fail(NPG_ERR_FORMAT, "%s: pre_tokenizer.pretokenizers must be a list", tok->json_path);
        const cJSON *child;
        cJSON_ArrayForEach(child, list) NPG_TRY(add_pre(tok, child));
        return NPG_OK;
    }
    if (tok->n_pre == NPG_TOK_MAX_STEPS)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: more than %d pre-tokenizers", tok->json_path, NPG_TOK_MAX_STEPS);
    npg_tok_pre *p = &tok->pre[tok->n_pre];
    memset(p, 0, sizeof *p);
    char what[512];
    snprintf(what, sizeof what, "%s: pre_tokenizer %s", tok->json_path, type);
    const char *regex = NULL;
    p->kind = NPG_PRE_SPLIT;
    p->behavior = NPG_SPLIT_ISOLATED;
    if (strcmp(type, "Split") == 0) {
        const cJSON *pattern = npg_json_get(node, "pattern");
        const char *behavior = npg_json_get_string(node, "behavior");
        if (!pattern || !behavior)
            return npg_fail(NPG_ERR_FORMAT, "%s needs \"pattern\" and \"behavior\"", what);
        NPG_TRY(parse_behavior(tok, behavior, &p->behavior));
        npg_json_get_bool(node, "invert", &p->invert);
        NPG_TRY(npg_tok_pattern_from_json(pattern, what, &p->pattern));
        tok->n_pre++;
        return NPG_OK;
    } else if (strcmp(type, "ByteLevel") == 0) {
        p->kind = NPG_PRE_BYTELEVEL;
        p->use_regex = true;
        npg_json_get_bool(node, "add_prefix_space", &p->add_prefix_space);
        npg_json_get_bool(node, "use_regex", &p->use_regex);
        if (p->use_regex)
            regex = GPT2_REGEX;
    } else if (strcmp(type, "Metaspace") == 0) {
        p->kind = NPG_PRE_METASPACE;
        p->split = true;
        npg_json_get_bool(node, "split", &p->split);
        NPG_TRY(prepend_scheme(tok, node, &p->prepend_scheme));
        NPG_TRY(metaspace_replacement(tok, node, p->replacement, &p->replacement_len));
        NPG_TRY(npg_tok_pattern_literal(p->replacement, p->replacement_len, &p->pattern));
        tok->n_pre++;
        return NPG_OK;
    } else if (strcmp(type, "Whitespace") == 0) {
        regex = "\\w+|[^\\w\\s]+";
        p->invert = true;
        p->behavior = NPG_SPLIT_REMOVED;
    } else if (strcmp(type, "WhitespaceSplit") == 0) {
        regex = "\\s+";
        p->behavior = NPG_SPLIT_REMOVED;
    } else if (strcmp(type, "Digits") == 0) {
        bool individual = false;
        npg_json_get_bool(node, "individual_digits", &individual);
        regex = individual ? "\\p{N}" : "\\p{N}+";
    } else if (strcmp(type, "Punctuation") == 0) {
        const char *behavior = npg_json_get_string(node, "behavior");
        if (behavior)
            NPG_TRY(parse_behavior(tok, behavior, &p->behavior));
        regex = PUNCT_REGEX;
    } else {
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: pre-tokenizer type '%s' is not supported", tok->json_path, type);
    }
    if (regex)
        NPG_TRY(npg_tok_pattern_regex(regex, what, &p->pattern));
    tok->n_pre++;
    return NPG_OK;
}

npg_status npg_tok_pre_load(npg_tokenizer *tok, const cJSON *pre_tokenizer) {
    if (!pre_tokenizer)
        return NPG_OK;
    return add_pre(tok, pre_tokenizer);
}

void npg_tok_pre_free(npg_tok_pre *p) {
    npg_tok_pattern_free(&p->pattern);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------------------------------------- */

npg_status npg_tok_split(const npg_tok_pattern *pat, pcre2_match_data *md, const char *s, size_t len,
                         npg_tok_split_behavior behavior, bool invert, npg_tok_pieces *matches, npg_tok_pieces *out) {
    /* 1. Pattern::find_matches: pieces covering s, id = 1 for a match, 0 between matches. */
    matches->n = 0;
    if (len == 0) {
        NPG_TRY(npg_tok_pieces_push(matches, 0, 0, invert ? 1 : 0));
    } else {
        npg_tok_matcher m;
        npg_tok_matcher_init(&m, pat, md, s, len);
        size_t prev = 0;
        for (;;) {
            bool found;
            size_t ms, me;
            NPG_TRY(npg_tok_matcher_next(&m, &found, &ms, &me));
            if (!found)
                break;
            if (ms != prev)
                NPG_TRY(npg_tok_pieces_push(matches, prev, ms - prev, invert ? 1 : 0));
            NPG_TRY(npg_tok_pieces_push(matches, ms, me - ms, invert ? 0 : 1));
            prev = me;
        }
        if (prev != len)
            NPG_TRY(npg_tok_pieces_push(matches, prev, len - prev, invert ? 1 : 0));
    }

    /* 2. SplitDelimiterBehavior, in place: id becomes "remove this piece". */
    npg_tok_piece *v = matches->v;
    size_t n = matches->n, k = 0;
    bool previous_match = false;
    switch (behavior) {
    case NPG_SPLIT_REMOVED:
        k = n;
        break;
    case NPG_SPLIT_ISOLATED:
        for (size_t i = 0; i < n; i++)
            v[i].id = 0;
        k = n;
        break;
    case NPG_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            bool is_match = v[i].id != 0;
            if (is_match == previous_match && k > 0) {
                v[k - 1].len = v[i].off + v[i].len - v[k - 1].off;
            } else {
                v[k] = v[i];
                v[k++].id = 0;
            }
            previous_match = is_match;
        }
        break;
    case NPG_SPLIT_MERGED_WITH_PREVIOUS:
        for (size_t i = 0; i < n; i++) {
            bool is_match = v[i].id != 0;
            if (is_match && !previous_match && k > 0) {
                v[k - 1].len = v[i].off + v[i].len - v[k - 1].off;
            } else {
                v[k] = v[i];
                v[k++].id = 0;
            }
            previous_match = is_match;
        }
        break;
    case NPG_SPLIT_MERGED_WITH_NEXT:
        /* the same from the right: a match joins the piece after it */
        k = n;
        for (size_t i = n; i-- > 0;) {
            bool is_match = v[i].id != 0;
            if (is_match && !previous_match && k < n) {
                size_t end = v[k].off + v[k].len;
                v[k].off = v[i].off;
                v[k].len = end - v[i].off;
            } else {
                v[--k] = v[i];
                v[k].id = 0;
            }
            previous_match = is_match;
        }
        memmove(v, v + k, (n - k) * sizeof *v);
        k = n - k;
        break;
    }

    /* 3. Keep the non-removed, non-empty pieces. */
    for (size_t i = 0; i < k; i++)
        if (!v[i].id && v[i].len)
            NPG_TRY(npg_tok_pieces_push(out, v[i].off, v[i].len, -1));
    return NPG_OK;
}

/* ByteLevel: optional prefix space, optional GPT-2 split, then every byte becomes its printable
 * character. Sub-pieces are written back to back into lv_b. */
static npg_status bytelevel(const npg_tokenizer *tok, const npg_tok_pre *p, npg_tok_encoder *e, size_t depth,
                            const char *s, size_t len, const char **base) {
    npg_strbuf *a = &e->level_a[depth], *b = &e->level_b[depth];
    npg_tok_pieces *pieces = &e->level_pieces[depth];
    npg_strbuf_clear(a);
    npg_strbuf_clear(b);
    if (p->add_prefix_space && (len == 0 || s[0] != ' ')) {
        NPG_TRY(npg_strbuf_append(a, " ", 1));
        NPG_TRY(npg_strbuf_append(a, s, len));
        s = a->data;
        len = a->len;
    }
    npg_tok_pieces *split = &e->matches;
    split->n = 0;
    if (p->use_regex) {
        NPG_TRY(npg_tok_split(&p->pattern, e->md, s, len, NPG_SPLIT_ISOLATED, false, &e->split_tmp, split));
    } else if (len) {
        NPG_TRY(npg_tok_pieces_push(split, 0, len, -1));
    }
    pieces->n = 0;
    for (size_t i = 0; i < split->n; i++) {
        size_t start = b->len;
        const unsigned char *u = (const unsigned char *)s + split->v[i].off;
        for (size_t j = 0; j < split->v[i].len; j++)
            NPG_TRY(npg_strbuf_append(b, tok->bl_chars[u[j]], tok->bl_len[u[j]]));
        NPG_TRY(npg_tok_pieces_push(pieces, start, b->len - start, -1));
    }
    NPG_TRY(npg_strbuf_append(b, "", 0));
    *base = b->data;
    return NPG_OK;
}

static npg_status metaspace(const npg_tok_pre *p, npg_tok_encoder *e, size_t depth, const char *s, size_t len,
                            bool at_origin, const char **base) {
    npg_strbuf *a = &e->level_a[depth];
    npg_tok_pieces *pieces = &e->level_pieces[depth];
    npg_strbuf_clear(a);
    bool starts = len >= p->replacement_len && memcmp(s, p->replacement, p->replacement_len) == 0;
    if (!starts && (p->prepend_scheme == NPG_PREPEND_ALWAYS || (p->prepend_scheme == NPG_PREPEND_FIRST && at_origin)))
        NPG_TRY(npg_strbuf_append(a, p->replacement, p->replacement_len));
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            NPG_TRY(npg_strbuf_append(a, p->replacement, p->replacement_len));
        else
            NPG_TRY(npg_strbuf_append_char(a, s[i]));
    }
    NPG_TRY(npg_strbuf_append(a, "", 0));
    pieces->n = 0;
    if (p->split)
        NPG_TRY(npg_tok_split(&p->pattern, NULL, a->data, a->len, NPG_SPLIT_MERGED_WITH_NEXT, false, &e->matches,
                              pieces));
    else if (a->len)
        NPG_TRY(npg_tok_pieces_push(pieces, 0, a->len, -1));
    *base = a->data;
    return NPG_OK;
}

npg_status npg_tok_pretokenize(const npg_tokenizer *tok, npg_tok_encoder *e, size_t depth, const char *s, size_t len,
                               bool at_origin) {
    if (len == 0)
        return NPG_OK;
    if (depth == tok->n_pre)
        return npg_tok_bpe_word(tok, e, s, len);
    const npg_tok_pre *p = &tok->pre[depth];
    npg_tok_pieces *pieces = &e->level_pieces[depth];
    const char *base = s;
    switch (p->kind) {
    case NPG_PRE_SPLIT:
        pieces->n = 0;
        NPG_TRY(npg_tok_split(&p->pattern, e->md, s, len, p->behavior, p->invert, &e->matches, pieces));
        break;
    case NPG_PRE_BYTELEVEL:
        NPG_TRY(bytelevel(tok, p, e, depth, s, len, &base));
        break;
    case NPG_PRE_METASPACE:
        NPG_TRY(metaspace(p, e, depth, s, len, at_origin, &base));
        break;
    }
    /* pieces of this level stay put while deeper levels run: they only touch their own scratch */
    for (size_t i = 0; i < pieces->n; i++) {
        const npg_tok_piece *pc = &pieces->v[i];
        NPG_TRY(npg_tok_pretokenize(tok, e, depth + 1, base + pc->off, pc->len, at_origin && pc->off == 0));
    }
    return NPG_OK;
}
