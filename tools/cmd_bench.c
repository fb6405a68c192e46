/* cmd_bench.c — `npugen bench`: load time, TTFT, prefill and decode speed, peak RSS, and how close
 * decode gets to the machine's measured memory read bandwidth.
 *
 * Decode reads every weight once per token, so bytes of weights per token × tokens/s ÷ measured read
 * bandwidth is the fraction of the roofline achieved. The prompt is synthetic (ids drawn from the
 * vocabulary with a fixed LCG, specials avoided) and generation ignores eos, so every run does
 * exactly -p prefill and -n decode steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "bench_audio.h"
#include "cli_util.h"
#include "gen_options.h"
#include "gen_pipe.h"
#include "measure.h"

static const char *const CMD = "bench";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen bench MODEL_DIR [-p PROMPT_TOKENS] [-n GEN_TOKENS] [-t THREADS] [--device D]\n"
            "                    [-c KEY=VALUE]... [--json] [--no-bandwidth] [--sequences N] [--image FILE]\n"
            "       npugen bench WHISPER_DIR --audio FILE [-t THREADS] [--device D] [-c KEY=VALUE]... [--json]\n\n"
            "Times one generation of GEN_TOKENS (default 64) after a synthetic prompt of PROMPT_TOKENS\n"
            "(default 128) and reports load time, TTFT, prefill and decode tokens/s, peak RSS, the\n"
            "machine's measured memory read bandwidth and the fraction of it decode achieves.\n\n"
            "  -p, --prompt-tokens N      synthetic prompt length (default 128)\n"
            "  --json                     print one JSON object instead of a table\n"
            "  --no-bandwidth             skip the bandwidth measurement (mem_bw_gbs = 0)\n"
            "  --audio FILE               a Whisper model on FILE: load_ms, mel_ms, encode_ms (per 30 s\n"
            "                             window), decode_ms_per_token, rtf, peak_rss_mb, threads\n"
            "  --image FILE               a vision-language model: the prompt is the image then \"Describe this\n"
            "                             image.\" (-p is ignored; prompt_tokens counts the image tokens);\n"
            "                             adds vision_ms (preprocessing + vision tower + projector) and the\n"
            "                             tower's vision_gflops\n"
            "  --sequences N              decode N sequences together after the one prompt (sampling,\n"
            "                             temperature 1 unless --temperature; CPU only); decode_tok_s is\n"
            "                             then the aggregate over all N, gen_tokens per sequence\n"
            "\n"
            "decode_bw_fraction above 1 means the weights fit in the CPU caches (tiny models): decode is\n"
            "then not bound by memory bandwidth and the fraction says nothing.\n"
            "  -n, --max-new-tokens N     tokens to generate (default 64 here)\n"
            "%s",
            /* the shared options but their first line, the generic -n (its default differs here) */
            strchr(gen_options_help, '\n') + 1);
}

typedef struct bench_result {
    double load_ms, compile_ms, ttft_ms, prefill_tok_s, decode_tok_s, peak_rss_mb, weights_mb, mem_bw_gbs,
        decode_bw_fraction, vision_ms, vision_gflops;
    size_t prompt_tokens, gen_tokens, sequences, context_length;
    int threads;
    bool sampled;  /* --temperature > 0: the run samples, from seed */
    bool text_model; /* --image given for a model without a vision tower */
    uint64_t seed;
    char architecture[64];
} bench_result;

