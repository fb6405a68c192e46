/* cmd_generate.c — `npugen generate`: one prompt in, the continuation streamed to stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "cli_util.h"
#include "gen_options.h"
#include "gen_pipe.h"
#include "perf_print.h"

static const char *const CMD = "generate";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen generate MODEL_DIR (-p PROMPT | -f FILE | --prompt-ids IDS) [--image FILE]... [options]\n\n"
            "Generates a continuation of the prompt and streams it to stdout (no prompt echo), then a\n"
            "newline. MODEL_DIR is a Hugging Face folder, an `npugen export` folder or a GGUF file.\n"
            "It can also be a repo id fetched with `npugen pull` (ORG/NAME or ORG/NAME@REVISION).\n\n"
            "  -p, --prompt PROMPT        the prompt text\n"
            "  -f, --file FILE            read the prompt from FILE (- = standard input)\n"
            "  --prompt-ids 1,403,407     feed token ids (no template, no BOS added)\n"
            "  --image FILE               an image (PNG or JPEG) for a vision-language model (Gemma-3, LLaVA);\n"
            "                             repeat for several. The prompt places them with the model's tag\n"
            "                             (<start_of_image>, <image>) or <ov_genai_image_N>; without a tag\n"
            "                             they go before the text. NPU options: -c DEVICE_PROPERTIES='{\"NPU\":\n"
            "                             {\"MAX_PROMPT_LEN\": 1024}}'\n"
            "  --chat                     wrap the prompt in the model's chat template (one user turn)\n"
            "  --system TEXT              a system message first (implies --chat)\n"
            "  --print-ids                print the generated ids (space-separated) instead of text\n"
            "  --perf                     print performance metrics (and the sampling seed) to stderr\n"
            "  --num-return-sequences N   decode N sequences together in one batch (needs sampling, e.g.\n"
            "                             --temperature 0.8; sequence i uses seed S + i); each is printed\n"
            "                             after a line \"[sequence i]\"; the CPU device only\n"
            "  --json                     print one JSON object instead of streaming text: {\"texts\": [...],\n"
            "                             \"ids\": [[...]], \"finish_reasons\": [...], \"scores\": [...],\n"
            "                             \"seed\": S, \"perf\": {...}}\n"
            "%s",
            gen_options_help);
}

typedef struct gen_args {
    const char *model_dir, *prompt, *file, *ids_arg, *system;
    bool chat, print_ids, perf, json;
    long long n_seqs; /* 0 = the model's config (1) */
    const char *images[GEN_MAX_IMAGES];
    size_t n_images;
} gen_args;

/* 1: consumed, 0: not ours, -1: usage error */
static int parse_own(gen_args *g, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (cli_opt(a, NULL, "--prompt-ids"))
        return cli_value(CMD, argc, argv, i, &g->ids_arg) ? 1 : -1;
    if (cli_opt(a, NULL, "--image")) {
        if (g->n_images == GEN_MAX_IMAGES) {
            cli_error(CMD, "--image: at most %d images", GEN_MAX_IMAGES);
            return -1;
        }
        return cli_value(CMD, argc, argv, i, &g->images[g->n_images++]) ? 1 : -1;
    }
    if (cli_opt(a, "-p", "--prompt"))
        return cli_value(CMD, argc, argv, i, &g->prompt) ? 1 : -1;
    if (cli_opt(a, "-f", "--file"))
        return cli_value(CMD, argc, argv, i, &g->file) ? 1 : -1;
    if (cli_opt(a, NULL, "--system"))
        return cli_value(CMD, argc, argv, i, &g->system) ? 1 : -1;
    if (cli_flag(a, NULL, "--chat"))
        return g->chat = true, 1;
    if (cli_flag(a, NULL, "--print-ids"))
        return g->print_ids = true, 1;
    if (cli_flag(a, NULL, "--perf"))
        return g->perf = true, 1;
    if (cli_flag(a, NULL, "--json"))
        return g->json = true, 1;
    if (cli_opt(a, NULL, "--num-return-sequences")) {
        const char *v = NULL;
        return cli_value(CMD, argc, argv, i, &v) && cli_parse_long(CMD, a, v, 1, 256, &g->n_seqs) ? 1 : -1;
    }
    return 0;
}

static const char *finish_name(npg_finish_reason f) {
    switch (f) {
    case NPG_FINISH_EOS: return "eos";
    case NPG_FINISH_LENGTH: return "length";
    case NPG_FINISH_CONTEXT: return "context";
    case NPG_FINISH_STOPPED: return "stopped";
    case NPG_FINISH_NONE: break;
    }
    return "none";
}

static void print_ids(const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        printf(i ? " %d" : "%d", ids[i]);
}

