/* fuzz_template.c — Jinja chat-template compile and render.
 *
 * Input: template source, optionally followed by "\0" and a JSON object used as the render context;
 * without one (or when it does not parse) the context is a fixed two-turn conversation with the
 * variables chat templates read. Rendering is bounded (max_steps) so a template loop cannot stall the
 * fuzzer; output size and memory are bounded by libFuzzer's -rss_limit_mb and -malloc_limit_mb. */
#include "core/json.h"
#include "fuzz_util.h"
#include "template/template.h"

static const char default_context[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": "
    "\"Hi <b>there</b>\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}], \"add_generation_prompt\": true, "
    "\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"tools\": null, \"enable_thinking\": false, \"n\": 3, "
    "\"f\": 2.5, \"list\": [1, \"two\", [3], {\"k\": \"v\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t src_len = size;
    const uint8_t *ctx_src = NULL;
    const void *nul = memchr(data, 0, size);
    if (nul) {
        src_len = (size_t)((const uint8_t *)nul - data);
        ctx_src = (const uint8_t *)nul + 1;
    }
    npg_template *t = NULL;
    npg_status st = npg_template_compile((const char *)data, src_len, &t);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    cJSON *ctx = NULL;
    if (ctx_src && npg_json_parse((const char *)ctx_src, size - src_len - 1, "context", &ctx) != NPG_OK)
        ctx = NULL;
    if (!ctx && npg_json_parse(default_context, sizeof default_context - 1, "context", &ctx) != NPG_OK)
        abort();
    npg_template_options opts = {.pin_time = true, .now = 1700000000, .max_steps = 20000};
    char *out = NULL;
    st = npg_template_render(t, ctx, &opts, &out);
    fuzz_check_status(st);
    /* a compiled template is immutable: a second render gives the same result */
    char *again = NULL;
    npg_status st2 = npg_template_render(t, ctx, &opts, &again);
    if (st2 != st || (st == NPG_OK && strcmp(out, again) != 0))
        abort();
    free(out);
    free(again);
    cJSON_Delete(ctx);
    npg_template_free(t);
    return 0;
}