static npg_status measure(const char *model_dir, const gen_options *o, size_t n_prompt, const npg_image *image,
                          bench_result *r) {
    gen_pipe gp = {0};
    npg_generation_config *cfg = NULL;
    npg_decoded_results *res = NULL;
    int32_t *ids = NULL;
    double t0 = npg_now_ms();
    npg_status st = gen_pipe_create(o, model_dir, &gp);
    if (st != NPG_OK)
        return st;
    if (image && !gp.vlm) {
        gen_pipe_free(&gp);
        r->text_model = true; /* reported by the caller */
        return NPG_ERR_UNSUPPORTED;
    }
    npg_llm_pipeline *pipe = (npg_llm_pipeline *)gen_pipe_llm(&gp);
    r->load_ms = npg_now_ms() - t0;
    const char *arch = NULL;
    size_t vocab_size = 0;
    uint64_t weight_bytes = 0;
    const npg_tokenizer *tok = NULL;
    st = npg_llm_pipeline_get_architecture(pipe, &arch);
    if (st == NPG_OK)
        st = npg_llm_pipeline_get_vocab_size(pipe, &vocab_size);
    if (st == NPG_OK)
        st = npg_llm_pipeline_get_weight_bytes(pipe, &weight_bytes);
    if (st == NPG_OK)
        st = npg_llm_pipeline_get_context_length(pipe, &r->context_length);
    if (st == NPG_OK)
        st = npg_llm_pipeline_get_tokenizer(pipe, &tok);
    if (st == NPG_OK)
        snprintf(r->architecture, sizeof r->architecture, "%s", arch);
    if (st == NPG_OK)
        st = gen_options_config(o, pipe, &cfg);
    if (st == NPG_OK)
        st = npg_generation_config_set_ignore_eos(cfg, true);
    if (st == NPG_OK)
        st = npg_generation_config_set_max_new_tokens(cfg, r->gen_tokens);
    if (st == NPG_OK && !o->has_temp)
        st = npg_generation_config_set_do_sample(cfg, r->sequences > 1); /* several sequences need sampling */
    if (st == NPG_OK && !o->has_temp && r->sequences > 1)
        st = npg_generation_config_set_temperature(cfg, 1.0f);
    if (st == NPG_OK)
        st = npg_generation_config_set_num_return_sequences(cfg, r->sequences);
    if (st == NPG_OK)
        st = npg_generation_config_get_do_sample(cfg, &r->sampled);
    if (st == NPG_OK)
        st = npg_generation_config_get_rng_seed(cfg, &r->seed);
    if (st == NPG_OK && image) {
        const npg_image *imgs[1] = {image};
        st = npg_vlm_pipeline_generate(gp.vlm, "Describe this image.", imgs, 1, cfg, NULL, &res);
    } else if (st == NPG_OK) {
        ids = malloc((n_prompt ? n_prompt : 1) * sizeof *ids);
        if (!ids)
            st = NPG_ERR_OUT_OF_MEMORY;
    }
    if (st == NPG_OK && !image) {
        uint32_t vocab = (uint32_t)vocab_size, x = 12345;
        int32_t bos = npg_tokenizer_bos_token_id(tok);
        for (size_t i = 0; i < n_prompt; i++) {
            x = x * 1664525u + 1013904223u;
            ids[i] = (int32_t)(3 + (x >> 8) % (vocab > 3 ? vocab - 3 : 1));
        }
        if (n_prompt && bos >= 0)
            ids[0] = bos;
        st = npg_llm_pipeline_generate_ids(pipe, ids, n_prompt, cfg, NULL, &res);
    }
    if (st == NPG_OK) {
        const npg_perf_metrics *m = NULL;
        float ttft = 0, sd = 0, thr = 0, comp = 0;
        size_t n_gen = 0;
        npg_decoded_results_get_perf_metrics(res, &m);
        npg_perf_metrics_get_ttft(m, &ttft, &sd);
        npg_perf_metrics_get_throughput(m, &thr, &sd);
        npg_perf_metrics_get_compile_time(m, &comp);
        npg_perf_metrics_get_num_generated_tokens(m, &n_gen);
        if (image) {
            float vms = 0;
            double flops = 0;
            npg_perf_metrics_get_vision_duration(m, &vms);
            npg_perf_metrics_get_num_input_tokens(m, &n_prompt);
            npg_vlm_pipeline_get_vision_flops(gp.vlm, &flops);
            r->vision_ms = (double)vms;
            r->vision_gflops = vms > 0 ? flops / ((double)vms * 1e6) : 0;
            r->prompt_tokens = n_prompt;
        }
        r->gen_tokens = n_gen / r->sequences; /* ignore_eos: every sequence runs to the end */
        r->compile_ms = (double)comp;
        r->ttft_ms = (double)ttft;
        r->prefill_tok_s = ttft > 0 ? (double)n_prompt * 1000.0 / (double)ttft : 0;
        r->decode_tok_s = (double)thr;
        r->weights_mb = (double)weight_bytes / 1e6;
        r->peak_rss_mb = (double)npg_peak_rss_bytes() / 1e6;
    }
    free(ids);
    npg_decoded_results_free(res);
    npg_generation_config_free(cfg);
    gen_pipe_free(&gp);
    return st;
}

