/* test_export_dataaware.c — `npugen export --dataset ...` beyond quality (test_export_dataaware_quality.c):
 * option validation in the library and the CLI, the recorded settings, every method on group-wise
 * int4 and NF4 with outputs that load and score, the activation-based sensitivity metrics, an export
 * killed in the middle of its data-aware phase leaving nothing that loads as a model, progress reported
 * per phase, and an AWQ export generating the same tokens on NPU as on CPU. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compress/eval.h"
#include "core/json.h"
#include "test_npu_util.h"

static char calib[1024];

static void base_options(npg_export_options *o) {
    npg_export_options_init(o);
    o->format = NPG_EXPORT_INT4;
    o->sym = true;
    o->group_size = -1;
    o->dataset = calib;
    o->num_samples = 2;
}

static void expect_refused(const npg_export_options *o, const char *want) {
    npg_status st = npg_export_options_check(o);
    CHECK(st == NPG_ERR_INVALID_ARGUMENT);
    if (st != NPG_OK && !strstr(npg_last_error(), want))
        fprintf(stderr, "  message: %s (want '%s')\n", npg_last_error(), want);
    CHECK(st != NPG_OK && strstr(npg_last_error(), want) != NULL);
}

static void test_options_check(void) {
    npg_export_options o;
    base_options(&o);
    o.awq = o.scale_estimation = o.gptq = o.gptq_act_order = true;
    o.sensitivity = NPG_SENS_HESSIAN_INPUT_ACTIVATION;
    CHECK(npg_export_options_check(&o) == NPG_OK);
    const char *needs[] = {"--awq", "--scale-estimation", "--gptq", "--sensitivity-metric"};
    for (int i = 0; i < 4; i++) {
        base_options(&o);
        o.dataset = NULL;
        o.awq = i == 0;
        o.scale_estimation = i == 1;
        o.gptq = i == 2;
        o.sensitivity = i == 3 ? NPG_SENS_MEAN_ACTIVATION_VARIANCE : NPG_SENS_DEFAULT;
        expect_refused(&o, needs[i]);
        expect_refused(&o, "--dataset");
    }
    base_options(&o);
    o.dataset = NULL;
    o.sensitivity = NPG_SENS_WEIGHT_QUANTIZATION_ERROR; /* data-free: fine without a dataset */
    CHECK(npg_export_options_check(&o) == NPG_OK);
    base_options(&o);
    o.gptq_act_order = true;
    expect_refused(&o, "--gptq-act-order");
    base_options(&o);
    o.format = NPG_EXPORT_INT8;
    o.awq = true;
    expect_refused(&o, "int8");
    base_options(&o);
    o.num_samples = -3;
    expect_refused(&o, "--num-samples");
    npg_export_sensitivity m;
    CHECK(npg_export_sensitivity_parse("max_activation_variance", &m) == NPG_OK &&
          m == NPG_SENS_MAX_ACTIVATION_VARIANCE);
    CHECK(strcmp(npg_export_sensitivity_name(NPG_SENS_HESSIAN_INPUT_ACTIVATION), "hessian_input_activation") == 0);
    CHECK(npg_export_sensitivity_parse("default", &m) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_export_sensitivity_parse("hawq", &m) == NPG_ERR_INVALID_ARGUMENT);
}

static void expect_cli(const char *args, int want_rc, const char *want) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s export %s", NPG_CLI, args);
    char *out = NULL, *err = NULL;
    int rc = run_cmd(cmd, &out, &err);
    bool ok = rc == want_rc && err && strstr(err, want);
    if (!ok)
        fprintf(stderr, "  `%s`: rc %d\n  err: %s\n", args, rc, err ? err : "");
    CHECK(ok);
    if (want_rc == 2)
        CHECK(err && strncmp(err, "npugen export: ", 15) == 0);
    free(out);
    free(err);
}

