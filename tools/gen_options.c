#include "gen_options.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"

/* The first line is -n's: `bench --help` prints its own -n line and skips this one. */
const char gen_options_help[] =
    "  -n, --max-new-tokens N     tokens to generate at most (default: the model's, else 256)\n"
    "  --device D                 CPU (default) or NPU, in any case\n"
    "  -c, --config KEY=VALUE     a pipeline property (NUM_THREADS=2, MAX_PROMPT_LEN=256, ...); repeatable\n"
    "  -t, --threads N            same as -c NUM_THREADS=N (0 = one per core)\n"
    "  --greedy                   greedy decoding (the default unless the model's config samples)\n"
    "  --temperature T            sample with temperature T (> 0 turns sampling on)\n"
    "  --top-k K, --top-p P, --min-p P   sampling filters\n"
    "  --repetition-penalty R     penalize tokens already seen (1 = off)\n"
    "  --seed S                   random seed (same seed, same text); when sampling without it, a random\n"
    "                             seed is picked and printed with --perf / --json\n"
    "  --stop STR                 stop when STR is generated; repeatable\n"
    "  --ignore-eos               keep generating past end-of-sequence tokens\n"
    "  --encrypt-key-file FILE    a 32-byte key: NPU blobs and cache entries are AES-256-GCM encrypted\n";

npg_status gen_options_init(gen_options *o) {
    memset(o, 0, sizeof *o);
    o->device = "CPU";
    return npg_properties_create(&o->props);
}

void gen_options_free(gen_options *o) {
    npg_properties_free(o->props);
    o->props = NULL;
}

/* A value option (also "-n5", "--max-new-tokens=5"). */
static bool is_opt(const char *a, const char *s, const char *l) { return cli_opt(a, s, l); }

int gen_options_parse(gen_options *o, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i], *v = NULL;
    long long n;
    if (is_opt(a, "-n", "--max-new-tokens")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_long(cmd, a, v, 0, 1LL << 40, &o->max_new))
            return -1;
        o->has_max_new = true;
    } else if (is_opt(a, NULL, "--device")) {
        if (!cli_value(cmd, argc, argv, i, &v))
            return -1;
        o->device = cli_device_name(v);
        if (!o->device) {
            cli_error(cmd, "--device %s: not a device (use CPU or NPU, in any case)", v);
            return -1;
        }
    } else if (is_opt(a, "-c", "--config")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_property(cmd, v, o->props))
            return -1;
    } else if (is_opt(a, "-t", "--threads")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_long(cmd, a, v, 0, 256, &n))
            return -1;
        if (npg_properties_set(o->props, "NUM_THREADS", v) != NPG_OK) {
            cli_fail(cmd, NPG_ERR_OUT_OF_MEMORY);
            return -1;
        }
    } else if (cli_flag(a, NULL, "--greedy")) {
        o->greedy = true;
    } else if (is_opt(a, NULL, "--temperature")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_float(cmd, a, v, &o->temperature))
            return -1;
        o->has_temp = true;
    } else if (is_opt(a, NULL, "--top-k")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_long(cmd, a, v, 0, 1LL << 31, &o->top_k))
            return -1;
        o->has_top_k = true;
    } else if (is_opt(a, NULL, "--top-p")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_float(cmd, a, v, &o->top_p))
            return -1;
        o->has_top_p = true;
    } else if (is_opt(a, NULL, "--min-p")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_float(cmd, a, v, &o->min_p))
            return -1;
        o->has_min_p = true;
    } else if (is_opt(a, NULL, "--repetition-penalty")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_float(cmd, a, v, &o->repetition_penalty))
            return -1;
        o->has_rep = true;
    } else if (is_opt(a, NULL, "--seed")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_parse_long(cmd, a, v, 0, (1LL << 62), &n))
            return -1;
        o->seed = (unsigned long long)n;
        o->has_seed = true;
    } else if (is_opt(a, NULL, "--stop")) {
        if (!cli_value(cmd, argc, argv, i, &v))
            return -1;
        if (o->n_stops == GEN_MAX_STOPS) {
            cli_error(cmd, "--stop: at most %d stop strings", GEN_MAX_STOPS);
            return -1;
        }
        o->stops[o->n_stops++] = v;
    } else if (is_opt(a, NULL, "--encrypt-key-file")) {
        if (!cli_value(cmd, argc, argv, i, &v) || !cli_crypto_load_key(cmd, v, &o->key) ||
            !cli_crypto_set_callbacks(cmd, o->props, &o->key))
            return -1;
    } else if (cli_flag(a, NULL, "--ignore-eos")) {
        o->ignore_eos = true;
    } else {
        return 0;
    }
    return 1;
}

