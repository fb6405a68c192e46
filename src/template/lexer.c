/* lexer.c — Jinja2-compatible tokenizer (see lexer.h).
 *
 * Mirrors jinja2.lexer with trim_blocks=True, lstrip_blocks=True:
 *  - text runs to the next `{{`, `{%` or `{#`;
 *  - before a tag with `-` the text loses all trailing whitespace; before a block or comment tag
 *    without `+`, trailing spaces on the tag's line go when nothing else is on that line (the line
 *    is "starting" when the text has a newline, or the previous token ended with one);
 *  - `%}` and `#}` swallow one following newline, `-%}` / `-}}` / `-#}` all following whitespace;
 *  - inside a tag, an end marker only counts while brackets are balanced (`{{ {'a': {}} }}`). */
#include "template/lexer.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "template/text.h"

typedef struct lexer {
    const char *s;
    size_t n, pos;
    npg_tarena *arena;
    npg_ttoken *toks;
    size_t n_toks, cap;
    /* incremental position -> line/column cursor (rescans from the start for an earlier position) */
    size_t lc_pos;
    int line, col;
    bool line_starting; /* the last consumed input ended with '\n' */
    char brackets[256]; /* expected closing brackets inside the current tag */
    int depth;
} lexer;

static const char *const op_names[] = {
    "+", "-",  "/",  "//", "*",  "%", "**", "~", "[", "]", "(", ")", "{",
    "}", "==", "!=", ">",  ">=", "<", "<=", "=", ".", ":", "|", ",", ";",
};

const char *npg_top_name(npg_top op) { return op_names[op]; }

static void locate(lexer *lx, size_t pos, int *line, int *col) {
    uint32_t cp;
    if (pos < lx->lc_pos) { /* an error about an earlier position (an unclosed tag): rescan */
        lx->lc_pos = 0;
        lx->line = 1;
        lx->col = 1;
    }
    while (lx->lc_pos < pos) {
        if (lx->s[lx->lc_pos] == '\n') {
            lx->line++;
            lx->col = 1;
            lx->lc_pos++;
        } else {
            lx->lc_pos += npg_utf8_next(lx->s + lx->lc_pos, lx->n - lx->lc_pos, &cp);
            lx->col++;
        }
    }
    *line = lx->line;
    *col = lx->col;
}

static npg_status lex_error(lexer *lx, size_t pos, const char *msg, const char *detail) {
    int line, col;
    locate(lx, pos, &line, &col);
    return npg_fail(NPG_ERR_FORMAT, "line %d, column %d: %s%s", line, col, msg, detail ? detail : "");
}