static void test_cli_validation(void) {
    const char *m = shared_path("models/stories260K");
    char *tmp = make_temp_dir();
    char a[4096];
    snprintf(a, sizeof a, "-m %s --awq --scale-estimation %s/o", m, tmp);
    expect_cli(a, 2, "needs calibration data: add --dataset");
    snprintf(a, sizeof a, "-m %s --gptq %s/o", m, tmp);
    expect_cli(a, 2, "--gptq needs calibration data");
    snprintf(a, sizeof a, "-m %s --ratio 0.8 --sensitivity-metric mean_activation_magnitude %s/o", m, tmp);
    expect_cli(a, 2, "--dataset");
    snprintf(a, sizeof a, "-m %s --sensitivity-metric nope --dataset %s %s/o", m, calib, tmp);
    expect_cli(a, 2, "is not one of weight_quantization_error");
    snprintf(a, sizeof a, "-m %s --awq --dataset wikitext2 %s/o", m, tmp);
    expect_cli(a, 2, "--dataset wikitext2: not a file");
    snprintf(a, sizeof a, "-m %s --awq --dataset %s --num-samples 0 %s/o", m, calib, tmp);
    expect_cli(a, 2, "--num-samples");
    snprintf(a, sizeof a, "-m %s --weight-format fp16 --gptq --dataset %s %s/o", m, calib, tmp);
    expect_cli(a, 2, "int4 and nf4 only");
    /* the guide's command line, as written */
    snprintf(a, sizeof a,
             "-m %s --weight-format int4 --sym --ratio 1.0 --group-size -1 --awq --scale-estimation "
             "--dataset %s --num-samples 4 --quiet %s/ok",
             m, calib, tmp);
    expect_cli(a, 0, "wrote");
    char p[1200];
    snprintf(p, sizeof p, "%s/ok/npugen_export.json", tmp);
    char *json = read_all(p, NULL);
    CHECK(json && strstr(json, "\"awq\":\ttrue") && strstr(json, "\"scale_estimation\":\ttrue") &&
          strstr(json, "\"num_samples\":\t4") && strstr(json, "tinystories-calib.txt"));
    free(json);
    rm_rf(tmp);
    free(tmp);
}

/* Group-wise int4 and NF4 through every method: the outputs load and score close to the source. */
static void test_methods_on_formats(void) {
    const char *src = shared_path("models/stories260K");
    char *text = read_all(shared_path("text/tinystories-eval.txt"), NULL);
    REQUIRE(text);
    text[3000] = '\0';
    char *tmp = make_temp_dir();
    struct {
        npg_export_format f;
        int64_t g;
        bool awq, se, gptq, act;
    } cases[] = {
        {NPG_EXPORT_INT4, 32, true, false, false, false}, {NPG_EXPORT_INT4, 32, false, false, true, false},
        {NPG_EXPORT_INT4, 32, false, true, true, true},   {NPG_EXPORT_NF4, -1, false, true, false, false},
        {NPG_EXPORT_NF4, -1, false, false, true, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        npg_export_options o;
        base_options(&o);
        o.format = cases[i].f;
        o.group_size = cases[i].g;
        o.awq = cases[i].awq;
        o.scale_estimation = cases[i].se;
        o.gptq = cases[i].gptq;
        o.gptq_act_order = cases[i].act;
        char out[1100];
        snprintf(out, sizeof out, "%s/m%zu", tmp, i);
        REQUIRE_OK(npg_export_model(src, out, &o));
        npg_eval_options eo;
        npg_eval_options_init(&eo);
        eo.ctx = 128;
        eo.chunks = 2;
        npg_eval_result r;
        REQUIRE_OK(npg_eval_text(out, src, text, &eo, &r));
        fprintf(stderr, "  case %zu: KL %.4f top1 %.3f\n", i, r.kl_divergence, r.top1_agreement);
        CHECK(isfinite(r.perplexity) && r.kl_divergence > 0.0 && r.kl_divergence < 0.3 && r.top1_agreement > 0.6);
    }
    rm_rf(tmp);
    free(tmp);
    free(text);
}

/* --ratio 0.6 with each activation-based metric: about the ratio in 4-bit, the metric recorded. */
static void test_sensitivity_metrics(void) {
    const char *src = shared_path("models/stories260K");
    char *tmp = make_temp_dir();
    for (int m = NPG_SENS_WEIGHT_QUANTIZATION_ERROR; m <= NPG_SENS_MEAN_ACTIVATION_MAGNITUDE; m++) {
        npg_export_options o;
        base_options(&o);
        o.ratio = 0.6f;
        o.sensitivity = (npg_export_sensitivity)m;
        char out[1100], p[1200];
        snprintf(out, sizeof out, "%s/s%d", tmp, m);
        REQUIRE_OK(npg_export_model(src, out, &o));
        snprintf(p, sizeof p, "%s/npugen_export.json", out);
        char *text = read_all(p, NULL);
        REQUIRE(text);
        cJSON *j = cJSON_Parse(text);
        REQUIRE(j);
        const cJSON *metric = cJSON_GetObjectItemCaseSensitive(j, "sensitivity_metric");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "counts");
        double w4 = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "weights_4bit"));
        double we = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "weights_eligible"));
        CHECK(cJSON_IsString(metric) &&
              strcmp(metric->valuestring, npg_export_sensitivity_name((npg_export_sensitivity)m)) == 0);
        CHECK(w4 > 0.3 * we && w4 < 0.6 * we);
        fprintf(stderr, "  %s: %.0f of %.0f weights in 4-bit\n", metric->valuestring, w4, we);
        cJSON_Delete(j);
        free(text);
    }
    rm_rf(tmp);
    free(tmp);
}

