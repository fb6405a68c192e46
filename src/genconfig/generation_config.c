/* generation_config.c — the public generation-config handle: defaults, generation_config.json,
 * setters, getters and validation.
 *
 * Setters only store (NULL handle → NPG_ERR_INVALID_ARGUMENT); range checks live in
 * npg_generation_config_validate, which pipelines call before any work, so a config can be built up
 * field by field in any order (as OpenVINO GenAI's GenerationConfig).
 *
 * Validation choices (messages name the field and the value):
 *  - temperature: >= 0 and not NaN; with do_sample it must be > 0 (temperature 0 means greedy: the
 *    message says to use do_sample=false). Greedy ignores temperature / top_k / top_p / min_p.
 *  - top_p in (0, 1]; min_p in [0, 1]; repetition_penalty > 0 and finite; presence_penalty and
 *    frequency_penalty in [-2, 2] (the OpenAI range, as OpenVINO GenAI).
 *  - max_new_tokens == 0 is rejected unless echo is set (nothing would be produced), whether or not
 *    max_length is set; both unset is fine (the pipeline default applies). max_length == 0 with
 *    max_new_tokens unset is rejected. min_new_tokens <= max_new_tokens when the latter is set.
 *  - num_return_sequences >= 1, and > 1 only with do_sample (greedy would return copies).
 *  - eos and stop token ids >= 0; stop strings non-empty.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "genconfig/generation_config.h"

#define NPG_GC_NULL_CHECK(c)                                                                      \
    do {                                                                                          \
        if (!(c))                                                                                 \
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: generation config is NULL", __func__); \
    } while (0)

static void set_defaults(npg_generation_config *c) {
    memset(c, 0, sizeof *c);
    c->max_new_tokens = SIZE_MAX;
    c->max_length = SIZE_MAX;
    c->min_new_tokens = 0;
    c->do_sample = false;
    c->temperature = 1.0f;
    c->top_k = 0;
    c->top_p = 1.0f;
    c->min_p = 0.0f;
    c->rng_seed = 0;
    c->repetition_penalty = 1.0f;
    c->presence_penalty = 0.0f;
    c->frequency_penalty = 0.0f;
    c->include_stop_str_in_output = false;
    c->ignore_eos = false;
    c->echo = false;
    c->num_return_sequences = 1;
}

static void free_stop_strings(npg_generation_config *c) {
    for (size_t i = 0; i < c->n_stop_strings; i++)
        free(c->stop_strings[i]);
    free(c->stop_strings);
    c->stop_strings = NULL;
    c->n_stop_strings = 0;
}

npg_status npg_generation_config_create(npg_generation_config **out) {
    if (!out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_create: out is NULL");
    npg_generation_config *c = malloc(sizeof *c);
    NPG_CHECK_ALLOC(c);
    set_defaults(c);
    *out = c;
    return NPG_OK;
}

void npg_generation_config_free(npg_generation_config *c) {
    if (!c)
        return;
    free(c->eos_token_ids);
    free(c->stop_token_ids);
    free_stop_strings(c);
    free(c);
}

/* Copies n ids into a fresh array (*out NULL when n == 0). */
static npg_status copy_ids(const int64_t *ids, size_t n, int64_t **out) {
    *out = NULL;
    if (n == 0)
        return NPG_OK;
    if (n > SIZE_MAX / sizeof(int64_t))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "generation config: %zu token ids is too many", n);
    int64_t *copy = malloc(n * sizeof *copy);
    NPG_CHECK_ALLOC(copy);
    memcpy(copy, ids, n * sizeof *copy);
    *out = copy;
    return NPG_OK;
}

/* Copies n strings; on failure nothing is left allocated. */
static npg_status copy_strings(const char *const *strings, size_t n, char ***out) {
    *out = NULL;
    if (n == 0)
        return NPG_OK;
    char **copy = calloc(n, sizeof *copy);
    NPG_CHECK_ALLOC(copy);
    for (size_t i = 0; i < n; i++) {
        if (!strings[i]) {
            for (size_t j = 0; j < i; j++)
                free(copy[j]);
            free(copy);
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "generation config: stop_strings[%zu] is NULL", i);
        }
        size_t len = strlen(strings[i]);
        copy[i] = malloc(len + 1);
        if (!copy[i]) {
            for (size_t j = 0; j < i; j++)
                free(copy[j]);
            free(copy);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory copying stop_strings");
        }
        memcpy(copy[i], strings[i], len + 1);
    }
    *out = copy;
    return NPG_OK;
}

