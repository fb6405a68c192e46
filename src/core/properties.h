/* properties.h — internal view of npg_properties (the public string map plus callbacks). */
#ifndef NPG_CORE_PROPERTIES_H
#define NPG_CORE_PROPERTIES_H

#include "npugen.h"

typedef struct npg_property {
    char *key;
    char *value;
} npg_property;

struct npg_properties {
    npg_property *items; /* [count], insertion order */
    size_t count;
    size_t cap;
    npg_log_callback log_fn;
    void *log_user;
    npg_crypt_callback encrypt_fn;
    npg_crypt_callback decrypt_fn;
    void *crypt_user;
};

/* NULL when absent (props may be NULL). */
const char *npg_properties_find(const npg_properties *props, const char *key);
/* Deep copy (src may be NULL: an empty map). */
npg_status npg_properties_clone(const npg_properties *src, npg_properties **out);

/* Logging through the map's callback; silent when none is set. */
void npg_log(const npg_properties *props, npg_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
