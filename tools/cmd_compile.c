/* cmd_compile.c — `npugen compile`: compiles a model's NPU plan ahead of time into a blob
 * (the guide's EXPORT_BLOB=YES + BLOB_PATH), optionally encrypted with AES-256-GCM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_crypto.h"
#include "cli_util.h"
#include "gen_options.h"

static const char *const CMD = "compile";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen compile MODEL_DIR --device NPU -o BLOB [-c KEY=VALUE]... [--encrypt-key-file FILE]\n"
            "\n"
            "Compiles MODEL_DIR's static-shape NPU plan and writes it to BLOB, to be imported later with\n"
            "-c BLOB_PATH=BLOB (npugen generate / bench, or the C API).\n"
            "\n"
            "  --device NPU             the only device with compiled plans (default NPU)\n"
            "  -o, --output BLOB        where to write the blob (atomically)\n"
            "  -c KEY=VALUE             an NPU property, e.g. MAX_PROMPT_LEN=256, MIN_RESPONSE_LEN=128,\n"
            "                           NPUW_LLM_PREFILL_CHUNK_SIZE=64, PREFILL_HINT=STATIC,\n"
            "                           GENERATE_HINT=BEST_PERF, CACHE_MODE=OPTIMIZE_SPEED (blob with\n"
            "                           weights; default OPTIMIZE_SIZE: weightless), NUM_THREADS=4\n"
            "  --encrypt-key-file FILE  encrypt the blob with AES-256-GCM under a 32-byte key\n"
            "                           (weightless: all of it; with weights: all but the weights)\n"
            "  -h, --help               this help\n");
}

int npg_cmd_compile(int argc, char **argv) {
    const char *model = NULL, *output = NULL, *device = "NPU", *key_file = NULL;
    npg_properties *props = NULL;
    if (npg_properties_create(&props) != NPG_OK)
        return cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            npg_properties_free(props);
            return 0;
        } else if (cli_opt(a, "-d", "--device")) {
            rc = cli_value(CMD, argc, argv, &i, &device) ? 0 : 2;
        } else if (cli_opt(a, "-o", "--output")) {
            rc = cli_value(CMD, argc, argv, &i, &output) ? 0 : 2;
        } else if (cli_opt(a, NULL, "--encrypt-key-file")) {
            rc = cli_value(CMD, argc, argv, &i, &key_file) ? 0 : 2;
        } else if (cli_opt(a, "-c", "--config")) {
            const char *kv = NULL;
            rc = cli_value(CMD, argc, argv, &i, &kv) && cli_parse_property(CMD, kv, props) ? 0 : 2;
            if (rc == 0 && (strncmp(kv, "BLOB_PATH=", 10) == 0 || strncmp(kv, "EXPORT_BLOB=", 12) == 0)) {
                cli_error(CMD, "-c %s: compile sets BLOB_PATH and EXPORT_BLOB itself; give the blob with -o", kv);
                rc = 2;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_unknown_option(CMD, a, usage);
            rc = 2;
        } else if (!model) {
            model = a;
        } else {
            cli_error(CMD, "unexpected argument '%s' (one MODEL_DIR)", a);
            rc = 2;
        }
    }
    if (rc == 0 && (!model || !output)) {
        cli_error(CMD, "%s is required (usage: npugen compile MODEL_DIR --device NPU -o BLOB)",
                  !model ? "MODEL_DIR" : "-o BLOB");
        rc = 2;
    }
    const char *canonical = cli_device_name(device);
    if (rc == 0 && (!canonical || strcmp(canonical, "NPU") != 0)) {
        cli_error(CMD, "--device %s: only the NPU device compiles plans ahead of time", device);
        rc = 2;
    }
    if (rc == 0 && !gen_options_check_keys(CMD, "NPU", props))
        rc = 2;
    cli_crypto_key key;
    if (rc == 0 && key_file && !(cli_crypto_load_key(CMD, key_file, &key) && cli_crypto_set_callbacks(CMD, props, &key)))
        rc = 2;
    if (rc == 0 && (npg_properties_set(props, "EXPORT_BLOB", "YES") != NPG_OK ||
                    npg_properties_set(props, "BLOB_PATH", output) != NPG_OK))
        rc = cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    npg_llm_pipeline *pipe = NULL;
    if (rc == 0) {
        npg_status st = npg_properties_set_log_callback(props, cli_log_warnings, (void *)CMD);
        if (st == NPG_OK)
            st = npg_llm_pipeline_create_with_properties(model, "NPU", props, &pipe);
        if (st != NPG_OK)
            rc = cli_fail_model(CMD, st, model);
    }
    if (rc == 0) {
        struct stat sb;
        const char *mode = NULL;
        bool weights = npg_properties_get(props, "CACHE_MODE", &mode) == NPG_OK && strcmp(mode, "OPTIMIZE_SPEED") == 0;
        printf("wrote %s (%lld bytes, %s%s)\n", output, stat(output, &sb) == 0 ? (long long)sb.st_size : -1LL,
               weights ? "with weights" : "weightless", key_file ? ", encrypted" : "");
    }
    npg_llm_pipeline_free(pipe);
    npg_properties_free(props);
    return rc;
}