static void print_result(const bench_result *r, const char *device, bool json) {
    char seed[32] = "null"; /* greedy: no seed */
    if (r->sampled)
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    if (json) {
        char b[9][40]; /* JSON has no nan / inf: those print as null */
        printf("{\"device\": \"%s\", \"architecture\": \"%s\", \"context_length\": %zu, \"threads\": %d, "
               "\"prompt_tokens\": %zu, \"gen_tokens\": %zu, \"sequences\": %zu, "
               "\"load_ms\": %s, \"compile_ms\": %s, \"ttft_ms\": %s, \"prefill_tok_s\": %s, "
               "\"decode_tok_s\": %s, \"peak_rss_mb\": %s, \"weights_mb\": %s, \"mem_bw_gbs\": %s, "
               "\"decode_bw_fraction\": %s, \"seed\": %s",
               device, r->architecture, r->context_length, r->threads, r->prompt_tokens, r->gen_tokens, r->sequences,
               cli_json_num(b[0], r->load_ms, 3), cli_json_num(b[1], r->compile_ms, 3),
               cli_json_num(b[2], r->ttft_ms, 3), cli_json_num(b[3], r->prefill_tok_s, 3),
               cli_json_num(b[4], r->decode_tok_s, 3), cli_json_num(b[5], r->peak_rss_mb, 3),
               cli_json_num(b[6], r->weights_mb, 3), cli_json_num(b[7], r->mem_bw_gbs, 3),
               cli_json_num(b[8], r->decode_bw_fraction, 4), seed);
        if (r->vision_ms > 0)
            printf(", \"vision_ms\": %s, \"vision_gflops\": %s", cli_json_num(b[0], r->vision_ms, 3),
                   cli_json_num(b[1], r->vision_gflops, 2));
        printf("}\n");
        return;
    }
    printf("device              %s\n", device);
    printf("model               %s, context %zu positions\n", r->architecture, r->context_length);
    printf("threads             %d\n", r->threads);
    printf("prompt / generated  %zu / %zu tokens%s\n", r->prompt_tokens, r->gen_tokens,
           r->sequences > 1 ? " per sequence" : "");
    if (r->sequences > 1)
        printf("sequences           %zu decoded together (decode: aggregate)\n", r->sequences);
    printf("load                %.2f ms (compile %.2f ms)\n", r->load_ms, r->compile_ms);
    if (r->vision_ms > 0)
        printf("vision              %.2f ms (tower %.2f GFLOP/s)\n", r->vision_ms, r->vision_gflops);
    printf("TTFT                %.2f ms\n", r->ttft_ms);
    printf("prefill             %.2f tok/s\n", r->prefill_tok_s);
    printf("decode              %.2f tok/s\n", r->decode_tok_s);
    printf("weights per token   %.2f MB\n", r->weights_mb);
    printf("peak RSS            %.2f MB\n", r->peak_rss_mb);
    if (r->sampled)
        printf("seed                %s\n", seed);
    if (r->mem_bw_gbs > 0)
        printf("read bandwidth      %.2f GB/s measured; decode reaches %.1f%% of it\n", r->mem_bw_gbs,
               100.0 * r->decode_bw_fraction);
}

