#include "core/properties.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

npg_status npg_properties_create(npg_properties **out) {
    if (!out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_create: out is NULL");
    npg_properties *p = calloc(1, sizeof *p);
    NPG_CHECK_ALLOC(p);
    *out = p;
    return NPG_OK;
}

void npg_properties_free(npg_properties *props) {
    if (!props)
        return;
    for (size_t i = 0; i < props->count; i++) {
        free(props->items[i].key);
        free(props->items[i].value);
    }
    free(props->items);
    free(props);
}

npg_status npg_properties_set(npg_properties *props, const char *key, const char *value) {
    if (!props || !key || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_set: %s is NULL",
                        !props ? "props" : !key ? "key" : "value");
    char *v = strdup(value);
    NPG_CHECK_ALLOC(v);
    for (size_t i = 0; i < props->count; i++) {
        if (strcmp(props->items[i].key, key) == 0) {
            free(props->items[i].value);
            props->items[i].value = v;
            return NPG_OK;
        }
    }
    if (props->count == props->cap) {
        size_t cap = props->cap ? props->cap * 2 : 8;
        npg_property *items = realloc(props->items, cap * sizeof *items);
        if (!items) {
            free(v);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_properties_set: out of memory");
        }
        props->items = items;
        props->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "npg_properties_set: out of memory");
    }
    props->items[props->count].key = k;
    props->items[props->count].value = v;
    props->count++;
    return NPG_OK;
}

const char *npg_properties_find(const npg_properties *props, const char *key) {
    if (!props)
        return NULL;
    for (size_t i = 0; i < props->count; i++)
        if (strcmp(props->items[i].key, key) == 0)
            return props->items[i].value;
    return NULL;
}

npg_status npg_properties_get(const npg_properties *props, const char *key, const char **value) {
    if (!props || !key || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_get: an argument is NULL");
    const char *v = npg_properties_find(props, key);
    if (!v)
        return npg_fail(NPG_ERR_NOT_FOUND, "property '%s' is not set", key);
    *value = v;
    return NPG_OK;
}

size_t npg_properties_size(const npg_properties *props) { return props ? props->count : 0; }

npg_status npg_properties_at(const npg_properties *props, size_t i, const char **key, const char **value) {
    if (!props || !key || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_at: an argument is NULL");
    if (i >= props->count)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_at: index %zu >= size %zu", i, props->count);
    *key = props->items[i].key;
    *value = props->items[i].value;
    return NPG_OK;
}

npg_status npg_properties_set_log_callback(npg_properties *props, npg_log_callback callback, void *user_data) {
    if (!props)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_set_log_callback: props is NULL");
    props->log_fn = callback;
    props->log_user = user_data;
    return NPG_OK;
}

npg_status npg_properties_set_encryption_callbacks(npg_properties *props, npg_crypt_callback encrypt,
                                                   npg_crypt_callback decrypt, void *user_data) {
    if (!props)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_properties_set_encryption_callbacks: props is NULL");
    props->encrypt_fn = encrypt;
    props->decrypt_fn = decrypt;
    props->crypt_user = user_data;
    return NPG_OK;
}

npg_status npg_properties_clone(const npg_properties *src, npg_properties **out) {
    npg_properties *p = NULL;
    NPG_TRY(npg_properties_create(&p));
    if (src) {
        for (size_t i = 0; i < src->count; i++) {
            npg_status st = npg_properties_set(p, src->items[i].key, src->items[i].value);
            if (st != NPG_OK) {
                npg_properties_free(p);
                return st;
            }
        }
        p->log_fn = src->log_fn;
        p->log_user = src->log_user;
        p->encrypt_fn = src->encrypt_fn;
        p->decrypt_fn = src->decrypt_fn;
        p->crypt_user = src->crypt_user;
    }
    *out = p;
    return NPG_OK;
}

void npg_log(const npg_properties *props, npg_log_level level, const char *fmt, ...) {
    if (!props || !props->log_fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    props->log_fn(props->log_user, level, msg);
}
