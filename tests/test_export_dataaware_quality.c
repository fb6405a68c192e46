/* test_export_dataaware_quality.c — data-aware export on stories260K, int4 sym channel-wise, ratio 1,
 * calibrated on ../shared/text/tinystories-calib.txt and scored on the first 2 windows of
 * tinystories-eval.txt (a text it did not see) against the fp32 source: each method's KL divergence
 * against plain RTN's, with a margin over what docs/quantization.md records (on these 2 windows, measured:
 * AWQ 0.82x, AWQ + scale estimation 0.57x; the targets on the full text are AWQ + SE <= 0.6x
 * and GPTQ, with or without SE, <= 0.5x). test_export_gptq_quality.c (scale estimation, GPTQ, GPTQ +
 * SE) scores the whole eval text. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/eval.h"
#include "npugen.h"
#include "testutil.h"

typedef struct method {
    const char *label;
    bool awq, se, gptq;
    double max_ratio; /* KL / RTN's KL must stay below this */
} method;

/* Two executables so that each stays under a minute in the ASan build: this one (AWQ, AWQ + scale
 * estimation) and test_export_gptq_quality.c (scale estimation, GPTQ), which includes this file with
 * QUALITY_GPTQ set. */
#ifndef QUALITY_GPTQ
static const method METHODS[] = {
    {"rtn", false, false, false, 1.0},
    {"awq", true, false, false, 0.92},
    {"awq+se", true, true, false, 0.60},
};
#else
/* scored on the whole eval text (14 windows), the issue's own measure: GPTQ 0.469x, GPTQ + SE 0.450x
 * RTN's KL measured (target <= 0.5x); scale estimation alone 0.62x */
static const method METHODS[] = {
    {"rtn", false, false, false, 1.0},
    {"se", false, true, false, 0.70},
    {"gptq", false, false, true, 0.50},
    {"gptq+se", false, true, true, 0.48},
};
#define QUALITY_WINDOWS 0 /* all */
#endif
#ifndef QUALITY_WINDOWS
#define QUALITY_WINDOWS 2
#endif

static void test_quality_against_rtn(void) {
    const char *src = shared_path("models/stories260K");
    char calib[1024];
    snprintf(calib, sizeof calib, "%s", shared_path("text/tinystories-calib.txt"));
    char *text = read_all(shared_path("text/tinystories-eval.txt"), NULL);
    REQUIRE(text);
    char *tmp = make_temp_dir();
    enum { NM = sizeof METHODS / sizeof METHODS[0] };
    char outs[NM][1024];
    const char *dirs[NM];
    for (size_t i = 0; i < NM; i++) {
        const method *m = &METHODS[i];
        snprintf(outs[i], sizeof outs[i], "%s/%s", tmp, m->label);
        dirs[i] = outs[i];
        npg_export_options o;
        npg_export_options_init(&o);
        o.format = NPG_EXPORT_INT4;
        o.sym = true;
        o.group_size = -1;
        o.ratio = 1.0f;
        if (m->awq || m->se || m->gptq)
            o.dataset = calib;
        o.awq = m->awq;
        o.scale_estimation = m->se;
        o.gptq = m->gptq;
        REQUIRE_OK(npg_export_model(src, outs[i], &o));
    }
    npg_eval_options eo;
    npg_eval_options_init(&eo);
    eo.chunks = QUALITY_WINDOWS;
    npg_eval_result res[NM];
    REQUIRE_OK(npg_eval_text_many(dirs, NM, src, text, &eo, res));
    for (size_t i = 0; i < NM; i++) {
        double ratio = res[i].kl_divergence / res[0].kl_divergence;
        fprintf(stderr, "  %-7s ppl %.4f KL %.4f (%.2fx RTN) top1 %.4f\n", METHODS[i].label, res[i].perplexity,
                res[i].kl_divergence, ratio, res[i].top1_agreement);
        CHECK((QUALITY_WINDOWS == 0 ? res[i].windows > 2 : res[i].windows == QUALITY_WINDOWS) && res[i].has_reference);
        CHECK(res[i].kl_divergence > 0.0);
        if (i > 0)
            CHECK(ratio <= METHODS[i].max_ratio);
    }
    /* the guide's recipe (AWQ + SE, or GPTQ): top-1 agreement and perplexity both better than RTN's */
    for (size_t i = NM - 1; i < NM; i++) {
        CHECK(res[i].top1_agreement > res[0].top1_agreement);
        CHECK(res[i].perplexity < res[0].perplexity);
    }
    rm_rf(tmp);
    free(tmp);
    free(text);
}

int main(void) {
    RUN(test_quality_against_rtn);
    return npg_test_summary();
}