uint64_t gen_random_seed(void) {
    uint64_t x = 0;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    return x & ((1ULL << 62) - 1); /* what --seed accepts */
}

/* Whether key is in a NULL-terminated list. */
static bool key_in(const char *const *keys, const char *key) {
    for (size_t i = 0; keys && keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

bool gen_options_check_keys(const char *cmd, const char *device, const npg_properties *props) {
    const char *const *mine = npg_device_property_keys(device);
    if (!mine) {
        cli_error(cmd, "--device %s: not a device", device);
        return false;
    }
    const char *all[64]; /* every device's keys, for "did you mean" */
    size_t n_all = 0;
    for (size_t d = 0; npg_device_name_at(d); d++)
        for (const char *const *k = npg_device_property_keys(npg_device_name_at(d)); *k && n_all < 64; k++)
            all[n_all++] = *k;
    for (size_t i = 0; i < npg_properties_size(props); i++) {
        const char *key = NULL, *value = NULL;
        npg_properties_at(props, i, &key, &value);
        if (key_in(mine, key) || strcmp(key, "DEVICE_PROPERTIES") == 0) /* a VLM's nested options */
            continue;
        for (size_t d = 0; npg_device_name_at(d); d++)
            if (key_in(npg_device_property_keys(npg_device_name_at(d)), key)) {
                cli_error(cmd, "-c %s: applies to the %s device only (add --device %s)", key, npg_device_name_at(d),
                          npg_device_name_at(d));
                return false;
            }
        const char *hint = cli_suggest(key, all, n_all);
        char valid[512] = "";
        for (const char *const *k = mine; *k; k++) {
            strncat(valid, *valid ? ", " : "", sizeof valid - strlen(valid) - 1);
            strncat(valid, *k, sizeof valid - strlen(valid) - 1);
        }
        cli_error(cmd, "-c %s: not a property of device %s%s%s%s (valid: %s)", key, device,
                  hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "", valid);
        return false;
    }
    return true;
}

void gen_print_seed(FILE *fp, const npg_generation_config *cfg) {
    bool sample = false;
    uint64_t seed = 0;
    if (npg_generation_config_get_do_sample(cfg, &sample) == NPG_OK && sample &&
        npg_generation_config_get_rng_seed(cfg, &seed) == NPG_OK)
        fprintf(fp, "seed:                 %10llu (sampling; --seed %llu repeats this run)\n",
                (unsigned long long)seed, (unsigned long long)seed);
}

void gen_warn_no_template(const char *cmd, const npg_llm_pipeline *pipe, const char *model_dir) {
    const npg_tokenizer *tok = NULL;
    npg_chat_history *h = NULL;
    char *text = NULL;
    if (npg_llm_pipeline_get_tokenizer(pipe, &tok) == NPG_OK && npg_chat_history_create(&h) == NPG_OK &&
        npg_tokenizer_apply_chat_template(tok, h, true, NULL, &text) == NPG_ERR_NOT_FOUND)
        fprintf(stderr,
                "npugen %s: warning: %s has no chat template: the prompt is used as-is (messages joined by "
                "newlines)\n",
                cmd, model_dir);
    npg_free(text);
    npg_chat_history_free(h);
}

void gen_report_finish(const char *cmd, const npg_decoded_results *res) {
    npg_finish_reason why = NPG_FINISH_NONE;
    const npg_perf_metrics *m = NULL;
    size_t n_in = 0, n_out = 0;
    if (npg_decoded_results_get_finish_reason(res, &why) != NPG_OK || why != NPG_FINISH_CONTEXT)
        return;
    if (npg_decoded_results_get_perf_metrics(res, &m) == NPG_OK) {
        npg_perf_metrics_get_num_input_tokens(m, &n_in);
        npg_perf_metrics_get_num_generated_tokens(m, &n_out);
    }
    fprintf(stderr,
            "npugen %s: note: generation stopped at the end of the context (%zu prompt + %zu generated tokens; "
            "finish reason: context)\n",
            cmd, n_in, n_out);
}

npg_status gen_options_config(const gen_options *o, const npg_llm_pipeline *pipe, npg_generation_config **out) {
    npg_generation_config *c = NULL;
    npg_status st = npg_llm_pipeline_get_generation_config(pipe, &c);
    if (st != NPG_OK)
        return st;
    if (o->has_max_new)
        st = npg_generation_config_set_max_new_tokens(c, (size_t)o->max_new);
    if (st == NPG_OK && o->greedy)
        st = npg_generation_config_set_do_sample(c, false);
    if (st == NPG_OK && o->has_temp) {
        st = npg_generation_config_set_temperature(c, o->temperature);
        /* a positive temperature asks for sampling (unless --greedy says otherwise) */
        if (st == NPG_OK && !o->greedy)
            st = npg_generation_config_set_do_sample(c, o->temperature > 0.0f);
    }
    if (st == NPG_OK && !o->greedy && (o->has_top_k || o->has_top_p || o->has_min_p) && !o->has_temp)
        st = npg_generation_config_set_do_sample(c, true);
    if (st == NPG_OK && o->has_top_k)
        st = npg_generation_config_set_top_k(c, (size_t)o->top_k);
    if (st == NPG_OK && o->has_top_p)
        st = npg_generation_config_set_top_p(c, o->top_p);
    if (st == NPG_OK && o->has_min_p)
        st = npg_generation_config_set_min_p(c, o->min_p);
    if (st == NPG_OK && o->has_rep)
        st = npg_generation_config_set_repetition_penalty(c, o->repetition_penalty);
    if (st == NPG_OK && o->has_seed)
        st = npg_generation_config_set_rng_seed(c, (uint64_t)o->seed);
    /* Sampling without --seed: a fresh seed per run (not the same text every time), kept in the
     * config so --perf / --json can print it and --seed can replay the run. A seed the model's
     * generation_config.json sets (non-zero) is the model's choice and stays. */
    bool sample = false;
    uint64_t seed = 0;
    if (st == NPG_OK && !o->has_seed && npg_generation_config_get_do_sample(c, &sample) == NPG_OK && sample &&
        npg_generation_config_get_rng_seed(c, &seed) == NPG_OK && seed == 0)
        st = npg_generation_config_set_rng_seed(c, gen_random_seed());
    if (st == NPG_OK && o->n_stops)
        st = npg_generation_config_set_stop_strings(c, o->stops, o->n_stops);
    if (st == NPG_OK && o->ignore_eos)
        st = npg_generation_config_set_ignore_eos(c, true);
    if (st == NPG_OK)
        st = npg_generation_config_validate(c);
    if (st != NPG_OK) {
        npg_generation_config_free(c);
        return st;
    }
    *out = c;
    return NPG_OK;
}

npg_status gen_options_pipeline(const gen_options *o, const char *model_dir, npg_llm_pipeline **pipe) {
    npg_status st = npg_properties_set_log_callback(o->props, cli_log_warnings, NULL);
    if (st != NPG_OK)
        return st;
    return npg_llm_pipeline_create_with_properties(model_dir, o->device, o->props, pipe);
}

npg_streaming_status gen_stream_stdout(const char *text, void *user_data) {
    (void)user_data;
    fputs(text, stdout);
    fflush(stdout);
    return NPG_STREAMING_RUNNING;
}

bool gen_positional(const char *cmd, const char *arg, const char **model_dir, void (*usage)(FILE *)) {
    if (arg[0] == '-' && arg[1] != '\0') {
        cli_unknown_option(cmd, arg, usage);
        return false;
    }
    if (*model_dir) {
        cli_error(cmd, "unexpected argument '%s' (see npugen %s --help)", arg, cmd);
        return false;
    }
    *model_dir = arg;
    return true;
}
