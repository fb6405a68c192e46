/* audio.c — npg-audio: the audio front end's cost on one file.
 *
 *   npg-audio FILE [--model-dir DIR] [--rounds N] [--json]
 *
 * load_ms: decoding, mono mix and resampling to the model's rate (npg_audio_load); mel_ms: the log-mel
 * of one 30 s window (npg_log_mel_window: the first 30 s, zero-padded — the encoder's input);
 * mel_full_ms: transcribe.py's whole-audio mel (the audio plus 30 s of zeros). One thread. Each number
 * is the fastest of N rounds (default 10) after a warm-up: the machine may be shared, and the fastest
 * round is the one no other process preempted. --model-dir reads preprocessor_config.json (default:
 * Whisper's 80-bin settings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "npugen.h"

#define PROG "npg-audio"

int main(int argc, char **argv) {
    const char *file = NULL, *model_dir = NULL;
    int rounds = 10;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: " PROG " FILE [--model-dir DIR] [--rounds N] [--json]\n\n"
                   "Times audio loading (decode, mono, resample), the 30 s window log-mel and the whole-audio\n"
                   "log-mel, one thread, fastest of N rounds.\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if ((strcmp(argv[i], "--model-dir") == 0 || strcmp(argv[i], "--rounds") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'm')
                model_dir = argv[++i];
            else if ((rounds = atoi(argv[++i])) < 1) {
                fprintf(stderr, PROG ": --rounds '%s' is not a positive integer (see " PROG " --help)\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-' || file) {
            fprintf(stderr, PROG ": unexpected argument '%s' (see " PROG " --help)\n", argv[i]);
            return 2;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        fprintf(stderr, PROG ": missing FILE (see " PROG " --help)\n");
        return 2;
    }
    npg_mel_config cfg;
    npg_mel_config_default(&cfg, 80);
    if (model_dir && npg_mel_config_load(model_dir, &cfg) != NPG_OK) {
        fprintf(stderr, PROG ": %s\n", npg_last_error());
        return 1;
    }
    double best[3] = {1e30, 1e30, 1e30};
    size_t n = 0, frames = 0;
    for (int r = 0; r <= rounds; r++) { /* round 0 warms up */
        float *x = NULL, *mel = NULL;
        double t0 = npg_now_ms();
        if (npg_audio_load(file, cfg.sampling_rate, &x, &n, NULL) != NPG_OK) {
            fprintf(stderr, PROG ": %s\n", npg_last_error());
            return 1;
        }
        double t1 = npg_now_ms();
        npg_status st = npg_log_mel_window(&cfg, x, n, &mel);
        double t2 = npg_now_ms();
        npg_free(mel);
        mel = NULL;
        if (st == NPG_OK)
            st = npg_log_mel(&cfg, x, n, cfg.n_samples, &mel, &frames);
        double t3 = npg_now_ms();
        npg_free(mel);
        npg_audio_free(x);
        if (st != NPG_OK) {
            fprintf(stderr, PROG ": %s\n", npg_last_error());
            return 1;
        }
        double t[3] = {t1 - t0, t2 - t1, t3 - t2};
        for (int k = 0; r > 0 && k < 3; k++)
            best[k] = t[k] < best[k] ? t[k] : best[k];
    }
    double secs = (double)n / cfg.sampling_rate;
    if (json)
        printf("{\"file\": \"%s\", \"audio_s\": %.3f, \"load_ms\": %.3f, \"mel_ms\": %.3f, \"mel_full_ms\": %.3f, "
               "\"mel_full_frames\": %zu, \"n_mels\": %u, \"threads\": 1}\n",
               file, secs, best[0], best[1], best[2], frames, cfg.n_mels);
    else
        printf("%s: %.2f s of audio; load %.2f ms, 30 s window mel %.2f ms, whole-audio mel (%zu frames) %.2f ms\n",
               file, secs, best[0], best[1], frames, best[2]);
    return 0;
}