static void on_progress_die(void *user, const npg_export_progress *p) {
    (void)user;
    if (strcmp(p->phase, "gptq") == 0 && p->tensor == 3)
        _exit(3); /* the process dies mid-export: no cleanup runs */
}

/* A data-aware export killed during GPTQ: OUT_DIR does not exist and what is left (the temporary
 * folder) does not load as a model. */
static void test_interrupted_export(void) {
    const char *src = shared_path("models/stories260K");
    char *tmp = make_temp_dir();
    char out[1100];
    snprintf(out, sizeof out, "%s/out", tmp);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        npg_export_options o;
        base_options(&o);
        o.gptq = true;
        o.progress = on_progress_die;
        npg_export_model(src, out, &o);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    CHECK(access(out, F_OK) != 0);
    DIR *d = opendir(tmp);
    REQUIRE(d);
    struct dirent *e;
    int leftovers = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", tmp, e->d_name);
        CHECK(strncmp(e->d_name, "out.tmp-", 8) == 0);
        npg_model *m = NULL;
        CHECK(npg_model_load(p, &m) != NPG_OK);
        npg_model_free(m);
        leftovers++;
    }
    closedir(d);
    CHECK(leftovers == 1);
    rm_rf(tmp);
    free(tmp);
}

/* What the progress callback saw: per phase, in order of first appearance, the calls, whether the
 * counts were consistent (1 <= tensor <= n_tensors, non-decreasing within a run of the phase, elapsed
 * time non-negative) and whether the phase reached its total (what an ETA is computed from). */
typedef struct phase_log {
    char names[8][32];
    int calls[8], n;
    bool consistent, finished[8];
    size_t last;
    char current[32];
} phase_log;

static void on_progress_log(void *user, const npg_export_progress *p) {
    phase_log *g = user;
    int i = 0;
    while (i < g->n && strcmp(g->names[i], p->phase) != 0)
        i++;
    if (i == g->n && g->n < 8)
        snprintf(g->names[g->n++], sizeof g->names[0], "%s", p->phase);
    if (i >= 8)
        return;
    bool same_run = strcmp(g->current, p->phase) == 0;
    if (p->tensor < 1 || p->tensor > p->n_tensors || p->elapsed_ms < 0.0 || (same_run && p->tensor < g->last &&
                                                                             strcmp(p->phase, "calibration") == 0))
        g->consistent = false;
    g->calls[i]++;
    g->finished[i] = g->finished[i] || p->tensor == p->n_tensors;
    g->last = p->tensor;
    snprintf(g->current, sizeof g->current, "%s", p->phase);
}

static int phase_index(const phase_log *g, const char *name) {
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->names[i], name) == 0)
            return i;
    return -1;
}