/* --json: one object with every sequence. */
static void print_json(const npg_decoded_results *res, const npg_generation_config *cfg) {
    size_t count = 0;
    uint64_t seed = 0;
    npg_decoded_results_get_count(res, &count);
    npg_generation_config_get_rng_seed(cfg, &seed);
    printf("{\"texts\": [");
    for (size_t i = 0; i < count; i++) {
        size_t size = 0;
        char *text = NULL;
        if (npg_decoded_results_get_string_at(res, i, NULL, &size) == NPG_OK && (text = malloc(size)) != NULL &&
            npg_decoded_results_get_string_at(res, i, text, &size) == NPG_OK) {
            fputs(i ? ", " : "", stdout);
            cli_json_string(stdout, text);
        } else {
            fputs(i ? ", \"\"" : "\"\"", stdout);
        }
        free(text);
    }
    printf("], \"ids\": [");
    for (size_t i = 0; i < count; i++) {
        const int32_t *ids = NULL;
        size_t n = 0;
        npg_decoded_results_get_ids_at(res, i, &ids, &n);
        printf(i ? ", [" : "[");
        for (size_t k = 0; k < n; k++)
            printf(k ? ", %d" : "%d", ids[k]);
        printf("]");
    }
    printf("], \"finish_reasons\": [");
    for (size_t i = 0; i < count; i++) {
        npg_finish_reason f = NPG_FINISH_NONE;
        npg_decoded_results_get_finish_reason_at(res, i, &f);
        printf(i ? ", \"%s\"" : "\"%s\"", finish_name(f));
    }
    printf("], \"scores\": [");
    for (size_t i = 0; i < count; i++) {
        float score = 0;
        npg_decoded_results_get_score_at(res, i, &score);
        if (isfinite(score))
            printf(i ? ", %.6g" : "%.6g", (double)score);
        else
            printf(i ? ", null" : "null"); /* JSON has no infinity */
    }
    printf("], \"seed\": %llu, \"perf\": ", (unsigned long long)seed);
    const npg_perf_metrics *m = NULL;
    if (npg_decoded_results_get_perf_metrics(res, &m) == NPG_OK)
        cli_json_perf(stdout, m);
    else
        printf("{}");
    printf("}\n");
}

/* Text output after the run: ids (--print-ids), or with several sequences each text after a header
 * (one sequence was streamed). */
static void print_plain(const gen_args *g, const npg_decoded_results *res) {
    size_t count = 0;
    npg_decoded_results_get_count(res, &count);
    for (size_t i = 0; i < count; i++) {
        if (count > 1)
            printf("[sequence %zu]\n", i);
        if (g->print_ids) {
            const int32_t *ids = NULL;
            size_t n = 0;
            npg_decoded_results_get_ids_at(res, i, &ids, &n);
            print_ids(ids, n);
        } else if (count > 1) {
            size_t size = 0;
            char *text = NULL;
            if (npg_decoded_results_get_string_at(res, i, NULL, &size) == NPG_OK && (text = malloc(size)) != NULL &&
                npg_decoded_results_get_string_at(res, i, text, &size) == NPG_OK)
                fputs(text, stdout);
            free(text);
        }
        if (i + 1 < count)
            putchar('\n');
    }
    putchar('\n');
}

static npg_status apply_sequences(const gen_args *g, npg_generation_config *cfg) {
    if (g->n_seqs == 0)
        return NPG_OK;
    bool sample = false;
    npg_generation_config_get_do_sample(cfg, &sample);
    if (g->n_seqs > 1 && !sample)
        return NPG_ERR_INVALID_ARGUMENT; /* reported as a usage error by the caller */
    return npg_generation_config_set_num_return_sequences(cfg, (size_t)g->n_seqs);
}

