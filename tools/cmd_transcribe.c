/* cmd_transcribe.c — `npugen transcribe MODEL_DIR AUDIO...`: speech to text with a Whisper model,
 * OpenAI whisper's decoding (docs/whisper.md). Public API only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "npugen.h"

static const char *const CMD = "transcribe";

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: npugen transcribe MODEL_DIR AUDIO... [options]\n\n"
            "Transcribes (or translates to English) WAV/FLAC audio with a Whisper model, as OpenAI whisper's\n"
            "transcribe(): 30 s windows in sequence, greedy decoding unless --temperature-fallback.\n\n"
            "options:\n"
            "  --language XX                the spoken language (en, fr, ...); detected when absent\n"
            "  --task transcribe|translate  translate = into English (default transcribe)\n"
            "  --timestamps                 decode with timestamp tokens (segments at the model's times)\n"
            "  --word-timestamps            word times from cross-attention (DTW, as OpenAI's timing.py)\n"
            "  --initial-prompt TEXT        previous-text prompt for the first window\n"
            "  --hotwords TEXT              previous-text prompt kept on every window\n"
            "  --condition-on-previous-text 0|1  feed each window's text to the next (default 1)\n"
            "  --temperature-fallback       OpenAI's fallback: temperatures 0..1.0 when the compression ratio\n"
            "                               > 2.4 or avg log-prob < -1 (no-speech threshold 0.6)\n"
            "  --output-format txt|srt|vtt|json  what is printed or written (default txt)\n"
            "  -o, --output OUT_BASE        write OUT_BASE.EXT (several audio files: OUT_BASE.STEM.EXT)\n"
            "  --sample-len N               ids sampled per window at most (default 224 = half the decoder)\n"
            "  --print-ids                  print, one line per 30 s window, the ids sampled after the prompt\n"
            "                               (up to and excluding end-of-text) instead of the text\n"
            "  --device CPU|NPU             the device (default CPU)\n"
            "  -t, --threads N              CPU threads (0 = one per core)\n"
            "  --perf                       print feature, encode and decode times and the real-time factor\n"
            "  -h, --help                   show this help\n");
}

typedef struct opts {
    const char *model, *device, *language, *task, *initial_prompt, *hotwords, *format, *out_base, *threads;
    long long sample_len;
    bool timestamps, word_timestamps, fallback, print_ids, perf, cond;
    const char **audio;
    int n_audio;
} opts;

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){.device = "CPU", .format = "txt", .cond = true};
    o->audio = calloc((size_t)argc, sizeof *o->audio);
    if (!o->audio) {
        cli_error(CMD, "out of memory");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        } else if (cli_opt(a, NULL, "--language")) {
            if (!cli_value(CMD, argc, argv, &i, &o->language))
                return 2;
        } else if (cli_opt(a, NULL, "--task")) {
            if (!cli_value(CMD, argc, argv, &i, &o->task))
                return 2;
            if (strcmp(o->task, "transcribe") != 0 && strcmp(o->task, "translate") != 0) {
                cli_error(CMD, "--task %s: expected transcribe or translate", o->task);
                return 2;
            }
        } else if (cli_flag(a, NULL, "--timestamps")) {
            o->timestamps = true;
        } else if (cli_flag(a, NULL, "--word-timestamps")) {
            o->word_timestamps = true;
        } else if (cli_opt(a, NULL, "--initial-prompt")) {
            if (!cli_value(CMD, argc, argv, &i, &o->initial_prompt))
                return 2;
        } else if (cli_opt(a, NULL, "--hotwords")) {
            if (!cli_value(CMD, argc, argv, &i, &o->hotwords))
                return 2;
        } else if (cli_opt(a, NULL, "--condition-on-previous-text")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
                cli_error(CMD, "--condition-on-previous-text %s: expected 0 or 1", v);
                return 2;
            }
            o->cond = v[0] == '1';
        } else if (cli_flag(a, NULL, "--temperature-fallback")) {
            o->fallback = true;
        } else if (cli_opt(a, NULL, "--output-format")) {
            if (!cli_value(CMD, argc, argv, &i, &o->format))
                return 2;
            if (strcmp(o->format, "txt") && strcmp(o->format, "srt") && strcmp(o->format, "vtt") &&
                strcmp(o->format, "json")) {
                cli_error(CMD, "--output-format %s: expected txt, srt, vtt or json", o->format);
                return 2;
            }
        } else if (cli_opt(a, "-o", "--output")) {
            if (!cli_value(CMD, argc, argv, &i, &o->out_base))
                return 2;
        } else if (cli_opt(a, NULL, "--sample-len")) {
            if (!cli_value(CMD, argc, argv, &i, &v) || !cli_parse_long(CMD, "--sample-len", v, 1, 448, &o->sample_len))
                return 2;
        } else if (cli_flag(a, NULL, "--print-ids")) {
            o->print_ids = true;
        } else if (cli_opt(a, NULL, "--device")) {
            if (!cli_value(CMD, argc, argv, &i, &v))
                return 2;
            o->device = cli_device_name(v);
            if (!o->device) {
                cli_error(CMD, "--device %s: expected CPU or NPU", v);
                return 2;
            }
        } else if (cli_opt(a, "-t", "--threads")) {
            long long n = 0;
            if (!cli_value(CMD, argc, argv, &i, &o->threads) || !cli_parse_long(CMD, "--threads", o->threads, 0, 4096, &n))
                return 2;
        } else if (cli_flag(a, NULL, "--perf")) {
            o->perf = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_unknown_option(CMD, a, usage);
            return 2;
        } else if (!o->model) {
            o->model = a;
        } else {
            o->audio[o->n_audio++] = a;
        }
    }
    if (!o->model || o->n_audio == 0) {
        cli_error(CMD, "expected MODEL_DIR and at least one AUDIO file (see npugen transcribe --help)");
        return 2;
    }
    return 0;
}

static void progress(void *user, double done_s, double total_s) {
    const char *name = user;
    if (total_s <= 30.0)
        return; /* one window: no progress line */
    fprintf(stderr, "\rnpugen transcribe: %s: %.1f / %.1f s", name, done_s, total_s);
    if (done_s >= total_s)
        fputc('\n', stderr);
    fflush(stderr);
}

