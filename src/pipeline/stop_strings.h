/* stop_strings.h — finding stop strings in incrementally decoded text, and how much of the text is
 * safe to stream.
 *
 * Use: the pipeline keeps the whole decoded text of the generated ids, text[0..len), and `emitted`,
 * the bytes already given to the streamer (0 at start). After each token it appends the new piece
 * and calls
 *
 *     npg_stop_match m;
 *     npg_stop_strings_scan(stops, n, include, text, len, prev_len, &m);
 *     stream text[emitted .. m.safe_len); emitted = m.safe_len;
 *     if (m.found) finish: the result text is text[0 .. m.safe_len)  (finish reason STOP)
 *     prev_len = len;
 *
 * and, when generation ends without a match (eos, max_new_tokens), streams the held-back rest
 * text[emitted .. len): it is not a stop string, only the start of one.
 *
 * Guarantees (for any split of the same text into pieces):
 *  - The match reported is the one that ends first in the text (among matches ending at the same
 *    byte, the longest); chunking does not change which match is found or where.
 *  - safe_len never decreases between calls and never passes the final result's length, so
 *    streamed text is always a prefix of the result text: with include_stop_str false no streamed
 *    byte belongs to a stop string, with it true the stop string is streamed whole and nothing after
 *    it is.
 *  - Not found: include_stop_str false → safe_len = len minus the longest suffix of text that is a
 *    proper prefix of some stop string (it might still grow into one); true → safe_len = len
 *    (any later match ends beyond len, and all bytes before its end are output anyway).
 *  - Found: safe_len = match pos (false) or match end (true); the text after it is dropped.
 *
 * Matching is byte-wise (stop strings and text are UTF-8, so a held-back suffix starts on a
 * character boundary whenever the text's does). Empty stop strings are ignored (the generation
 * config's validate rejects them). Cost per call: O(n_stops × (len - prev_len + L) × L) with L the
 * longest stop string — independent of the text's total length. */
#ifndef NPG_PIPELINE_STOP_STRINGS_H
#define NPG_PIPELINE_STOP_STRINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "npugen.h"

typedef struct npg_stop_match {
    bool found;      /* a stop string ends in text[0..len) after byte prev_len */
    size_t which;    /* index into stops (found only) */
    size_t pos;      /* byte offset where the match starts (found only) */
    size_t end;      /* pos + strlen(stops[which]) (found only) */
    size_t safe_len; /* text[0..safe_len) is final: may be streamed now */
} npg_stop_match;

/* stops[n_stops]: NUL-terminated stop strings. text[0..len): all text decoded so far (need not be
 * NUL-terminated). prev_len: len at the previous call, which found nothing (0 on the first call); only
 * matches ending after it are searched for. prev_len > len is treated as 0 (rescan everything). */
void npg_stop_strings_scan(const char *const *stops, size_t n_stops, bool include_stop_str, const char *text,
                           size_t len, size_t prev_len, npg_stop_match *out);

/* The same with the stop strings and include_stop_str_in_output of a generation config. */
void npg_stop_strings_scan_config(const npg_generation_config *c, const char *text, size_t len, size_t prev_len,
                                  npg_stop_match *out);

#endif