static npg_status push(lexer *lx, npg_ttok_kind kind, size_t pos, npg_ttoken **out) {
    if (lx->n_toks == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 256;
        npg_ttoken *t = realloc(lx->toks, cap * sizeof *t);
        NPG_CHECK_ALLOC(t);
        lx->toks = t;
        lx->cap = cap;
    }
    npg_ttoken *t = &lx->toks[lx->n_toks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    locate(lx, pos, &t->line, &t->col);
    if (out)
        *out = t;
    return NPG_OK;
}

static npg_status push_data(lexer *lx, size_t from, size_t to) {
    if (to <= from)
        return NPG_OK;
    npg_ttoken *t;
    NPG_TRY(push(lx, NPG_TK_DATA, from, &t));
    t->s.p = lx->s + from;
    t->s.n = to - from;
    return NPG_OK;
}

static bool starts(const lexer *lx, size_t pos, const char *lit) {
    size_t k = strlen(lit);
    return pos + k <= lx->n && memcmp(lx->s + pos, lit, k) == 0;
}

/* Skips Python whitespace (\s) from pos; returns the new position. */
static size_t skip_space(const lexer *lx, size_t pos) {
    uint32_t cp;
    while (pos < lx->n) {
        size_t k = npg_utf8_next(lx->s + pos, lx->n - pos, &cp);
        if (!npg_py_isspace(cp))
            break;
        pos += k;
    }
    return pos;
}

/* Whitespace control for the text [from, to) before a tag opened with `sign`. Returns the new end. */
static size_t strip_text(const lexer *lx, size_t from, size_t to, char sign, bool lstrip_ok) {
    npg_tstr text = {lx->s + from, to - from};
    if (sign == '-')
        return from + npg_py_strip(text, NULL, false, true).n;
    if (sign == '+' || !lstrip_ok)
        return to;
    size_t l = to;
    while (l > from && lx->s[l - 1] != '\n')
        l--;
    if (l == from && !lx->line_starting)
        return to;
    if (l == to)
        return to; /* nothing between the newline and the tag */
    npg_tstr tail = {lx->s + l, to - l};
    return npg_py_strip(tail, NULL, true, false).n == 0 ? l : to;
}

/* `{%[-+]? \s* NAME \s* (-%} \s* | %})` at pos, for raw/endraw. On success *end is after it (for
 * endraw, with trim_blocks applied) and *sign the sign after `{%`. */
static bool match_tag_word(const lexer *lx, size_t pos, const char *word, bool is_end, size_t *end, char *sign) {
    if (!starts(lx, pos, "{%"))
        return false;
    size_t p = pos + 2;
    *sign = 0;
    if (p < lx->n && (lx->s[p] == '-' || lx->s[p] == '+'))
        *sign = lx->s[p++];
    p = skip_space(lx, p);
    if (!starts(lx, p, word))
        return false;
    p = skip_space(lx, p + strlen(word));
    if (is_end && starts(lx, p, "+%}")) {
        *end = p + 3;
        return true;
    }
    if (starts(lx, p, "-%}")) {
        *end = skip_space(lx, p + 3);
        return true;
    }
    if (starts(lx, p, "%}")) {
        p += 2;
        if (is_end && p < lx->n && lx->s[p] == '\n')
            p++;
        *end = p;
        return true;
    }
    return false;
}

static void set_line_starting(lexer *lx, size_t end) { lx->line_starting = end > 0 && lx->s[end - 1] == '\n'; }

static npg_status lex_comment(lexer *lx, size_t start) {
    size_t p = start;
    for (;;) {
        const char *q = p < lx->n ? memchr(lx->s + p, '#', lx->n - p) : NULL;
        if (!q)
            return lex_error(lx, start, "missing end of comment tag", NULL);
        size_t at = (size_t)(q - lx->s);
        if (at + 1 < lx->n && lx->s[at + 1] == '}') {
            char sign = at > start ? lx->s[at - 1] : 0;
            size_t end = at + 2;
            if (sign == '-')
                end = skip_space(lx, end);
            else if (sign != '+' && end < lx->n && lx->s[end] == '\n')
                end++;
            lx->pos = end;
            set_line_starting(lx, end);
            return NPG_OK;
        }
        p = at + 1;
    }
}

static npg_status lex_raw(lexer *lx, size_t body, size_t start) {
    for (size_t p = body; p + 1 < lx->n; p++) {
        size_t end;
        char sign;
        if (lx->s[p] == '{' && match_tag_word(lx, p, "endraw", true, &end, &sign)) {
            NPG_TRY(push_data(lx, body, strip_text(lx, body, p, sign, true)));
            lx->pos = end;
            set_line_starting(lx, end);
            return NPG_OK;
        }
    }
    return lex_error(lx, start, "missing end of raw directive", NULL);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (unsigned char)c >= 0x80;
}

/* \d+(_\d+)* at p: returns the end, or p when there is no digit. */
static size_t digit_group(const lexer *lx, size_t p) {
    if (p >= lx->n || !is_digit(lx->s[p]))
        return p;
    while (p < lx->n) {
        while (p < lx->n && is_digit(lx->s[p]))
            p++;
        if (p + 1 < lx->n && lx->s[p] == '_' && is_digit(lx->s[p + 1]))
            p++;
        else
            break;
    }
    return p;
}

static npg_status lex_number(lexer *lx, size_t p) {
    size_t e1 = digit_group(lx, p), end = e1;
    bool is_float = false;
    if (p == 0 || lx->s[p - 1] != '.') {
        size_t q = e1;
        if (q + 1 < lx->n && lx->s[q] == '.' && is_digit(lx->s[q + 1])) {
            q = digit_group(lx, q + 1);
            is_float = true;
        }
        if (q < lx->n && (lx->s[q] == 'e' || lx->s[q] == 'E')) {
            size_t r = q + 1;
            if (r < lx->n && (lx->s[r] == '+' || lx->s[r] == '-'))
                r++;
            size_t r2 = digit_group(lx, r);
            if (r2 > r) {
                q = r2;
                is_float = true;
            }
        }
        if (is_float)
            end = q;
    }
    char buf[128];
    size_t k = 0;
    npg_ttoken *t;
    if (is_float) {
        for (size_t i = p; i < end && k + 1 < sizeof buf; i++)
            if (lx->s[i] != '_')
                buf[k++] = lx->s[i];
        buf[k] = '\0';
        NPG_TRY(push(lx, NPG_TK_FLOAT, p, &t));
        t->f = strtod(buf, NULL);
        lx->pos = end;
        return NPG_OK;
    }
    /* integers: 0b / 0o / 0x prefixes, decimal without leading zeros, or zeros */
    int base = 10;
    size_t q = p;
    if (lx->s[p] == '0' && p + 1 < lx->n) {
        char c = (char)(lx->s[p + 1] | 0x20);
        base = c == 'b' ? 2 : c == 'o' ? 8 : c == 'x' ? 16 : 10;
        if (base != 10)
            q = p + 2;
    }
    uint64_t v = 0;
    bool any = false, overflow = false;
    if (base == 10 && lx->s[p] == '0') {
        q = p + 1;
        while (q + 1 < lx->n && (lx->s[q] == '0' || (lx->s[q] == '_' && lx->s[q + 1] == '0')))
            q += lx->s[q] == '_' ? 2 : 1;
        any = true;
    } else {
        for (;;) {
            size_t r = q;
            if (any && r < lx->n && lx->s[r] == '_')
                r++;
            else if (!any && base != 10 && r < lx->n && lx->s[r] == '_')
                r++;
            if (r >= lx->n)
                break;
            char c = lx->s[r];
            int d = is_digit(c)              ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : 99;
            if (d >= base)
                break;
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                overflow = true;
            v = v * (uint64_t)base + (uint64_t)d;
            any = true;
            q = r + 1;
        }
    }
    if (!any)
        return lex_error(lx, p, "invalid integer literal", NULL);
    if (overflow || v > (uint64_t)INT64_MAX)
        return lex_error(lx, p, "integer literal too large", NULL);
    NPG_TRY(push(lx, NPG_TK_INT, p, &t));
    t->i = (int64_t)v;
    lx->pos = q;
    return NPG_OK;
}

static int hexval(char c) {
    if (is_digit(c))
        return c - '0';
    c = (char)(c | 0x20);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Python's "unicode-escape" decoding of a string literal body [p, end). */
static npg_status lex_string(lexer *lx, size_t start) {
    char quote = lx->s[start];
    size_t p = start + 1;
    while (p < lx->n && lx->s[p] != quote)
        p += (lx->s[p] == '\\' && p + 1 < lx->n) ? 2 : 1;
    if (p >= lx->n)
        return lex_error(lx, start, "unterminated string literal", NULL);
    size_t end = p;
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    for (size_t i = start + 1; i < end && st == NPG_OK;) {
        char c = lx->s[i];
        if (c != '\\') {
            size_t j = i;
            while (j < end && lx->s[j] != '\\')
                j++;
            st = npg_strbuf_append(&sb, lx->s + i, j - i);
            i = j;
            continue;
        }
        char e = lx->s[i + 1];
        i += 2;
        switch (e) {
        case '\n': break; /* line continuation */
        case '\\': st = npg_strbuf_append_char(&sb, '\\'); break;
        case '\'': st = npg_strbuf_append_char(&sb, '\''); break;
        case '"': st = npg_strbuf_append_char(&sb, '"'); break;
        case 'a': st = npg_strbuf_append_char(&sb, '\a'); break;
        case 'b': st = npg_strbuf_append_char(&sb, '\b'); break;
        case 'f': st = npg_strbuf_append_char(&sb, '\f'); break;
        case 'n': st = npg_strbuf_append_char(&sb, '\n'); break;
        case 'r': st = npg_strbuf_append_char(&sb, '\r'); break;
        case 't': st = npg_strbuf_append_char(&sb, '\t'); break;
        case 'v': st = npg_strbuf_append_char(&sb, '\v'); break;
        case 'x':
        case 'u':
        case 'U': {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = i < end ? hexval(lx->s[i]) : -1;
                if (h < 0) {
                    npg_strbuf_free(&sb);
                    return lex_error(lx, start, "truncated \\x, \\u or \\U escape in string literal", NULL);
                }
                cp = cp * 16 + (uint32_t)h;
                i++;
            }
            if (cp > 0x10FFFF) {
                npg_strbuf_free(&sb);
                return lex_error(lx, start, "illegal Unicode character in string literal", NULL);
            }
            st = npg_utf8_append(&sb, cp);
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = (uint32_t)(e - '0');
                for (int k = 0; k < 2 && i < end && lx->s[i] >= '0' && lx->s[i] <= '7'; k++)
                    cp = cp * 8 + (uint32_t)(lx->s[i++] - '0');
                st = npg_utf8_append(&sb, cp);
            } else {
                /* unknown escapes keep the backslash, as Python does */
                st = npg_strbuf_append(&sb, lx->s + i - 2, 2);
            }
        }
    }
    npg_ttoken *t = NULL;
    if (st == NPG_OK)
        st = push(lx, NPG_TK_STRING, start, &t);
    if (st == NPG_OK) {
        char *c = npg_tarena_strndup(lx->arena, sb.data ? sb.data : "", sb.len);
        if (!c)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory reading a template");
        t->s.p = c;
        t->s.n = sb.len;
    }
    npg_strbuf_free(&sb);
    lx->pos = end + 1;
    return st;
}

static npg_status lex_operator(lexer *lx, size_t p) {
    static const struct {
        const char *s;
        npg_top op;
    } ops[] = {
        {"//", NPG_OP_FLOORDIV}, {"**", NPG_OP_POW},      {"==", NPG_OP_EQ},    {"!=", NPG_OP_NE},
        {">=", NPG_OP_GTEQ},     {"<=", NPG_OP_LTEQ},     {"+", NPG_OP_ADD},    {"-", NPG_OP_SUB},
        {"/", NPG_OP_DIV},       {"*", NPG_OP_MUL},       {"%", NPG_OP_MOD},    {"~", NPG_OP_TILDE},
        {"[", NPG_OP_LBRACKET},  {"]", NPG_OP_RBRACKET},  {"(", NPG_OP_LPAREN}, {")", NPG_OP_RPAREN},
        {"{", NPG_OP_LBRACE},    {"}", NPG_OP_RBRACE},    {">", NPG_OP_GT},     {"<", NPG_OP_LT},
        {"=", NPG_OP_ASSIGN},    {".", NPG_OP_DOT},       {":", NPG_OP_COLON},  {"|", NPG_OP_PIPE},
        {",", NPG_OP_COMMA},     {";", NPG_OP_SEMICOLON},
    };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        if (!starts(lx, p, ops[k].s))
            continue;
        npg_top op = ops[k].op;
        if (op == NPG_OP_LBRACE || op == NPG_OP_LBRACKET || op == NPG_OP_LPAREN) {
            if (lx->depth >= (int)sizeof lx->brackets)
                return lex_error(lx, p, "brackets nested too deeply", NULL);
            lx->brackets[lx->depth++] = op == NPG_OP_LBRACE ? '}' : op == NPG_OP_LBRACKET ? ']' : ')';
        } else if (op == NPG_OP_RBRACE || op == NPG_OP_RBRACKET || op == NPG_OP_RPAREN) {
            char c = ops[k].s[0];
            if (lx->depth == 0)
                return lex_error(lx, p, "unexpected ",
                                 op == NPG_OP_RBRACE     ? "'}'"
                                 : op == NPG_OP_RBRACKET ? "']'"
                                                         : "')'");
            if (lx->brackets[lx->depth - 1] != c) {
                char detail[32] = "'x', expected 'y'";
                detail[1] = c;
                detail[15] = lx->brackets[lx->depth - 1];
                return lex_error(lx, p, "unexpected ", detail);
            }
            lx->depth--;
        }
        npg_ttoken *t;
        NPG_TRY(push(lx, NPG_TK_OP, p, &t));
        t->op = op;
        lx->pos = p + strlen(ops[k].s);
        return NPG_OK;
    }
    char detail[8] = "'?'";
    detail[1] = lx->s[p];
    return lex_error(lx, p, "unexpected character ", detail);
}