npg_status npg_generation_config_clone(const npg_generation_config *config, npg_generation_config **out) {
    if (!config || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_clone: %s is NULL", config ? "out" : "config");
    npg_generation_config *c = malloc(sizeof *c);
    NPG_CHECK_ALLOC(c);
    *c = *config;
    c->eos_token_ids = NULL;
    c->stop_token_ids = NULL;
    c->stop_strings = NULL;
    c->n_stop_strings = 0;
    npg_status st = copy_ids(config->eos_token_ids, config->n_eos, &c->eos_token_ids);
    if (st == NPG_OK)
        st = copy_ids(config->stop_token_ids, config->n_stop_ids, &c->stop_token_ids);
    if (st == NPG_OK) {
        st = copy_strings((const char *const *)config->stop_strings, config->n_stop_strings, &c->stop_strings);
        if (st == NPG_OK)
            c->n_stop_strings = config->n_stop_strings;
    }
    if (st != NPG_OK) {
        npg_generation_config_free(c);
        return st;
    }
    *out = c;
    return NPG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Setters and getters                                                                            */
/* ---------------------------------------------------------------------------------------------- */

#define NPG_GC_SETTER(field, type)                                                       \
    npg_status npg_generation_config_set_##field(npg_generation_config *c, type value) { \
        NPG_GC_NULL_CHECK(c);                                                            \
        c->field = value;                                                                \
        return NPG_OK;                                                                   \
    }

NPG_GC_SETTER(max_new_tokens, size_t)
NPG_GC_SETTER(max_length, size_t)
NPG_GC_SETTER(min_new_tokens, size_t)
NPG_GC_SETTER(do_sample, bool)
NPG_GC_SETTER(temperature, float)
NPG_GC_SETTER(top_k, size_t)
NPG_GC_SETTER(top_p, float)
NPG_GC_SETTER(min_p, float)
NPG_GC_SETTER(rng_seed, uint64_t)
NPG_GC_SETTER(repetition_penalty, float)
NPG_GC_SETTER(presence_penalty, float)
NPG_GC_SETTER(frequency_penalty, float)
NPG_GC_SETTER(include_stop_str_in_output, bool)
NPG_GC_SETTER(ignore_eos, bool)
NPG_GC_SETTER(echo, bool)
NPG_GC_SETTER(num_return_sequences, size_t)

npg_status npg_generation_config_set_eos_token_id(npg_generation_config *c, int64_t value) {
    NPG_GC_NULL_CHECK(c);
    if (value < -1)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "generation config: eos_token_id must be >= 0 (or -1 to clear), got %lld", (long long)value);
    free(c->eos_token_ids);
    c->eos_token_ids = NULL;
    c->n_eos = 0;
    if (value == -1)
        return NPG_OK;
    return npg_generation_config_add_eos_token_id(c, value);
}

npg_status npg_generation_config_add_eos_token_id(npg_generation_config *c, int64_t value) {
    NPG_GC_NULL_CHECK(c);
    if (value < 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "generation config: eos_token_id must be >= 0, got %lld",
                        (long long)value);
    for (size_t i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] == value)
            return NPG_OK; /* a set: adding twice is a no-op */
    int64_t *grown = realloc(c->eos_token_ids, (c->n_eos + 1) * sizeof *grown);
    NPG_CHECK_ALLOC(grown);
    grown[c->n_eos++] = value;
    c->eos_token_ids = grown;
    return NPG_OK;
}

npg_status npg_generation_config_set_stop_token_ids(npg_generation_config *c, const int64_t *ids, size_t n) {
    NPG_GC_NULL_CHECK(c);
    if (n > 0 && !ids)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_set_stop_token_ids: ids is NULL with n = %zu",
                        n);
    int64_t *copy = NULL;
    NPG_TRY(copy_ids(ids, n, &copy));
    free(c->stop_token_ids);
    c->stop_token_ids = copy;
    c->n_stop_ids = n;
    return NPG_OK;
}

