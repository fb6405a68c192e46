/* template.h — compiling and rendering a chat template (a Jinja2 subset with Hugging Face's
 * environment: trim_blocks, lstrip_blocks, loop controls, tojson, raise_exception, strftime_now).
 *
 * Usage:
 *     npg_template *t;
 *     NPG_TRY(npg_template_compile(src, strlen(src), &t));      // syntax errors: "line L, column C: ..."
 *     char *text;
 *     npg_status st = npg_template_render(t, context, NULL, &text); // context: a cJSON object
 *     ...; free(text); npg_template_free(t);
 *
 * A compiled template is immutable: one template may be rendered many times (each render has its
 * own arena, released before render returns). Errors while rendering (raise_exception, unknown
 * filter or test, undefined values used where jinja2 fails) return a status with the message
 * "line L, column C: <message>", where raise_exception's message is kept verbatim. */
#ifndef NPG_TEMPLATE_TEMPLATE_H
#define NPG_TEMPLATE_TEMPLATE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

typedef struct npg_template npg_template;

/* Compiles `len` bytes of template source (need not be NUL-terminated; copied). Newlines are
 * normalized to "\n" and one trailing newline is dropped, as jinja2 does. Errors: NPG_ERR_FORMAT. */
npg_status npg_template_compile(const char *src, size_t len, npg_template **out);
void npg_template_free(npg_template *t);

typedef struct npg_template_options {
    bool pin_time;     /* strftime_now() formats `now` instead of the current time */
    int64_t now;       /* seconds since the epoch, formatted in local time */
    int64_t max_steps; /* bound on statements + loop iterations + calls; 0 = 1,000,000 (NPG_ERR_LIMIT) */
} npg_template_options;

/* Renders with the members of `context` (a JSON object; NULL = no variables) as variables. JSON
 * numbers with an integral value (|v| < 2^53) become Python ints, others floats. opts may be NULL.
 * *out is malloc'd (free with free / npg_free). */
npg_status npg_template_render(const npg_template *t, const cJSON *context, const npg_template_options *opts,
                               char **out);

#endif