/* Progress per phase (the CLI draws each with its ETA from these counts): calibration, AWQ, scale
 * estimation or GPTQ per matrix, then the write, each reaching its total. */
static void test_progress_phases(void) {
    const char *src = shared_path("models/stories260K");
    char *tmp = make_temp_dir();
    char out[1100];
    for (int v = 0; v < 2; v++) {
        snprintf(out, sizeof out, "%s/p%d", tmp, v);
        npg_export_options o;
        base_options(&o);
        o.awq = v == 0;
        o.scale_estimation = v == 0;
        o.gptq = v == 1;
        phase_log g = {.consistent = true};
        o.progress = on_progress_log;
        o.progress_user = &g;
        REQUIRE_OK(npg_export_model(src, out, &o));
        const char *want[] = {"calibration", v == 0 ? "awq" : "gptq", v == 0 ? "scale-estimation" : "write", "write"};
        for (int i = 0; i < 4; i++) {
            int j = phase_index(&g, want[i]);
            CHECK(j >= 0 && g.calls[j] > 0 && g.finished[j]);
            if (j < 0 || !g.finished[j])
                fprintf(stderr, "  phase %s: %s\n", want[i], j < 0 ? "never reported" : "never reached its total");
        }
        CHECK(g.consistent);
        /* the first phase is the calibration and the last the write */
        CHECK(g.n > 0 && strcmp(g.names[0], "calibration") == 0 && strcmp(g.current, "write") == 0);
    }
    rm_rf(tmp);
    free(tmp);
}

/* An AWQ export (norm weights and matrices rescaled) runs the same on NPU as on CPU. */
static void test_npu_equals_cpu_awq(void) {
    const char *src = shared_path("models/stories260K");
    char *tmp = make_temp_dir();
    char out[1100];
    snprintf(out, sizeof out, "%s/awq", tmp);
    npg_export_options o;
    base_options(&o);
    o.awq = true;
    o.num_samples = 4;
    REQUIRE_OK(npg_export_model(src, out, &o));
    npg_llm_pipeline *cpu = NULL, *npu = NULL;
    REQUIRE_OK(npg_llm_pipeline_create(out, "CPU", 0, &cpu));
    npg_properties *props = props_of("MAX_PROMPT_LEN", "64", "MIN_RESPONSE_LEN", "64", NULL);
    REQUIRE_OK(npg_llm_pipeline_create_with_properties(out, "NPU", props, &npu));
    npg_properties_free(props);
    npg_generation_config *cfg = NULL;
    REQUIRE_OK(npg_generation_config_create(&cfg));
    npg_generation_config_set_max_new_tokens(cfg, 40);
    npg_decoded_results *a = NULL, *b = NULL;
    REQUIRE_OK(npg_llm_pipeline_generate(cpu, "Once upon a time", cfg, NULL, &a));
    REQUIRE_OK(npg_llm_pipeline_generate(npu, "Once upon a time", cfg, NULL, &b));
    const int32_t *ia, *ib;
    size_t na, nb;
    npg_decoded_results_get_ids(a, &ia, &na);
    npg_decoded_results_get_ids(b, &ib, &nb);
    CHECK(na > 0 && na == nb && memcmp(ia, ib, na * sizeof *ia) == 0);
    fprintf(stderr, "  %zu ids, NPU %s CPU\n", nb, na == nb && memcmp(ia, ib, na * sizeof *ia) == 0 ? "==" : "!=");
    npg_decoded_results_free(a);
    npg_decoded_results_free(b);
    npg_generation_config_free(cfg);
    npg_llm_pipeline_free(cpu);
    npg_llm_pipeline_free(npu);
    rm_rf(tmp);
    free(tmp);
}

int main(void) {
    snprintf(calib, sizeof calib, "%s", shared_path("text/tinystories-calib.txt"));
    RUN(test_options_check);
    RUN(test_cli_validation);
    RUN(test_methods_on_formats);
    RUN(test_sensitivity_metrics);
    RUN(test_interrupted_export);
    RUN(test_progress_phases);
    RUN(test_npu_equals_cpu_awq);
    return npg_test_summary();
}