/* Tokens of one `{{ ... }}` or `{% ... %}` up to and including its end marker. */
static npg_status lex_tag(lexer *lx, bool block, size_t open_pos) {
    lx->depth = 0;
    for (;;) {
        size_t p = lx->pos;
        if (p >= lx->n)
            return lex_error(lx, open_pos,
                             block ? "unexpected end of template: '{%' is never closed"
                                   : "unexpected end of template: '{{' is never closed",
                             NULL);
        if (lx->depth == 0) {
            size_t end = 0;
            if (block && starts(lx, p, "+%}"))
                end = p + 3;
            else if (starts(lx, p, block ? "-%}" : "-}}"))
                end = skip_space(lx, p + 3);
            else if (starts(lx, p, block ? "%}" : "}}")) {
                end = p + 2;
                if (block && end < lx->n && lx->s[end] == '\n')
                    end++;
            }
            if (end) {
                NPG_TRY(push(lx, block ? NPG_TK_BLOCK_END : NPG_TK_VAR_END, p, NULL));
                lx->pos = end;
                set_line_starting(lx, end);
                return NPG_OK;
            }
        }
        size_t q = skip_space(lx, p);
        if (q > p) {
            lx->pos = q;
            continue;
        }
        char c = lx->s[p];
        if (is_digit(c)) {
            NPG_TRY(lex_number(lx, p));
        } else if (is_name_start(c)) {
            size_t e = p + 1;
            while (e < lx->n && (is_name_start(lx->s[e]) || is_digit(lx->s[e])))
                e++;
            npg_ttoken *t;
            NPG_TRY(push(lx, NPG_TK_NAME, p, &t));
            t->s.p = lx->s + p;
            t->s.n = e - p;
            lx->pos = e;
        } else if (c == '\'' || c == '"') {
            NPG_TRY(lex_string(lx, p));
        } else {
            NPG_TRY(lex_operator(lx, p));
        }
    }
}

