/* text.h — UTF-8 decoding and the Python str operations templates call (strip, split, case).
 *
 * Python works on code points; these helpers work on UTF-8 bytes and decode where a code point
 * matters (whitespace, case). Invalid UTF-8 bytes count as one code point each and are never
 * whitespace, so malformed input passes through unchanged. */
#ifndef NPG_TEMPLATE_TEXT_H
#define NPG_TEMPLATE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "template/value.h"

/* Decodes the code point at p (n > 0 bytes available); returns the bytes it takes (1..4). An
 * invalid sequence decodes as 0xFFFFFFFF with length 1. */
size_t npg_utf8_next(const char *p, size_t n, uint32_t *cp);
/* Number of code points (Python len()). */
size_t npg_utf8_len(const char *p, size_t n);
/* Byte offset of code point index i (clamped to n). */
size_t npg_utf8_offset(const char *p, size_t n, size_t i);
npg_status npg_utf8_append(npg_strbuf *sb, uint32_t cp);

/* Python str.isspace() for one code point. */
bool npg_py_isspace(uint32_t cp);

/* str.strip/lstrip/rstrip: chars NULL strips whitespace, otherwise any code point of chars. Returns
 * the kept range inside s. */
npg_tstr npg_py_strip(npg_tstr s, const npg_tstr *chars, bool left, bool right);

/* Case mapping of a whole string into sb: mode 'u' upper, 'l' lower, 'c' capitalize (str.capitalize),
 * 't' str.title(), 's' str.swapcase(). */
npg_status npg_py_case(npg_strbuf *sb, npg_tstr s, char mode);
/* Predicates of str.isalpha/isdigit/isalnum/isupper/islower/isspace (mode 'a','d','n','u','l','s'). */
bool npg_py_is(npg_tstr s, char mode);

/* Byte offset of the first (or last, when reverse) occurrence of needle in hay at or after from
 * (and ending at or before `to`); -1 when absent. */
int64_t npg_bytes_find(npg_tstr hay, npg_tstr needle, size_t from, size_t to, bool reverse);

#endif
