/* bench_audio.h — `npugen bench MODEL_DIR --audio FILE`: a Whisper model timed on one audio file. */
#ifndef NPG_TOOLS_BENCH_AUDIO_H
#define NPG_TOOLS_BENCH_AUDIO_H

#include <stdbool.h>

#include "npugen.h"

/* Loads the Whisper pipeline on `device` with `props`, transcribes `audio` (greedy, language
 * detected) and prints load_ms, mel_ms, encode_ms (per 30 s window), decode_ms_per_token, rtf,
 * peak_rss_mb and threads (a table, or one JSON object). Returns the exit code. */
int cli_bench_audio(const char *cmd, const char *model_dir, const char *audio, const char *device,
                    const npg_properties *props, int threads, bool json);

#endif
