/* npu.c — npg-npu: times one pipeline through the public API, for docs/npu.md "Measurements".
 *
 *   npg-npu MODEL_DIR [--device NPU|CPU] [-c KEY=VALUE]... [--prompt N] [--gen N] [--runs R]
 *
 * Creates the pipeline (load + compile or import), then R times generates N new tokens greedily
 * (ignore_eos) from a fixed N-token prompt of ids, and prints load, compile/import time, whether the
 * plan was imported, TTFT, decode tok/s (best run) and the process's peak RSS, and the process CPU
 * time per decode step (best run): from the streamer's first piece to its last, divided by the pieces
 * between. Wall time on a loaded machine measures the other processes; the CPU time of one thread
 * (NUM_THREADS=1: no spin barrier) does not, so two builds or devices compare by it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timer.h"
#include "npugen.h"

static int fail(const char *what) {
    fprintf(stderr, "npg-npu: %s: %s\n", what, npg_last_error());
    return 1;
}

typedef struct cpu_clock {
    double first_ms, last_ms;
    long pieces;
} cpu_clock;

static double process_cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static npg_streaming_status on_piece(const char *text, void *user) {
    (void)text;
    cpu_clock *c = user;
    c->last_ms = process_cpu_ms();
    if (c->pieces++ == 0)
        c->first_ms = c->last_ms;
    return NPG_STREAMING_RUNNING;
}

int main(int argc, char **argv) {
    const char *model = NULL, *device = "NPU";
    long prompt = 32, gen = 64, runs = 3;
    npg_properties *props = NULL;
    if (npg_properties_create(&props) != NPG_OK)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq) {
                fprintf(stderr, "npg-npu: -c %s: expected KEY=VALUE\n", kv);
                return 2;
            }
            *eq = '\0';
            npg_properties_set(props, kv, eq + 1);
        } else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc)
            prompt = atol(argv[++i]);
        else if (strcmp(argv[i], "--gen") == 0 && i + 1 < argc)
            gen = atol(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (!model && argv[i][0] != '-')
            model = argv[i];
        else {
            fprintf(stderr, "usage: npg-npu MODEL_DIR [--device NPU|CPU] [-c KEY=VALUE]... [--prompt N] [--gen N] "
                            "[--runs R]\n");
            return 2;
        }
    }
    if (!model || prompt < 1 || gen < 2 || runs < 1) {
        fprintf(stderr, "usage: npg-npu MODEL_DIR [--device NPU|CPU] [-c KEY=VALUE]... [--prompt N] [--gen N]\n");
        return 2;
    }
    double t0 = npg_now_ms();
    npg_llm_pipeline *pipe = NULL;
    if (npg_llm_pipeline_create_with_properties(model, device, props, &pipe) != NPG_OK) {
        npg_properties_free(props);
        return fail("create");
    }
    double create_ms = npg_now_ms() - t0;
    int32_t *ids = malloc((size_t)prompt * sizeof *ids);
    for (long i = 0; i < prompt; i++)
        ids[i] = i == 0 ? 1 : (int32_t)(100 + (i * 37) % 400);
    npg_generation_config *cfg = NULL;
    npg_generation_config_create(&cfg);
    npg_generation_config_set_max_new_tokens(cfg, (size_t)gen);
    npg_generation_config_set_ignore_eos(cfg, true);
    float best_tps = 0, ttft = 0, load = 0, compile = 0;
    double best_cpu = 0; /* ms of process CPU time per decode step */
    bool imported = false;
    for (long r = 0; r < runs; r++) {
        npg_decoded_results *res = NULL;
        cpu_clock clk = {0};
        npg_streamer streamer = {on_piece, &clk};
        if (npg_llm_pipeline_generate_ids(pipe, ids, (size_t)prompt, cfg, &streamer, &res) != NPG_OK)
            return fail("generate");
        const npg_perf_metrics *pm = NULL;
        float tps = 0, sd = 0, tt = 0;
        npg_decoded_results_get_perf_metrics(res, &pm);
        npg_perf_metrics_get_throughput(pm, &tps, &sd);
        npg_perf_metrics_get_ttft(pm, &tt, &sd);
        npg_perf_metrics_get_load_time(pm, &load);
        npg_perf_metrics_get_compile_time(pm, &compile);
        npg_perf_metrics_get_plan_imported(pm, &imported);
        if (tps > best_tps)
            best_tps = tps;
        if (r == 0 || tt < ttft)
            ttft = tt;
        double cpu = clk.pieces > 1 ? (clk.last_ms - clk.first_ms) / (double)(clk.pieces - 1) : 0;
        if (r == 0 || cpu < best_cpu)
            best_cpu = cpu;
        npg_decoded_results_free(res);
    }
    printf("device %s  create %.1f ms (load %.1f, %s %.1f)  ttft %.2f ms  decode %.1f tok/s (CPU %.3f ms/step)  "
           "peak RSS %.1f MiB\n",
           device, create_ms, (double)load, imported ? "import" : "compile", (double)compile, (double)ttft,
           (double)best_tps, best_cpu, (double)npg_peak_rss_bytes() / (1024.0 * 1024.0));
    free(ids);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(pipe);
    npg_properties_free(props);
    return 0;
}