static int run(const gen_args *g, const gen_options *o, const char *prompt_text, const int32_t *ids, size_t n_ids) {
    gen_pipe pipe = {0};
    npg_generation_config *cfg = NULL;
    npg_decoded_results *res = NULL;
    npg_chat_history *hist = NULL;
    npg_image *images[GEN_MAX_IMAGES] = {0};
    npg_status st = gen_pipe_create(o, g->model_dir, &pipe);
    if (st != NPG_OK)
        return cli_fail_model(CMD, st, g->model_dir);
    if (g->n_images && !pipe.vlm) {
        cli_error(CMD, "%s is a text model (%s): --image needs a vision-language model (Gemma-3, LLaVA)",
                  g->model_dir, "no vision tower in its config.json");
        gen_pipe_free(&pipe);
        return 1;
    }
    if (!gen_load_images(CMD, g->images, g->n_images, images)) {
        gen_pipe_free(&pipe);
        return 1;
    }
    st = gen_options_config(o, gen_pipe_llm(&pipe), &cfg);
    if (st == NPG_OK && g->chat)
        gen_warn_no_template(CMD, gen_pipe_llm(&pipe), g->model_dir);
    if (st == NPG_OK && apply_sequences(g, cfg) != NPG_OK) {
        cli_error(CMD, "--num-return-sequences %lld needs sampling (--temperature T > 0, or a model whose "
                       "generation_config.json samples): greedy decoding would return %lld identical sequences",
                  g->n_seqs, g->n_seqs);
        npg_generation_config_free(cfg);
        gen_free_images(images, g->n_images);
        gen_pipe_free(&pipe);
        return 2;
    }
    npg_streamer streamer = {gen_stream_stdout, NULL};
    /* stream one sequence as text; several sequences and --json are printed at the end */
    const npg_streamer *sp = g->print_ids || g->json || g->n_seqs > 1 ? NULL : &streamer;
    const npg_image *const *imgs = (const npg_image *const *)images;
    if (st == NPG_OK) {
        if (ids) {
            st = npg_llm_pipeline_generate_ids((npg_llm_pipeline *)gen_pipe_llm(&pipe), ids, n_ids, cfg, sp, &res);
        } else if (g->chat && pipe.vlm) { /* one user turn of a conversation, images included */
            st = gen_pipe_start_chat(&pipe, g->system);
            if (st == NPG_OK)
                st = gen_pipe_generate(&pipe, prompt_text, imgs, g->n_images, cfg, sp, &res);
        } else if (g->chat) {
            st = npg_chat_history_create(&hist);
            if (st == NPG_OK && g->system)
                st = npg_chat_history_push(hist, "system", g->system);
            if (st == NPG_OK)
                st = npg_chat_history_push(hist, "user", prompt_text);
            if (st == NPG_OK)
                st = npg_llm_pipeline_generate_with_history(pipe.llm, hist, cfg, sp, &res);
        } else {
            st = gen_pipe_generate(&pipe, prompt_text, imgs, g->n_images, cfg, sp, &res);
        }
    }
    int rc = 0;
    if (st != NPG_OK) {
        fflush(stdout);
        rc = cli_fail(CMD, st);
    } else {
        if (g->json)
            print_json(res, cfg);
        else
            print_plain(g, res);
        fflush(stdout);
        gen_report_finish(CMD, res);
        if (g->perf) {
            perf_print_results(stderr, res);
            gen_print_seed(stderr, cfg);
        }
    }
    npg_chat_history_free(hist);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    gen_free_images(images, g->n_images);
    gen_pipe_free(&pipe);
    return rc;
}

int npg_cmd_generate(int argc, char **argv) {
    gen_args g = {0};
    gen_options o;
    if (gen_options_init(&o) != NPG_OK)
        return cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        int r = parse_own(&g, argc, argv, &i);
        if (r == 0)
            r = gen_options_parse(&o, CMD, argc, argv, &i);
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        if (!gen_positional(CMD, argv[i], &g.model_dir, usage))
            goto done;
    }
    if (!g.model_dir) {
        cli_error(CMD, "missing MODEL_DIR (see npugen generate --help)");
        goto done;
    }
    if (!gen_options_check_keys(CMD, o.device, o.props))
        goto done;
    if (g.system) /* a system message only means something in a chat template */
        g.chat = true;
    if (!!g.prompt + !!g.file + !!g.ids_arg != 1) {
        cli_error(CMD, "give exactly one of -p PROMPT, -f FILE or --prompt-ids IDS");
        goto done;
    }
    if (g.json && g.print_ids) {
        cli_error(CMD, "--json already prints the ids: give one of --json or --print-ids");
        goto done;
    }
    if (g.ids_arg && g.n_images) {
        cli_error(CMD, "--image goes with a text prompt (-p or -f), not --prompt-ids");
        goto done;
    }
    if (g.ids_arg && g.chat) {
        cli_error(CMD, "--chat and --system take a text prompt, not --prompt-ids");
        goto done;
    }
    char *file_text = NULL;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    size_t file_len = 0;
    if (g.file && !cli_read_file_n(CMD, g.file, &file_text, &file_len)) {
        rc = 1;
        goto done;
    }
    if (file_text && memchr(file_text, '\0', file_len)) { /* the prompt is text: no silent truncation */
        cli_error(CMD, "%s: a NUL byte at offset %zu; a prompt is text (npugen tokenize -f keeps NUL bytes)",
                  g.file, (size_t)((const char *)memchr(file_text, '\0', file_len) - file_text));
        free(file_text);
        rc = 1;
        goto done;
    }
    if (g.ids_arg && !cli_parse_ids(CMD, g.ids_arg, &ids, &n_ids))
        goto done;
    rc = run(&g, &o, g.file ? file_text : g.prompt, ids, n_ids);
    free(file_text);
    free(ids);
done:
    gen_options_free(&o);
    return rc;
}
