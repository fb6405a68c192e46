/* bench_audio.c — `npugen bench MODEL_DIR --audio FILE` (see bench_audio.h). */
#include "bench_audio.h"

#include <stdio.h>

#include "cli_util.h"

int cli_bench_audio(const char *cmd, const char *model_dir, const char *audio, const char *device,
                    const npg_properties *props, int threads, bool json) {
    npg_whisper_pipeline *pipe = NULL;
    npg_status st = npg_whisper_pipeline_create_with_properties(model_dir, device, props, &pipe);
    if (st != NPG_OK)
        return cli_fail_model(cmd, st, model_dir);
    float load_ms = 0.0f;
    npg_whisper_pipeline_get_load_time(pipe, &load_ms);
    npg_whisper_results *r = NULL;
    st = npg_whisper_pipeline_generate_file(pipe, audio, NULL, &r);
    if (st != NPG_OK) {
        npg_whisper_pipeline_free(pipe);
        return cli_fail(cmd, st);
    }
    npg_whisper_perf p;
    npg_whisper_results_get_perf(r, &p);
    const char *lang = "";
    npg_whisper_results_get_language(r, &lang);
    double encode_ms = p.n_windows ? p.encode_ms / (double)p.n_windows : 0.0;
    double per_token = p.n_decoded_tokens ? p.decode_ms / (double)p.n_decoded_tokens : 0.0;
    double rss_mb = (double)npg_peak_rss_bytes() / (1024.0 * 1024.0);
    char b[8][40];
    if (json) {
        printf("{\"device\": \"%s\", \"threads\": %d, \"audio_s\": %s, \"windows\": %zu, \"language\": \"%s\", "
               "\"load_ms\": %s, \"mel_ms\": %s, \"encode_ms\": %s, \"decode_ms_per_token\": %s, \"decoded_tokens\": %zu, "
               "\"total_ms\": %s, \"rtf\": %s, \"peak_rss_mb\": %s}\n",
               device, threads, cli_json_num(b[0], p.audio_s, 3), p.n_windows, lang, cli_json_num(b[1], (double)load_ms, 2),
               cli_json_num(b[2], p.features_ms, 2), cli_json_num(b[3], encode_ms, 2), cli_json_num(b[4], per_token, 3),
               p.n_decoded_tokens, cli_json_num(b[5], p.total_ms, 2), cli_json_num(b[6], p.rtf, 4),
               cli_json_num(b[7], rss_mb, 1));
    } else {
        printf("device               %s\nthreads              %d\naudio                %.2f s (%zu windows, language %s)\n"
               "load                 %.1f ms\nlog-mel              %.1f ms\nencode               %.1f ms per window\n"
               "decode               %.3f ms per token (%zu tokens)\ntotal                %.1f ms\n"
               "real-time factor     %.4f\npeak RSS             %.1f MiB\n",
               device, threads, p.audio_s, p.n_windows, lang, (double)load_ms, p.features_ms, encode_ms, per_token,
               p.n_decoded_tokens, p.total_ms, p.rtf, rss_mb);
    }
    npg_whisper_results_free(r);
    npg_whisper_pipeline_free(pipe);
    return 0;
}
