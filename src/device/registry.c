/* registry.c — the table of devices and the checks every pipeline runs against it. */
#include "device/registry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

static const npg_device *const devices[] = {&npg_cpu_device, &npg_npu_device};
enum { N_DEVICES = sizeof devices / sizeof devices[0] };

size_t npg_device_count(void) { return N_DEVICES; }

const npg_device *npg_device_at(size_t i) { return i < N_DEVICES ? devices[i] : NULL; }

npg_status npg_device_find(const char *name, const npg_device **out) {
    *out = NULL;
    for (size_t i = 0; name && i < N_DEVICES; i++)
        if (strcasecmp(devices[i]->name, name) == 0) {
            *out = devices[i];
            return NPG_OK;
        }
    char list[256] = "";
    for (size_t i = 0; i < N_DEVICES; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", devices[i]->name);
    }
    return npg_fail(NPG_ERR_INVALID_ARGUMENT, "device '%s' is not supported (use one of %s)", name ? name : "(null)",
                    list);
}

static bool reads_key(const npg_device *d, const char *key) {
    for (const char *const *k = d->property_keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

/* Appends "A, B, C" (the strings of a NULL-terminated list, or the names of the devices reading key)
 * to buf, cut at its end. */
static void append(char *buf, size_t size, const char *s) {
    size_t used = strlen(buf);
    if (used + 1 < size)
        snprintf(buf + used, size - used, "%s%s", used ? ", " : "", s);
}

npg_status npg_device_check_properties(const npg_device *d, const npg_properties *props) {
    for (size_t i = 0; props && i < props->count; i++) {
        const char *key = props->items[i].key;
        if (reads_key(d, key))
            continue;
        char valid[512] = "", owners[128] = "";
        for (const char *const *k = d->property_keys; *k; k++)
            append(valid, sizeof valid, *k);
        size_t n_owners = 0;
        for (size_t j = 0; j < N_DEVICES; j++)
            if (devices[j] != d && reads_key(devices[j], key)) {
                append(owners, sizeof owners, devices[j]->name);
                n_owners++;
            }
        if (n_owners)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "property '%s' applies to the %s device%s only (device is %s; valid for %s: %s)", key,
                            owners, n_owners > 1 ? "s" : "", d->name, d->name, valid);
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "property '%s' is not supported by device %s (valid: %s)", key,
                        d->name, valid);
    }
    return NPG_OK;
}
