/* fuzz_hub_listing.c — the answer of the Hub's listing endpoint (GET /api/models/{repo}/revision/{rev})
 * as `npugen pull` parses it: a server or mirror controls every byte, and each file name becomes a
 * path below the output folder, so the parser's guards (no "..", no absolute names, hashes of the
 * right shape) must hold for any input. The names it accepts also go through --include matching. */
#include <stdbool.h>
#include <string.h>

#include "fuzz_util.h"
#include "hub/hub.h"

/* A '/'-separated component equal to ".." ("a/../b"; "a..b" and "x../y" are ordinary names). */
static bool climbs(const char *name) {
    for (const char *c = name; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
        if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npg_hub_listing l;
    memset(&l, 0, sizeof l);
    npg_status st = npg_hub_parse_listing((const char *)data, size, "listing", &l);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    if (!l.commit || strlen(l.commit) != 40)
        abort();
    for (size_t i = 0; i < l.n_files; i++) {
        const char *name = l.files[i].name;
        /* the guard the cache layout relies on: a relative path that never climbs out */
        if (!name || !*name || name[0] == '/' || climbs(name))
            abort();
        (void)npg_hub_match("*.safetensors", name);
        (void)npg_hub_match(name, name);
    }
    npg_hub_listing_free(&l);
    return 0;
}
