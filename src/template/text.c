/* text.c — UTF-8 decoding and Python str operations (see text.h). */
#include "template/text.h"

#include <string.h>
#include <utf8proc.h>

size_t npg_utf8_next(const char *p, size_t n, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)p;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
    } else {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFFFFFFu;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    /* overlong 3/4-byte forms, surrogates and values above U+10FFFF are invalid */
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    *cp = v;
    return len;
}

size_t npg_utf8_len(const char *p, size_t n) {
    size_t count = 0;
    uint32_t cp;
    for (size_t i = 0; i < n; count++)
        i += npg_utf8_next(p + i, n - i, &cp);
    return count;
}

size_t npg_utf8_offset(const char *p, size_t n, size_t idx) {
    size_t i = 0;
    uint32_t cp;
    for (size_t k = 0; k < idx && i < n; k++)
        i += npg_utf8_next(p + i, n - i, &cp);
    return i;
}

npg_status npg_utf8_append(npg_strbuf *sb, uint32_t cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return npg_strbuf_append(sb, b, n);
}

bool npg_py_isspace(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static bool in_chars(uint32_t cp, const npg_tstr *chars) {
    if (!chars)
        return npg_py_isspace(cp);
    uint32_t c;
    for (size_t i = 0; i < chars->n;) {
        i += npg_utf8_next(chars->p + i, chars->n - i, &c);
        if (c == cp)
            return true;
    }
    return false;
}

/* Start of the code point that ends at byte `end` (end > 0). */
static size_t prev_start(const char *p, size_t end) {
    size_t i = end - 1;
    size_t lim = end >= 4 ? end - 4 : 0;
    while (i > lim && ((unsigned char)p[i] & 0xC0) == 0x80)
        i--;
    uint32_t cp;
    /* only accept the lead byte if it really decodes to a sequence ending at `end` */
    if (i + npg_utf8_next(p + i, end - i, &cp) == end)
        return i;
    return end - 1;
}

npg_tstr npg_py_strip(npg_tstr s, const npg_tstr *chars, bool left, bool right) {
    size_t b = 0, e = s.n;
    uint32_t cp;
    if (left) {
        while (b < e) {
            size_t k = npg_utf8_next(s.p + b, e - b, &cp);
            if (!in_chars(cp, chars))
                break;
            b += k;
        }
    }
    if (right) {
        while (e > b) {
            size_t st = prev_start(s.p, e);
            if (st < b)
                st = e - 1;
            npg_utf8_next(s.p + st, e - st, &cp);
            if (!in_chars(cp, chars))
                break;
            e = st;
        }
    }
    npg_tstr r = {s.p + b, e - b};
    return r;
}

static bool is_cased(uint32_t cp) {
    if (cp == 0xFFFFFFFFu)
        return false;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

static uint32_t map_case(uint32_t cp, char how) {
    if (cp == 0xFFFFFFFFu)
        return cp;
    utf8proc_int32_t c = (utf8proc_int32_t)cp;
    switch (how) {
    case 'u': return (uint32_t)utf8proc_toupper(c);
    case 'l': return (uint32_t)utf8proc_tolower(c);
    case 't': return (uint32_t)utf8proc_totitle(c);
    default: return cp;
    }
}

npg_status npg_py_case(npg_strbuf *sb, npg_tstr s, char mode) {
    bool prev_cased = false, first = true;
    uint32_t cp;
    for (size_t i = 0; i < s.n;) {
        size_t k = npg_utf8_next(s.p + i, s.n - i, &cp);
        if (cp == 0xFFFFFFFFu) {
            NPG_TRY(npg_strbuf_append(sb, s.p + i, k));
            i += k;
            first = false;
            continue;
        }
        uint32_t o = cp;
        switch (mode) {
        case 'u': o = map_case(cp, 'u'); break;
        case 'l': o = map_case(cp, 'l'); break;
        case 'c': o = map_case(cp, first ? 't' : 'l'); break;
        case 't': o = map_case(cp, prev_cased ? 'l' : 't'); break;
        case 's':
            if (utf8proc_isupper((utf8proc_int32_t)cp))
                o = map_case(cp, 'l');
            else if (utf8proc_islower((utf8proc_int32_t)cp))
                o = map_case(cp, 'u');
            break;
        default: break;
        }
        prev_cased = is_cased(cp);
        first = false;
        NPG_TRY(npg_utf8_append(sb, o));
        i += k;
    }
    return NPG_OK;
}

bool npg_py_is(npg_tstr s, char mode) {
    bool any_cased = false;
    uint32_t cp;
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n;) {
        i += npg_utf8_next(s.p + i, s.n - i, &cp);
        if (cp == 0xFFFFFFFFu)
            return false;
        utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
        bool alpha = c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
        bool numeric = c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
        switch (mode) {
        case 'a':
            if (!alpha)
                return false;
            break;
        case 'd':
            if (c != UTF8PROC_CATEGORY_ND)
                return false;
            break;
        case 'n':
            if (!alpha && !numeric)
                return false;
            break;
        case 's':
            if (!npg_py_isspace(cp))
                return false;
            break;
        case 'u':
            if (c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT)
                return false;
            any_cased |= c == UTF8PROC_CATEGORY_LU;
            break;
        case 'l':
            if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT)
                return false;
            any_cased |= c == UTF8PROC_CATEGORY_LL;
            break;
        default: return false;
        }
    }
    return (mode == 'u' || mode == 'l') ? any_cased : true;
}

int64_t npg_bytes_find(npg_tstr hay, npg_tstr needle, size_t from, size_t to, bool reverse) {
    if (to > hay.n)
        to = hay.n;
    if (from > to || needle.n > to - from)
        return -1;
    size_t last = to - needle.n;
    if (!reverse) {
        for (size_t i = from; i <= last; i++)
            if (memcmp(hay.p + i, needle.p, needle.n) == 0)
                return (int64_t)i;
    } else {
        for (size_t i = last + 1; i-- > from;)
            if (memcmp(hay.p + i, needle.p, needle.n) == 0)
                return (int64_t)i;
    }
    return -1;
}
