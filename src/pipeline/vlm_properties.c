/* vlm_properties.c — a VLM pipeline's properties as the guide writes them: the language model's device
 * options nested under DEVICE_PROPERTIES, {"NPU": {"MAX_PROMPT_LEN": 2048, ...}} (a JSON string value;
 * Python's single quotes are accepted too), merged over the flat keys every device reads (NUM_THREADS,
 * KERNEL_ISA). A flat NPU option on a VLM is refused with where it belongs (openvino.genai #3366: it
 * was silently ignored there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/json.h"
#include "pipeline/vlm_pipeline.h"

static bool key_in(const char *const *keys, const char *key) {
    for (size_t i = 0; keys && keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static npg_status parse_json_ish(const char *value, cJSON **out) {
    if (npg_json_parse(value, strlen(value), "DEVICE_PROPERTIES", out) == NPG_OK)
        return NPG_OK;
    char *copy = strdup(value);
    NPG_CHECK_ALLOC(copy);
    for (char *c = copy; *c; c++)
        if (*c == '\'')
            *c = '"';
    npg_status st = npg_json_parse(copy, strlen(copy), "DEVICE_PROPERTIES", out);
    free(copy);
    if (st != NPG_OK)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "DEVICE_PROPERTIES: '%s' is not a map such as {\"NPU\": {\"MAX_PROMPT_LEN\": 2048}}", value);
    return NPG_OK;
}

/* The device's entry of DEVICE_PROPERTIES, each value as a string, into props. */
static npg_status merge_entry(const cJSON *entry, const char *device, npg_properties *props) {
    if (!cJSON_IsObject(entry))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "DEVICE_PROPERTIES: the entry of %s must be a map of options",
                        device);
    for (const cJSON *v = entry->child; v; v = v->next) {
        char buf[64];
        const char *s = NULL;
        if (cJSON_IsString(v)) {
            s = v->valuestring;
        } else if (cJSON_IsBool(v)) {
            s = cJSON_IsTrue(v) ? "YES" : "NO";
        } else if (cJSON_IsNumber(v)) {
            int64_t i = 0;
            if (npg_json_int_value(v, &i))
                snprintf(buf, sizeof buf, "%lld", (long long)i);
            else
                snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
            s = buf;
        } else {
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "DEVICE_PROPERTIES: %s.%s must be a string, number or boolean", device, v->string);
        }
        NPG_TRY(npg_properties_set(props, v->string, s));
    }
    return NPG_OK;
}

npg_status npg_vlm_device_properties(const npg_device *dev, const npg_properties *in, npg_properties **out) {
    *out = NULL;
    npg_properties *props = NULL;
    NPG_TRY(npg_properties_clone(NULL, &props));
    if (in) { /* callbacks travel with the map */
        props->log_fn = in->log_fn;
        props->log_user = in->log_user;
        props->encrypt_fn = in->encrypt_fn;
        props->decrypt_fn = in->decrypt_fn;
        props->crypt_user = in->crypt_user;
    }
    npg_status st = NPG_OK;
    const char *nested = NULL;
    for (size_t i = 0; in && i < in->count && st == NPG_OK; i++) {
        const char *key = in->items[i].key, *value = in->items[i].value;
        if (strcmp(key, "DEVICE_PROPERTIES") == 0)
            nested = value;
        else if (key_in(npg_cpu_device.property_keys, key))
            st = npg_properties_set(props, key, value);
        else if (key_in(npg_npu_device.property_keys, key))
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                          "%s is an NPU option of the language model: on a VLM pipeline it belongs under "
                          "DEVICE_PROPERTIES, e.g. DEVICE_PROPERTIES={\"NPU\": {\"%s\": \"%s\"}}",
                          key, key, value);
        else
            st = npg_properties_set(props, key, value); /* the device check names unknown keys */
    }
    if (st == NPG_OK && nested) {
        cJSON *root = NULL;
        st = parse_json_ish(nested, &root);
        if (st == NPG_OK && !cJSON_IsObject(root))
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "DEVICE_PROPERTIES must be a map of devices, e.g. {\"NPU\": {...}}");
        for (const cJSON *d = root ? root->child : NULL; d && st == NPG_OK; d = d->next)
            if (strcasecmp(d->string, dev->name) == 0)
                st = merge_entry(d, dev->name, props);
        cJSON_Delete(root);
    }
    if (st != NPG_OK) {
        npg_properties_free(props);
        return st;
    }
    *out = props;
    return NPG_OK;
}
