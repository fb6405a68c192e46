/* fuzz_config.c — config.json as the model loader parses it, and the same bytes as a
 * generation_config.json (the two JSON files every model folder carries). */
#include "core/json.h"
#include "fuzz_util.h"
#include "models/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *root = NULL;
    npg_status st = npg_json_parse((const char *)data, size, "config.json", &root);
    fuzz_check_status(st);
    /* the allocation-free syntax check is at least as strict as cJSON: what it accepts, cJSON parses
     * (otherwise a malformed file would be reported as out of memory). Checked against cJSON itself:
     * npg_json_parse refuses more (NUL bytes anywhere, for one). */
    if (npg_json_syntax_valid((const char *)data, size)) {
        cJSON *direct = cJSON_ParseWithLengthOpts((const char *)data, size, NULL, false);
        if (!direct) {
            fprintf(stderr, "fuzz: npg_json_syntax_valid accepts text cJSON refuses\n");
            abort();
        }
        cJSON_Delete(direct);
    }
    if (st == NPG_OK) {
        npg_model_config *cfg = calloc(1, sizeof *cfg); /* ~4 KB of rope factors: not on the stack */
        if (!cfg)
            abort();
        st = npg_model_config_parse(root, "config.json", cfg);
        fuzz_check_status(st);
        free(cfg);
        cJSON_Delete(root);
    }
    char path[400];
    fuzz_write("generation_config.json", data, size, path, sizeof path);
    npg_generation_config *gc = NULL;
    st = npg_generation_config_create_from_json(path, &gc);
    fuzz_check_status(st);
    if (st == NPG_OK) {
        fuzz_check_status(npg_generation_config_validate(gc));
        npg_generation_config_free(gc);
    }
    return 0;
}