npg_status npg_generation_config_set_stop_strings(npg_generation_config *c, const char *const *strings, size_t n) {
    NPG_GC_NULL_CHECK(c);
    if (n > 0 && !strings)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "npg_generation_config_set_stop_strings: strings is NULL with n = %zu", n);
    char **copy = NULL;
    NPG_TRY(copy_strings(strings, n, &copy));
    free_stop_strings(c);
    c->stop_strings = copy;
    c->n_stop_strings = n;
    return NPG_OK;
}

npg_status npg_generation_config_get_max_new_tokens(const npg_generation_config *c, size_t *value) {
    if (!c || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_get_max_new_tokens: %s is NULL",
                        c ? "value" : "config");
    *value = c->max_new_tokens;
    return NPG_OK;
}

npg_status npg_generation_config_get_do_sample(const npg_generation_config *c, bool *value) {
    if (!c || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_get_do_sample: %s is NULL",
                        c ? "value" : "config");
    *value = c->do_sample;
    return NPG_OK;
}

npg_status npg_generation_config_get_temperature(const npg_generation_config *c, float *value) {
    if (!c || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_get_temperature: %s is NULL",
                        c ? "value" : "config");
    *value = c->temperature;
    return NPG_OK;
}

npg_status npg_generation_config_get_rng_seed(const npg_generation_config *c, uint64_t *value) {
    if (!c || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_get_rng_seed: %s is NULL",
                        c ? "value" : "config");
    *value = c->rng_seed;
    return NPG_OK;
}

npg_status npg_generation_config_get_num_return_sequences(const npg_generation_config *c, size_t *value) {
    if (!c || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_get_num_return_sequences: %s is NULL",
                        c ? "value" : "config");
    *value = c->num_return_sequences;
    return NPG_OK;
}

bool npg_generation_config_is_stop_id(const npg_generation_config *c, int32_t id) {
    if (!c->ignore_eos)
        for (size_t i = 0; i < c->n_eos; i++)
            if (c->eos_token_ids[i] == id)
                return true;
    for (size_t i = 0; i < c->n_stop_ids; i++)
        if (c->stop_token_ids[i] == id)
            return true;
    return false;
}

/* ---------------------------------------------------------------------------------------------- */
/* Validation                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

#define NPG_GC_BAD(...) return npg_fail(NPG_ERR_INVALID_ARGUMENT, "generation config: " __VA_ARGS__)

npg_status npg_generation_config_validate(const npg_generation_config *c) {
    if (!c)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_validate: config is NULL");
    if (isnan(c->temperature) || c->temperature < 0.0f)
        NPG_GC_BAD("temperature must be a non-negative float, got %g", (double)c->temperature);
    if (c->do_sample && c->temperature == 0.0f)
        NPG_GC_BAD("temperature must be > 0 with do_sample=true, got 0 (use do_sample=false for greedy decoding)");
    if (!(c->top_p > 0.0f && c->top_p <= 1.0f))
        NPG_GC_BAD("top_p must be in (0, 1], got %g", (double)c->top_p);
    if (!(c->min_p >= 0.0f && c->min_p <= 1.0f))
        NPG_GC_BAD("min_p must be in [0, 1], got %g", (double)c->min_p);
    if (!(c->repetition_penalty > 0.0f) || isinf(c->repetition_penalty))
        NPG_GC_BAD("repetition_penalty must be a strictly positive finite float, got %g",
                   (double)c->repetition_penalty);
    if (!(c->presence_penalty >= -2.0f && c->presence_penalty <= 2.0f))
        NPG_GC_BAD("presence_penalty must be in [-2, 2], got %g", (double)c->presence_penalty);
    if (!(c->frequency_penalty >= -2.0f && c->frequency_penalty <= 2.0f))
        NPG_GC_BAD("frequency_penalty must be in [-2, 2], got %g", (double)c->frequency_penalty);
    if (c->num_return_sequences == 0)
        NPG_GC_BAD("num_return_sequences must be greater than 0, got 0");
    if (c->num_return_sequences > 1 && !c->do_sample)
        NPG_GC_BAD("num_return_sequences > 1 (got %zu) needs do_sample=true: greedy decoding would return "
                   "identical sequences",
                   c->num_return_sequences);
    if (c->max_new_tokens == 0 && !c->echo)
        NPG_GC_BAD("max_new_tokens must be greater than 0 (0 is accepted only with echo=true), got 0");
    if (c->max_new_tokens == SIZE_MAX && c->max_length == 0)
        NPG_GC_BAD("max_length must be greater than 0 when max_new_tokens is unset, got 0");
    if (c->max_new_tokens != SIZE_MAX && c->min_new_tokens > c->max_new_tokens)
        NPG_GC_BAD("min_new_tokens (%zu) must be less than or equal to max_new_tokens (%zu)", c->min_new_tokens,
                   c->max_new_tokens);
    for (size_t i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] < 0 || c->eos_token_ids[i] > INT32_MAX)
            NPG_GC_BAD("eos_token_id must be in [0, %d], got %lld", INT32_MAX, (long long)c->eos_token_ids[i]);
    for (size_t i = 0; i < c->n_stop_ids; i++)
        if (c->stop_token_ids[i] < 0 || c->stop_token_ids[i] > INT32_MAX)
            NPG_GC_BAD("stop_token_ids[%zu] must be in [0, %d], got %lld", i, INT32_MAX,
                       (long long)c->stop_token_ids[i]);
    for (size_t i = 0; i < c->n_stop_strings; i++)
        if (c->stop_strings[i][0] == '\0')
            NPG_GC_BAD("stop_strings[%zu] is empty (an empty stop string would match at once)", i);
    return NPG_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* generation_config.json                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Each reader: absent or null → leave the default; wrong type → NPG_ERR_FORMAT naming path and key. */