int npg_cmd_bench(int argc, char **argv) {
    gen_options o;
    if (gen_options_init(&o) != NPG_OK)
        return cli_fail(CMD, NPG_ERR_OUT_OF_MEMORY);
    const char *model_dir = NULL, *image_file = NULL;
    npg_image *image = NULL;
    bool json = false, bandwidth = true;
    const char *audio = NULL;
    long long n_prompt = 128;
    bench_result r = {0};
    r.gen_tokens = 64;
    long long n_seqs = 1;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            usage(stdout);
            rc = 0;
            goto done;
        }
        if (cli_opt(a, "-p", "--prompt-tokens")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, 1, 1 << 20, &n_prompt))
                goto done;
        } else if (cli_opt(a, NULL, "--sequences")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, a, v, 1, 256, &n_seqs))
                goto done;
        } else if (cli_opt(a, NULL, "--image")) {
            if (!cli_value(CMD, argc, argv, &i, &image_file))
                goto done;
        } else if (cli_flag(a, NULL, "--json")) {
            json = true;
        } else if (cli_opt(a, NULL, "--audio")) {
            if (!cli_value(CMD, argc, argv, &i, &audio))
                goto done;
        } else if (cli_flag(a, NULL, "--no-bandwidth")) {
            bandwidth = false;
        } else {
            int res = gen_options_parse(&o, CMD, argc, argv, &i);
            if (res < 0)
                goto done;
            if (res > 0)
                continue;
            if (!gen_positional(CMD, a, &model_dir, usage))
                goto done;
        }
    }
    if (!model_dir) {
        cli_error(CMD, "missing MODEL_DIR (see npugen bench --help)");
        goto done;
    }
    if (!gen_options_check_keys(CMD, o.device, o.props))
        goto done;
    if (o.has_max_new)
        r.gen_tokens = (size_t)o.max_new;
    r.prompt_tokens = (size_t)n_prompt;
    r.sequences = (size_t)n_seqs;
    /* the count the engine uses: NUM_THREADS / INFERENCE_NUM_THREADS, 0 or absent = one per core
     * (as npg_threadpool_create resolves it) */
    if (npg_properties_num_threads(o.props, &r.threads) != NPG_OK) {
        rc = cli_fail(CMD, NPG_ERR_INVALID_ARGUMENT);
        goto done;
    }
    if (audio) {
        rc = cli_bench_audio(CMD, model_dir, audio, o.device, o.props, r.threads > 0 ? r.threads : cli_cpu_count(), json);
        goto done;
    }
    if (image_file && !gen_load_images(CMD, &image_file, 1, &image)) {
        rc = 1;
        goto done;
    }
    npg_status st = measure(model_dir, &o, (size_t)n_prompt, image, &r);
    if (r.text_model) {
        cli_error(CMD, "%s is a text model: --image needs a vision-language model (Gemma-3, LLaVA)", model_dir);
        rc = 1;
        goto done;
    }
    if (st != NPG_OK) {
        rc = cli_fail_model(CMD, st, model_dir);
        goto done;
    }
    if (bandwidth) {
        if (r.threads <= 0)
            r.threads = cli_cpu_count();
        r.mem_bw_gbs = cli_measure_read_bandwidth(r.threads, (size_t)512 << 20, 5);
        if (r.mem_bw_gbs > 0)
            /* the weights are read once per step for all sequences */
            r.decode_bw_fraction =
                r.weights_mb * 1e6 * r.decode_tok_s / (double)r.sequences / (r.mem_bw_gbs * 1e9);
    }
    print_result(&r, o.device, json);
    rc = 0;
done:
    npg_image_free(image);
    gen_options_free(&o);
    return rc;
}
