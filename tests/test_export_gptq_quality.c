/* test_export_gptq_quality.c — scale estimation's, GPTQ's and GPTQ + SE's KL against RTN's on stories260K, over the
 * whole eval text (the convention and the
 * code are test_export_dataaware_quality.c's; split off to keep each executable under a minute in the
 * ASan build). */
#define QUALITY_GPTQ 1
#include "test_export_dataaware_quality.c"
