/* test_whisper_pipeline_random — the Whisper pipeline end to end (public API) against every golden of
 * ../shared/goldens/whisper-decoding/random-whisper (degenerate output: every window runs to sample_len): ids of each clip and mode,
 * segments, detected languages, long-form windows and segments (testutil/whisper_goldens.c). */
#include "testutil.h"
#include "whisper_goldens.h"

static void test_goldens(void) { whisper_golden_check("random-whisper"); }

int main(void) {
    RUN(test_goldens);
    return npg_test_summary();
}
