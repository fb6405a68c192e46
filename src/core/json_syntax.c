/* json_syntax.c — a JSON syntax check that allocates nothing, used to tell the two reasons
 * cJSON_Parse returns NULL apart: malformed text or a failed allocation. Without it an out-of-memory
 * condition was reported as "malformed JSON" in a file that is fine (found by tests/test_alloc_fail.c).
 *
 * It is at least as strict as cJSON (RFC 8259 grammar, whitespace limited to space/tab/CR/LF, the
 * same nesting limit, lone UTF-16 surrogates refused), so text it accepts is text cJSON parses when
 * memory is there; content after the first value is ignored, as npg_json_parse lets cJSON do.
 * Nesting is tracked with an explicit stack of bits, not recursion. */
#include <stdint.h>
#include <string.h>

#include "core/json.h"

typedef struct scan {
    const char *p, *end;
} scan;

static void ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(scan *s, unsigned *out) {
    if (s->end - s->p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s->p[i];
        unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0')
                     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                                              : 16u;
        if (d == 16)
            return 0;
        v = v * 16 + d;
    }
    s->p += 4;
    *out = v;
    return 1;
}

static int string(scan *s) {
    s->p++; /* opening quote */
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"')
            return 1;
        if (c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        if (s->p >= s->end)
            return 0;
        char e = *s->p++;
        if (e == 'u') {
            unsigned u = 0, lo = 0;
            if (!hex4(s, &u) || u == 0 || (u >= 0xDC00 && u <= 0xDFFF))
                return 0;
            if (u >= 0xD800 && u <= 0xDBFF &&
                (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u' || (s->p += 2, !hex4(s, &lo)) ||
                 lo < 0xDC00 || lo > 0xDFFF))
                return 0;
        } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
            return 0;
        }
    }
    return 0;
}

static int digits(scan *s) {
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start;
}

static int number(scan *s) {
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!digits(s))
        return 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s))
            return 0;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return 0;
    }
    return 1;
}

static int literal(scan *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

bool npg_json_syntax_valid(const char *text, size_t len) {
    enum { MAX_DEPTH = CJSON_NESTING_LIMIT };
    uint8_t is_object[MAX_DEPTH / 8 + 1] = {0}; /* one bit per open container */
    int depth = 0;
    if (!text)
        return false;
    scan s = {text, text + len};
    for (;;) {
        /* a value */
        ws(&s);
        if (s.p >= s.end)
            return false;
        char c = *s.p;
        if (c == '{' || c == '[') {
            if (depth >= MAX_DEPTH)
                return false;
            bool obj = c == '{';
            is_object[depth / 8] = (uint8_t)((is_object[depth / 8] & ~(1u << depth % 8)) | ((unsigned)obj << depth % 8));
            depth++;
            s.p++;
            ws(&s);
            if (s.p < s.end && *s.p == (obj ? '}' : ']')) {
                s.p++;
                depth--;
            } else {
                if (obj) {
                    if (s.p >= s.end || *s.p != '"' || !string(&s))
                        return false;
                    ws(&s);
                    if (s.p >= s.end || *s.p++ != ':')
                        return false;
                }
                continue; /* the first member's value */
            }
        } else if (c == '"') {
            if (!string(&s))
                return false;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (!number(&s))
                return false;
        } else if (!literal(&s, "true") && !literal(&s, "false") && !literal(&s, "null")) {
            return false;
        }
        /* after a value: close containers or go on to the next member */
        for (;;) {
            if (depth == 0)
                return true;
            bool obj = (is_object[(depth - 1) / 8] >> (depth - 1) % 8) & 1u;
            ws(&s);
            if (s.p >= s.end)
                return false;
            if (*s.p == (obj ? '}' : ']')) {
                s.p++;
                depth--;
                continue;
            }
            if (*s.p++ != ',')
                return false;
            if (obj) {
                ws(&s);
                if (s.p >= s.end || *s.p != '"' || !string(&s))
                    return false;
                ws(&s);
                if (s.p >= s.end || *s.p++ != ':')
                    return false;
            }
            break;
        }
    }
}
