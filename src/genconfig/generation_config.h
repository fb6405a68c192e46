/* generation_config.h — the internal view of the public generation config (npg_generation_config in
 * include/npugen.h; defaults, JSON loading and validation in generation_config.c). Its own header so
 * that devices, samplers and pipelines can all read it without depending on each other. */
#ifndef NPG_GENCONFIG_GENERATION_CONFIG_H
#define NPG_GENCONFIG_GENERATION_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

/* Internal view of the public generation config (defined in generation_config.c). */
struct npg_generation_config {
    size_t max_new_tokens; /* SIZE_MAX = unset */
    size_t max_length;     /* SIZE_MAX = unset */
    size_t min_new_tokens;
    bool do_sample;
    float temperature;
    size_t top_k; /* 0 = off */
    float top_p;
    float min_p;
    uint64_t rng_seed;
    float repetition_penalty;
    float presence_penalty;
    float frequency_penalty;
    int64_t *eos_token_ids; /* [n_eos] */
    size_t n_eos;
    int64_t *stop_token_ids; /* [n_stop_ids] */
    size_t n_stop_ids;
    char **stop_strings; /* [n_stop_strings] */
    size_t n_stop_strings;
    bool include_stop_str_in_output;
    bool ignore_eos;
    bool echo;
    size_t num_return_sequences;
};

/* True when `id` ends generation under the config (eos ids unless ignore_eos, stop_token_ids). */
bool npg_generation_config_is_stop_id(const npg_generation_config *c, int32_t id);

#endif
