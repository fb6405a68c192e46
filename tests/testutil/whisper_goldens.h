/* whisper_goldens.h — the whisper-decoding golden checks shared by the per-model tests. */
#ifndef NPG_TEST_WHISPER_GOLDENS_H
#define NPG_TEST_WHISPER_GOLDENS_H

/* Runs every golden of goldens/whisper-decoding/<model> through a CPU pipeline (CHECKs). */
void whisper_golden_check(const char *model);

#endif