static npg_status lex_all(lexer *lx) {
    while (lx->pos < lx->n) {
        size_t t = lx->pos;
        const char *s = lx->s;
        while (t + 1 < lx->n && !(s[t] == '{' && (s[t + 1] == '{' || s[t + 1] == '%' || s[t + 1] == '#')))
            t++;
        if (t + 1 >= lx->n) {
            NPG_TRY(push_data(lx, lx->pos, lx->n));
            break;
        }
        char kind = s[t + 1];
        char sign = (t + 2 < lx->n && (s[t + 2] == '-' || s[t + 2] == '+')) ? s[t + 2] : 0;
        size_t raw_end;
        char raw_sign;
        bool raw = kind == '%' && match_tag_word(lx, t, "raw", false, &raw_end, &raw_sign);
        NPG_TRY(push_data(lx, lx->pos, strip_text(lx, lx->pos, t, sign, kind != '{')));
        lx->line_starting = false;
        size_t body = t + 2 + (sign ? 1 : 0);
        if (raw) {
            set_line_starting(lx, raw_end);
            NPG_TRY(lex_raw(lx, raw_end, t));
        } else if (kind == '#') {
            NPG_TRY(lex_comment(lx, body));
        } else {
            NPG_TRY(push(lx, kind == '%' ? NPG_TK_BLOCK_BEGIN : NPG_TK_VAR_BEGIN, t, NULL));
            lx->pos = body;
            NPG_TRY(lex_tag(lx, kind == '%', t));
        }
    }
    return push(lx, NPG_TK_EOF, lx->n, NULL);
}

npg_status npg_tlex(const char *src, size_t len, npg_tarena *arena, npg_ttoken **tokens, size_t *n_tokens) {
    lexer lx = {.s = src, .n = len, .arena = arena, .line = 1, .col = 1, .line_starting = true};
    npg_status st = lex_all(&lx);
    if (st != NPG_OK) {
        free(lx.toks);
        return st;
    }
    *tokens = lx.toks;
    *n_tokens = lx.n_toks;
    return NPG_OK;
}
