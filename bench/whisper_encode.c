/* npg-whisper-encode — times Whisper's encoder (one 30 s window) and the decoder's per-token step.
 *
 *   npg-whisper-encode MODEL_DIR [-t THREADS] [-r RUNS] [--mel FILE.f32] [--isa scalar|avx2|avx512]
 *
 * The input is a log-mel [n_mels, 3000] f32 file (e.g. ../shared/goldens/random-whisper/
 * espeak_3s_logmel_80x3000.f32), or a fixed pattern when none is given (the encoder's cost does not
 * depend on the values). Prints one JSON line: the best and median encode_ms over RUNS, the encoder's
 * stages once, and decode_ms_per_token (32 greedy-fed steps after the 4-token start sequence). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "device/engine.h"
#include "models/whisper.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int usage(void) {
    fprintf(stderr, "usage: npg-whisper-encode MODEL_DIR [-t THREADS] [-r RUNS] [--mel FILE.f32] [--isa ISA]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *dir = NULL, *mel_path = NULL, *threads = "2", *isa = NULL;
    int runs = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            threads = argv[++i];
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--mel") == 0 && i + 1 < argc)
            mel_path = argv[++i];
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            isa = argv[++i];
        else if (strcmp(argv[i], "--help") == 0)
            return usage() - 2;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else
            return usage();
    }
    if (!dir || runs < 1 || runs > 1000)
        return usage();
    double t0 = npg_now_ms();
    npg_model *m = NULL;
    if (npg_model_load(dir, &m) != NPG_OK) {
        fprintf(stderr, "npg-whisper-encode: %s\n", npg_last_error());
        return 1;
    }
    double load_ms = npg_now_ms() - t0;
    npg_whisper_info info;
    npg_properties *props = NULL;
    npg_engine *e = NULL;
    npg_status st = npg_whisper_info_get(m, &info);
    if (st == NPG_OK)
        st = npg_properties_create(&props);
    if (st == NPG_OK)
        st = npg_properties_set(props, "NUM_THREADS", threads);
    if (st == NPG_OK && isa)
        st = npg_properties_set(props, "KERNEL_ISA", isa);
    if (st == NPG_OK)
        st = npg_cpu_engine_create(m, props, &e);
    size_t n = (size_t)(info.n_mels * info.n_frames);
    float *mel = st == NPG_OK ? malloc(n * sizeof(float)) : NULL;
    double *times = calloc((size_t)runs, sizeof(double));
    if (st == NPG_OK && (!mel || !times))
        st = NPG_ERR_OUT_OF_MEMORY;
    if (st == NPG_OK && mel_path) {
        FILE *f = fopen(mel_path, "rb");
        size_t got = f ? fread(mel, sizeof(float), n, f) : 0;
        if (f)
            fclose(f);
        if (got != n) {
            fprintf(stderr, "npg-whisper-encode: %s: expected %zu floats (n_mels × %lld)\n", mel_path, n,
                    (long long)info.n_frames);
            st = NPG_ERR_IO;
        }
    } else if (st == NPG_OK) {
        for (size_t i = 0; i < n; i++)
            mel[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    }
    for (int r = 0; st == NPG_OK && r < runs; r++) {
        double a = npg_now_ms();
        st = npg_engine_encode(e, mel, (size_t)info.n_frames, 0);
        times[r] = npg_now_ms() - a;
    }
    double decode_ms = 0;
    if (st == NPG_OK) {
        const int32_t sot[4] = {50258, 50259, 50359, 50363};
        float *logits = NULL;
        st = e->ops->prefill(e, sot, 4, 0, &logits);
        double a = npg_now_ms();
        for (int i = 0; st == NPG_OK && i < 32; i++)
            st = e->ops->decode(e, 50363 + i, (size_t)(4 + i), &logits);
        decode_ms = (npg_now_ms() - a) / 32.0;
    }
    if (st != NPG_OK) {
        fprintf(stderr, "npg-whisper-encode: %s\n", npg_last_error());
    } else {
        qsort(times, (size_t)runs, sizeof *times, cmp_double);
        printf("{\"model\": \"%s\", \"d_model\": %lld, \"threads\": %s, \"load_ms\": %.1f, \"encode_ms_best\": %.1f, "
               "\"encode_ms_median\": %.1f, \"decode_ms_per_token\": %.2f, \"runs\": %d}\n",
               dir, (long long)info.d_model, threads, load_ms, times[0], times[runs / 2], decode_ms, runs);
    }
    free(times);
    free(mel);
    if (e)
        e->ops->free(e);
    npg_properties_free(props);
    npg_model_free(m);
    return st == NPG_OK ? 0 : 1;
}
