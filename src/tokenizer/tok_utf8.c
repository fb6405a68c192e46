/* tok_utf8.c — UTF-8 validation and lossy decoding with Rust's exact rules, the GPT-2 ByteLevel
 * byte <-> character table, and the few Unicode predicates the pipeline needs.
 *
 * Rust's String::from_utf8_lossy replaces each "maximal subpart" of an ill-formed sequence by one
 * U+FFFD (Unicode's recommended practice): E4 B8 41 gives U+FFFD 'A', a lone 80 gives U+FFFD, and a
 * sequence cut off by the end of input gives one U+FFFD. */
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "tokenizer/tok_internal.h"

/* For a lead byte: the number of continuation bytes and the allowed range of the first one
 * (the others are always 80..BF). Returns false for bytes that can never start a character. */
static bool lead_info(unsigned char b, int *n_cont, unsigned char *lo, unsigned char *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        *n_cont = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
        *n_cont = 2;
        if (b == 0xE0)
            *lo = 0xA0; /* no overlongs */
        else if (b == 0xED)
            *hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        *n_cont = 3;
        if (b == 0xF0)
            *lo = 0x90;
        else if (b == 0xF4)
            *hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return false;
    }
    return true;
}

size_t npg_utf8_lossy_unit(const unsigned char *s, size_t len, int *kind) {
    if (s[0] < 0x80) {
        *kind = 0;
        return 1;
    }
    int n_cont;
    unsigned char lo, hi;
    if (!lead_info(s[0], &n_cont, &lo, &hi)) {
        *kind = 1;
        return 1;
    }
    for (int i = 1; i <= n_cont; i++) {
        if ((size_t)i >= len) {
            *kind = 2;
            return len;
        }
        if (s[i] < lo || s[i] > hi) {
            *kind = 1;
            return (size_t)i;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *kind = 0;
    return (size_t)n_cont + 1;
}

size_t npg_utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        int kind;
        size_t n = npg_utf8_lossy_unit(u + i, len - i, &kind);
        if (kind != 0)
            return i;
        i += n;
    }
    return len;
}

size_t npg_utf8_decode(const char *s, size_t len, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80 || len < 2) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return 2;
    }
    if (u[0] < 0xF0 || len < 4) {
        if (len < 3) {
            *cp = u[0];
            return 1;
        }
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) |
          (u[3] & 0x3F);
    return 4;
}

size_t npg_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

npg_status npg_utf8_append_lossy(npg_strbuf *sb, const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* [run, i) is valid text not yet copied */
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        int kind;
        size_t n = npg_utf8_lossy_unit(u + i, len - i, &kind);
        if (kind == 0) {
            i += n;
            continue;
        }
        NPG_TRY(npg_strbuf_append(sb, s + run, i - run));
        NPG_TRY(npg_strbuf_append(sb, "\xEF\xBF\xBD", 3));
        i += n;
        run = i;
    }
    return npg_strbuf_append(sb, s + run, len - run);
}

/* ---------------------------------------------------------------------------------------------- */
/* GPT-2 ByteLevel: the 188 printable bytes map to themselves, the other 68 (0..32, 127..160, 173)
 * to U+0100.. in byte order, so every byte string becomes printable text. */

uint32_t npg_bytelevel_char(uint8_t b) {
    if (b <= 32)
        return 256u + b;
    if (b >= 127 && b <= 160)
        return 256u + 33u + (uint32_t)(b - 127);
    if (b == 173)
        return 256u + 33u + 34u;
    return b;
}

int npg_bytelevel_byte(uint32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
        return (int)cp;
    if (cp >= 256 && cp < 256 + 33)
        return (int)(cp - 256);
    if (cp >= 256 + 33 && cp < 256 + 67)
        return (int)(cp - 256 - 33 + 127);
    if (cp == 256 + 67)
        return 173;
    return -1;
}

/* ---------------------------------------------------------------------------------------------- */

bool npg_uni_is_whitespace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

bool npg_uni_is_word(uint32_t cp) {
    if (cp == 0x200C || cp == 0x200D)
        return true;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
        return true;
    default:
        return false;
    }
}
