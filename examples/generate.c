/* generate.c — the smallest complete use of the npugen C API: load a model, generate greedily with a
 * streamer, read the performance metrics. CI builds and runs it on stories260K.
 *
 *   example_generate MODEL_DIR [PROMPT] */
#include <stdio.h>

#include "npugen.h"

static npg_streaming_status print_piece(const char *text, void *user_data) {
    size_t *pieces = user_data;
    (*pieces)++;
    fputs(text, stdout);
    fflush(stdout);
    return NPG_STREAMING_RUNNING;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL_DIR [PROMPT]\n", argv[0]);
        return 2;
    }
    const char *prompt = argc > 2 ? argv[2] : "Once upon a time";

    npg_llm_pipeline *pipe = NULL;
    npg_generation_config *config = NULL;
    npg_decoded_results *results = NULL;
    size_t pieces = 0;
    npg_streamer streamer = {print_piece, &pieces};

    /* Properties come as KEY, VALUE pairs, like the guide's pipeline_config. */
    npg_status st = npg_llm_pipeline_create(argv[1], "CPU", 2, &pipe, "NUM_THREADS", "1");
    if (st == NPG_OK)
        st = npg_generation_config_create(&config);
    if (st == NPG_OK)
        st = npg_generation_config_set_max_new_tokens(config, 40);
    if (st == NPG_OK)
        st = npg_llm_pipeline_generate(pipe, prompt, config, &streamer, &results);
    if (st != NPG_OK) {
        fprintf(stderr, "error: %s: %s\n", npg_status_name(st), npg_last_error());
    } else {
        /* The two-call getter: ask for the size, then fill a buffer. */
        char text[4096];
        size_t size = 0;
        npg_decoded_results_get_string(results, NULL, &size);
        if (size <= sizeof text) {
            npg_decoded_results_get_string(results, text, &size);
        }
        const npg_perf_metrics *m = NULL;
        float ttft = 0, ttft_std = 0, tput = 0, tput_std = 0;
        size_t n_gen = 0;
        npg_decoded_results_get_perf_metrics(results, &m);
        npg_perf_metrics_get_ttft(m, &ttft, &ttft_std);
        npg_perf_metrics_get_throughput(m, &tput, &tput_std);
        npg_perf_metrics_get_num_generated_tokens(m, &n_gen);
        printf("\n[%zu tokens in %zu streamed pieces, %zu bytes; TTFT %.2f ms, %.1f tokens/s]\n", n_gen, pieces,
               size - 1, (double)ttft, (double)tput);
        if (n_gen == 0 || pieces == 0)
            st = NPG_ERR_INTERNAL; /* the example doubles as a smoke test */
    }
    npg_decoded_results_free(results);
    npg_generation_config_free(config);
    npg_llm_pipeline_free(pipe);
    return st == NPG_OK ? 0 : 1;
}