static const cJSON *json_value(const cJSON *root, const char *key) {
    const cJSON *v = npg_json_get(root, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static bool is_integer(const cJSON *v) {
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9.0e15;
}

static npg_status read_size(const cJSON *root, const char *path, const char *key, size_t *out) {
    const cJSON *v = json_value(root, key);
    if (!v)
        return NPG_OK;
    if (!is_integer(v) || v->valuedouble < 0.0)
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s' must be a non-negative integer", path, key);
    *out = (size_t)v->valuedouble;
    return NPG_OK;
}

static npg_status read_float(const cJSON *root, const char *path, const char *key, float *out) {
    const cJSON *v = json_value(root, key);
    if (!v)
        return NPG_OK;
    if (!cJSON_IsNumber(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s' must be a number", path, key);
    *out = (float)v->valuedouble;
    return NPG_OK;
}

static npg_status read_bool(const cJSON *root, const char *path, const char *key, bool *out) {
    const cJSON *v = json_value(root, key);
    if (!v)
        return NPG_OK;
    if (!cJSON_IsBool(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s' must be true or false", path, key);
    *out = cJSON_IsTrue(v);
    return NPG_OK;
}

/* eos_token_id: an integer (-1 = none) or a list of non-negative integers. */
static npg_status read_eos(const cJSON *root, const char *path, npg_generation_config *c) {
    const cJSON *v = json_value(root, "eos_token_id");
    if (!v)
        return NPG_OK;
    if (is_integer(v)) {
        if (v->valuedouble < -1.0 || v->valuedouble > (double)INT32_MAX)
            return npg_fail(NPG_ERR_FORMAT, "%s: key 'eos_token_id' must be a token id, got %g", path, v->valuedouble);
        return npg_generation_config_set_eos_token_id(c, (int64_t)v->valuedouble);
    }
    if (!cJSON_IsArray(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: key 'eos_token_id' must be an integer or a list of integers", path);
    NPG_TRY(npg_generation_config_set_eos_token_id(c, -1));
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, v) {
        if (!is_integer(item) || item->valuedouble < 0.0 || item->valuedouble > (double)INT32_MAX)
            return npg_fail(NPG_ERR_FORMAT, "%s: key 'eos_token_id' must list non-negative integer token ids", path);
        NPG_TRY(npg_generation_config_add_eos_token_id(c, (int64_t)item->valuedouble));
    }
    return NPG_OK;
}

/* OpenVINO GenAI extensions that a generation_config.json may carry (not Hugging Face keys). */
static npg_status read_stop_token_ids(const cJSON *root, const char *path, npg_generation_config *c) {
    const cJSON *v = json_value(root, "stop_token_ids");
    if (!v)
        return NPG_OK;
    if (!cJSON_IsArray(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: key 'stop_token_ids' must be a list of integers", path);
    size_t n = (size_t)cJSON_GetArraySize(v);
    int64_t *ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n)
        NPG_CHECK_ALLOC(ids);
    size_t i = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, v) {
        if (!is_integer(item) || item->valuedouble < 0.0 || item->valuedouble > (double)INT32_MAX) {
            free(ids);
            return npg_fail(NPG_ERR_FORMAT, "%s: key 'stop_token_ids' must list non-negative integer token ids", path);
        }
        ids[i++] = (int64_t)item->valuedouble;
    }
    npg_status st = npg_generation_config_set_stop_token_ids(c, ids, n);
    free(ids);
    return st;
}

static npg_status read_stop_strings(const cJSON *root, const char *path, npg_generation_config *c) {
    const cJSON *v = json_value(root, "stop_strings");
    if (!v)
        return NPG_OK;
    if (!cJSON_IsArray(v))
        return npg_fail(NPG_ERR_FORMAT, "%s: key 'stop_strings' must be a list of strings", path);
    size_t n = (size_t)cJSON_GetArraySize(v);
    const char **strs = n ? malloc(n * sizeof *strs) : NULL;
    if (n)
        NPG_CHECK_ALLOC(strs);
    size_t i = 0;
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, v) {
        if (!cJSON_IsString(item)) {
            free(strs);
            return npg_fail(NPG_ERR_FORMAT, "%s: key 'stop_strings' must be a list of strings", path);
        }
        strs[i++] = item->valuestring;
    }
    npg_status st = npg_generation_config_set_stop_strings(c, strs, n);
    free(strs);
    return st;
}

static npg_status read_all_keys(const cJSON *root, const char *path, npg_generation_config *c) {
    if (!cJSON_IsObject(root))
        return npg_fail(NPG_ERR_FORMAT, "%s: the top level must be a JSON object", path);
    NPG_TRY(read_size(root, path, "max_new_tokens", &c->max_new_tokens));
    NPG_TRY(read_size(root, path, "max_length", &c->max_length));
    NPG_TRY(read_size(root, path, "min_new_tokens", &c->min_new_tokens));
    NPG_TRY(read_bool(root, path, "do_sample", &c->do_sample));
    NPG_TRY(read_float(root, path, "temperature", &c->temperature));
    NPG_TRY(read_size(root, path, "top_k", &c->top_k));
    NPG_TRY(read_float(root, path, "top_p", &c->top_p));
    NPG_TRY(read_float(root, path, "min_p", &c->min_p));
    NPG_TRY(read_float(root, path, "repetition_penalty", &c->repetition_penalty));
    NPG_TRY(read_eos(root, path, c));
    /* OpenVINO GenAI / OpenAI extensions. */
    NPG_TRY(read_float(root, path, "presence_penalty", &c->presence_penalty));
    NPG_TRY(read_float(root, path, "frequency_penalty", &c->frequency_penalty));
    NPG_TRY(read_size(root, path, "num_return_sequences", &c->num_return_sequences));
    NPG_TRY(read_bool(root, path, "ignore_eos", &c->ignore_eos));
    NPG_TRY(read_bool(root, path, "echo", &c->echo));
    NPG_TRY(read_bool(root, path, "include_stop_str_in_output", &c->include_stop_str_in_output));
    NPG_TRY(read_stop_token_ids(root, path, c));
    NPG_TRY(read_stop_strings(root, path, c));
    size_t seed = 0;
    const cJSON *sv = json_value(root, "rng_seed");
    if (sv) {
        NPG_TRY(read_size(root, path, "rng_seed", &seed));
        c->rng_seed = (uint64_t)seed;
    }
    return NPG_OK;
}

npg_status npg_generation_config_create_from_json(const char *json_path, npg_generation_config **out) {
    if (!json_path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_generation_config_create_from_json: %s is NULL",
                        json_path ? "out" : "json_path");
    cJSON *root = NULL;
    NPG_TRY(npg_json_parse_file(json_path, &root));
    npg_generation_config *c = NULL;
    npg_status st = npg_generation_config_create(&c);
    if (st == NPG_OK)
        st = read_all_keys(root, json_path, c);
    cJSON_Delete(root);
    if (st != NPG_OK) {
        npg_generation_config_free(c);
        return st;
    }
    *out = c;
    return NPG_OK;
}