static npg_status make_config(const opts *o, npg_whisper_generation_config **out) {
    npg_whisper_generation_config *c = NULL;
    npg_status st = npg_whisper_generation_config_create(&c);
    if (st == NPG_OK && o->language)
        st = npg_whisper_generation_config_set_language(c, o->language);
    if (st == NPG_OK && o->task)
        st = npg_whisper_generation_config_set_task(c, o->task);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_return_timestamps(c, o->timestamps);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_word_timestamps(c, o->word_timestamps);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_initial_prompt(c, o->initial_prompt);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_hotwords(c, o->hotwords);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_condition_on_previous_text(c, o->cond);
    if (st == NPG_OK)
        st = npg_whisper_generation_config_set_temperature_fallback(c, o->fallback);
    if (st == NPG_OK && o->sample_len)
        st = npg_whisper_generation_config_set_sample_len(c, (size_t)o->sample_len);
    if (st != NPG_OK) {
        npg_whisper_generation_config_free(c);
        return st;
    }
    *out = c;
    return NPG_OK;
}

/* Writes text to path through a temporary name and a rename (never a half-written file). */
static bool write_atomic(const char *path, const char *text) {
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return false;
    snprintf(tmp, len, "%s.tmp%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    bool ok = fp && fputs(text, fp) >= 0;
    if (fp && fclose(fp) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        cli_error(CMD, "%s: cannot write (%s)", path, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return ok;
}

static char *out_path(const opts *o, const char *audio) {
    const char *base = strrchr(audio, '/');
    base = base ? base + 1 : audio;
    size_t stem = strcspn(base, ".");
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        stem = (size_t)(dot - base);
    size_t len = strlen(o->out_base) + stem + strlen(o->format) + 4;
    char *p = malloc(len);
    if (!p)
        return NULL;
    if (o->n_audio == 1)
        snprintf(p, len, "%s.%s", o->out_base, o->format);
    else
        snprintf(p, len, "%s.%.*s.%s", o->out_base, (int)stem, base, o->format);
    return p;
}

static int emit(const opts *o, const char *audio, const npg_whisper_results *r) {
    if (o->print_ids) {
        size_t n_win = 0;
        npg_whisper_results_get_window_count(r, &n_win);
        for (size_t w = 0; w < n_win; w++) {
            const int32_t *ids = NULL;
            size_t n = 0;
            npg_whisper_results_get_window_ids(r, w, &ids, &n, NULL);
            for (size_t k = 0; k < n; k++)
                printf(k ? " %d" : "%d", (int)ids[k]);
            putchar('\n');
        }
    }
    char *text = NULL;
    npg_status st = npg_whisper_results_format(r, o->format, &text);
    if (st != NPG_OK)
        return cli_fail(CMD, st);
    int rc = 0;
    if (o->out_base) {
        char *path = out_path(o, audio);
        rc = path && write_atomic(path, text) ? 0 : 1;
        free(path);
    } else if (!o->print_ids) {
        fputs(text, stdout);
    }
    npg_free(text);
    if (o->perf) {
        npg_whisper_perf p;
        npg_whisper_results_get_perf(r, &p);
        fprintf(stderr,
                "npugen transcribe: %s: audio %.2f s, features %.1f ms, encode %.1f ms (%zu windows), decode %.1f ms "
                "(%zu ids), total %.1f ms, real-time factor %.3f\n",
                audio, p.audio_s, p.features_ms, p.encode_ms, p.n_windows, p.decode_ms, p.n_decoded_tokens, p.total_ms,
                p.rtf);
    }
    fflush(stdout);
    return rc;
}

int npg_cmd_transcribe(int argc, char **argv) {
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc != 0) {
        free(o.audio);
        return rc < 0 ? 0 : rc;
    }
    npg_properties *props = NULL;
    npg_status st = npg_properties_create(&props);
    if (st == NPG_OK)
        st = npg_properties_set_log_callback(props, cli_log_warnings, (void *)CMD);
    if (st == NPG_OK && o.threads)
        st = npg_properties_set(props, "NUM_THREADS", o.threads);
    if (st != NPG_OK) {
        npg_properties_free(props);
        free(o.audio);
        return cli_fail(CMD, st);
    }
    npg_whisper_pipeline *pipe = NULL;
    st = npg_whisper_pipeline_create_with_properties(o.model, o.device, props, &pipe);
    npg_properties_free(props);
    if (st != NPG_OK) {
        free(o.audio);
        return cli_fail_model(CMD, st, o.model);
    }
    if (o.perf) {
        float ms = 0.0f;
        npg_whisper_pipeline_get_load_time(pipe, &ms);
        fprintf(stderr, "npugen transcribe: model loaded in %.1f ms\n", (double)ms);
    }
    npg_whisper_generation_config *cfg = NULL;
    st = make_config(&o, &cfg);
    if (st != NPG_OK) {
        npg_whisper_pipeline_free(pipe);
        free(o.audio);
        return cli_fail(CMD, st);
    }
    bool tty = isatty(STDERR_FILENO);
    for (int i = 0; i < o.n_audio && rc == 0; i++) {
        /* the progress line: only on a terminal, and only audio longer than one window reports twice */
        npg_whisper_generation_config_set_progress_callback(cfg, tty ? progress : NULL, (void *)o.audio[i]);
        npg_whisper_results *r = NULL;
        st = npg_whisper_pipeline_generate_file(pipe, o.audio[i], cfg, &r);
        if (st != NPG_OK) {
            cli_error(CMD, "%s", npg_last_error());
            rc = 1;
            break;
        }
        rc = emit(&o, o.audio[i], r);
        npg_whisper_results_free(r);
    }
    npg_whisper_generation_config_free(cfg);
    npg_whisper_pipeline_free(pipe);
    free(o.audio);
    return rc;
}
