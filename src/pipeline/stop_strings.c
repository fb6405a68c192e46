/* stop_strings.c — stop-string search and streaming hold-back (contract in stop_strings.h).
 *
 * Why only matches ending after prev_len: every earlier end was searched by an earlier call and
 * found nothing, so the first match ever seen is the first one in the text — whatever the chunking.
 * Why the hold-back is monotone: if the new held-back suffix started before the old safe_len, its
 * part inside the old text would be a longer stop-string prefix ending at the old len than the one
 * held back then. */
#include "pipeline/stop_strings.h"

#include <string.h>

#include "pipeline/sampler.h"

void npg_stop_strings_scan(const char *const *stops, size_t n_stops, bool include_stop_str, const char *text,
                           size_t len, size_t prev_len, npg_stop_match *out) {
    npg_stop_match m = {.found = false, .which = 0, .pos = 0, .end = 0, .safe_len = len};
    if (prev_len > len)
        prev_len = 0;
    for (size_t j = 0; j < n_stops; j++) {
        const size_t L = strlen(stops[j]);
        if (L == 0 || L > len)
            continue;
        size_t p = prev_len + 1 > L ? prev_len + 1 - L : 0;
        for (; p + L <= len; p++) {
            /* a later start cannot end earlier than the best so far (equal end: only if longer) */
            if (m.found && (p + L > m.end || (p + L == m.end && L <= m.end - m.pos)))
                break;
            if (text[p] == stops[j][0] && memcmp(text + p, stops[j], L) == 0) {
                m.found = true;
                m.which = j;
                m.pos = p;
                m.end = p + L;
                break;
            }
        }
    }
    if (m.found) {
        m.safe_len = include_stop_str ? m.end : m.pos;
    } else if (!include_stop_str) {
        size_t hold = 0;
        for (size_t j = 0; j < n_stops; j++) {
            const size_t L = strlen(stops[j]);
            size_t k = L > 0 ? L - 1 : 0; /* proper prefixes only: a whole one would be a match */
            if (k > len)
                k = len;
            for (; k > hold; k--)
                if (memcmp(text + len - k, stops[j], k) == 0) {
                    hold = k;
                    break;
                }
        }
        m.safe_len = len - hold;
    }
    *out = m;
}

void npg_stop_strings_scan_config(const npg_generation_config *c, const char *text, size_t len, size_t prev_len,
                                  npg_stop_match *out) {
    npg_stop_strings_scan((const char *const *)c->stop_strings, c->n_stop_strings, c->include_stop_str_in_output, text,
                          len, prev_len, out);
}
