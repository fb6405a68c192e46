/* gen_options.h — the options `generate`, `chat` and `bench` share: device, -c KEY=VALUE properties
 * and the sampling flags, applied to a generation config taken from the pipeline (so unset flags keep
 * the model's generation_config.json defaults). */
#ifndef NPG_TOOLS_GEN_OPTIONS_H
#define NPG_TOOLS_GEN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_crypto.h"
#include "npugen.h"

#define GEN_MAX_STOPS 16

typedef struct gen_options {
    const char *device;   /* "CPU" unless --device */
    npg_properties *props; /* -c KEY=VALUE, owned */
    cli_crypto_key key;    /* --encrypt-key-file: the callbacks on props point here */
    /* sampling flags; has_* says whether the flag was given */
    bool has_max_new, greedy, has_temp, has_top_k, has_top_p, has_min_p, has_rep, has_seed, ignore_eos;
    long long max_new, top_k;
    unsigned long long seed;
    float temperature, top_p, min_p, repetition_penalty;
    const char *stops[GEN_MAX_STOPS];
    size_t n_stops;
} gen_options;

npg_status gen_options_init(gen_options *o);
void gen_options_free(gen_options *o);

/* Consumes argv[*i] (and its value) when it is one of the shared options; returns 1 when consumed,
 * 0 when not one of them, -1 on a usage error (already printed). */
int gen_options_parse(gen_options *o, const char *cmd, int argc, char **argv, int *i);

/* The help lines of the shared options. */
extern const char gen_options_help[];

/* A copy of the pipeline's config with the flags applied (caller frees). */
npg_status gen_options_config(const gen_options *o, const npg_llm_pipeline *pipe, npg_generation_config **out);

/* The streamer of generate and chat: each piece to stdout, flushed. */
npg_streaming_status gen_stream_stdout(const char *text, void *user_data);

/* A non-option argument: the first is MODEL_DIR, anything else (or an unknown option, with the
 * closest option `usage` lists) is a usage error, printed. Returns false on error. */
bool gen_positional(const char *cmd, const char *arg, const char **model_dir, void (*usage)(FILE *));

/* After parsing: every -c key belongs to the device (else a usage error, printed, naming the key and
 * the closest valid one). */
bool gen_options_check_keys(const char *cmd, const char *device, const npg_properties *props);

/* A seed for sampling runs without --seed: getrandom, else time and pid; below 2^62 (--seed's range). */
uint64_t gen_random_seed(void);
/* "seed: N" on fp when cfg samples (with --perf). */
void gen_print_seed(FILE *fp, const npg_generation_config *cfg);
/* --chat on a tokenizer without a chat template: one warning line on stderr. */
void gen_warn_no_template(const char *cmd, const npg_llm_pipeline *pipe, const char *model_dir);
/* A generation that ended at the context limit: one note line on stderr saying so. */
void gen_report_finish(const char *cmd, const npg_decoded_results *res);

/* Creates the pipeline for MODEL_DIR with the device and properties. */
npg_status gen_options_pipeline(const gen_options *o, const char *model_dir, npg_llm_pipeline **pipe);

#endif
