#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

/* "<what>: <problem> at line L, column C" for byte offset `at`. */
static npg_status fail_at(const char *text, size_t at, const char *what, const char *problem) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return npg_fail(NPG_ERR_FORMAT, "%s: %s at line %zu, column %zu", what, problem, line, col);
}

npg_status npg_json_parse(const char *text, size_t len, const char *what, cJSON **out) {
    return npg_json_parse_opts(text, len, what, false, out);
}

npg_status npg_json_parse_opts(const char *text, size_t len, const char *what, bool allow_nul_escape, cJSON **out) {
    /* cJSON skips a NUL byte as whitespace and ends a string at an escaped \u0000, so both would
     * silently change what the file says: refuse them (a backslash only occurs inside strings). */
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return fail_at(text, i, what, "NUL byte in JSON");
        if (text[i] == '\\' && i + 1 < len) {
            if (!allow_nul_escape && text[i + 1] == 'u' && len - i >= 6 && memcmp(text + i + 2, "0000", 4) == 0)
                return fail_at(text, i, what, "NUL character (\\u0000) in a JSON string is not supported");
            i++;
        }
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        if (npg_json_syntax_valid(text, len)) /* then cJSON ran out of memory */
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory parsing JSON (%zu bytes)", what, len);
        size_t line = 1, col = 1;
        const char *stop = (end && end >= text && end <= text + len) ? end : text + len;
        for (const char *p = text; p < stop; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return npg_fail(NPG_ERR_FORMAT, "%s: malformed JSON at line %zu, column %zu", what, line, col);
    }
    *out = root;
    return NPG_OK;
}

npg_status npg_json_parse_file(const char *path, cJSON **out) {
    char *text = NULL;
    size_t len = 0;
    NPG_TRY(npg_read_file(path, &text, &len));
    npg_status st = npg_json_parse(text, len, path, out);
    free(text);
    return st;
}

const cJSON *npg_json_get(const cJSON *obj, const char *key) {
    if (!obj || !cJSON_IsObject(obj))
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

bool npg_json_get_number(const cJSON *obj, const char *key, double *out) {
    const cJSON *v = npg_json_get(obj, key);
    if (!v || !cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

bool npg_json_get_bool(const cJSON *obj, const char *key, bool *out) {
    const cJSON *v = npg_json_get(obj, key);
    if (!v || !cJSON_IsBool(v))
        return false;
    *out = cJSON_IsTrue(v);
    return true;
}

const char *npg_json_get_string(const cJSON *obj, const char *key) {
    const cJSON *v = npg_json_get(obj, key);
    return (v && cJSON_IsString(v)) ? v->valuestring : NULL;
}

npg_status npg_json_require_int(const cJSON *obj, const char *key, const char *what, int64_t *out) {
    const cJSON *v = npg_json_get(obj, key);
    if (!v)
        return npg_fail(NPG_ERR_NOT_FOUND, "%s: missing key '%s'", what, key);
    if (!npg_json_int_value(v, out))
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s' must be an integer in [-2^63, 2^63)", what, key);
    return NPG_OK;
}

bool npg_json_int_value(const cJSON *v, int64_t *out) {
    /* the cast of a double outside [-2^63, 2^63) to int64_t is undefined behaviour */
    if (!v || !cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        !(v->valuedouble >= -9223372036854775808.0 && v->valuedouble < 9223372036854775808.0))
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}
