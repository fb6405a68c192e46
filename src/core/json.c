#include "core/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

npg_status npg_json_parse(const char *text, size_t len, const char *what, cJSON **out) {
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
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s' must be an integer", what, key);
    *out = (int64_t)v->valuedouble;
    return NPG_OK;
}
