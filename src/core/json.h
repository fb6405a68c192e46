/* json.h — reading JSON files with cJSON, with errors that name the file, the line and the key.
 *
 * cJSON is the parser (Debian libcjson); these helpers add file loading, positioned parse errors and
 * typed, case-sensitive lookups that fail with "<file>: key 'x' ...". */
#ifndef NPG_CORE_JSON_H
#define NPG_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

/* Parses `len` bytes; `what` names the source in messages (a path). On error: NPG_ERR_FORMAT with
 * "<what>: malformed JSON at line L, column C" (a NUL byte, or a \u0000 escape, is an error too).
 * *out freed with cJSON_Delete. */
npg_status npg_json_parse(const char *text, size_t len, const char *what, cJSON **out);
/* The same; allow_nul_escape accepts \u0000 in strings (tokenizer.json: its vocabulary is kept as
 * lengths, where a NUL is a valid token; elsewhere it would silently cut a C string short). */
npg_status npg_json_parse_opts(const char *text, size_t len, const char *what, bool allow_nul_escape, cJSON **out);
/* True when `len` bytes begin with one syntactically valid JSON value (cJSON's nesting limit, nothing
 * allocated): npg_json_parse uses it to report a failed allocation as NPG_ERR_OUT_OF_MEMORY. */
bool npg_json_syntax_valid(const char *text, size_t len);
/* Reads and parses a whole file (NPG_ERR_IO / NPG_ERR_NOT_FOUND when it cannot be read). */
npg_status npg_json_parse_file(const char *path, cJSON **out);

/* Case-sensitive lookup; NULL when absent or when obj is not an object. */
const cJSON *npg_json_get(const cJSON *obj, const char *key);
/* Typed optional getters: return true and write *out when the key exists with the right type. */
bool npg_json_get_number(const cJSON *obj, const char *key, double *out);
bool npg_json_get_bool(const cJSON *obj, const char *key, bool *out);
const char *npg_json_get_string(const cJSON *obj, const char *key); /* NULL if absent / not string */

/* Required integer: NPG_ERR_NOT_FOUND / NPG_ERR_FORMAT naming `what` and `key` otherwise. */
npg_status npg_json_require_int(const cJSON *obj, const char *key, const char *what, int64_t *out);
/* True (and *out set) when v is an integral number in [-2^63, 2^63): the only doubles that convert to
 * int64_t without undefined behaviour. */
bool npg_json_int_value(const cJSON *v, int64_t *out);

#endif
