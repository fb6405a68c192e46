/* test_cli_vlm.c — `npugen generate --image` and `npugen chat` with /image on the two VLM goldens: the
 * greedy ids on CPU and NPU (options nested under DEVICE_PROPERTIES), a two-turn chat whose second turn
 * reuses the image, --json's vision_ms, and the refusals (an image for a text model, a file that is not
 * an image, truncated and garbage images, --image with --prompt-ids, a flat NPU key) with one stderr
 * line each. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static int npugen(const char *args, char **out, char **err) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", NPG_CLI, args);
    return run_cmd(cmd, out, err);
}

static void expect_ids(const char *args, const char *want) {
    char *out = NULL, *err = NULL;
    int rc = npugen(args, &out, &err);
    CHECK(rc == 0);
    if (!out || strcmp(out, want) != 0) {
        fprintf(stderr, "  [%s]\n  got: %s  want: %s  stderr: %s\n", args, out ? out : "(null)", want,
                err ? err : "(null)");
        CHECK(false);
    }
    free(out);
    free(err);
}

static void expect_error(const char *args, int code, const char *needle) {
    char *out = NULL, *err = NULL;
    int rc = npugen(args, &out, &err);
    CHECK(rc == code);
    size_t lines = 0;
    for (const char *s = err; s && *s; s++)
        lines += *s == '\n';
    CHECK(lines == 1 && strncmp(err, "npugen generate:", 16) == 0);
    if (!err || !strstr(err, needle)) {
        fprintf(stderr, "  [%s] stderr lacks '%s': %s\n", args, needle, err ? err : "(null)");
        CHECK(false);
    }
    free(out);
    free(err);
}

static const char *const GEMMA_IDS = "78735 51004 241072 163577 86124 19513 22823 22823\n";
static const char *const LLAVA_IDS = "12650 19841 28770 29883 13529 1905 3728 22102\n";

static void test_generate(void) {
    char *dir = make_temp_dir();
    char prompt[512], args[2048];
    snprintf(prompt, sizeof prompt, "%s/p.txt", dir);
    const char *text = "<start_of_turn>user\n<start_of_image>Describe this image.<end_of_turn>\n<start_of_turn>model\n";
    write_file(prompt, text, strlen(text));
    const char *flags = "--print-ids --greedy --ignore-eos -n 8";
    const char *img = shared_path("images/chelsea.png");
    snprintf(args, sizeof args, "generate %s -f %s --image %s %s", shared_path("models/random-gemma3-vlm"), prompt, img,
             flags);
    expect_ids(args, GEMMA_IDS);
    snprintf(args, sizeof args,
             "generate %s -f %s --image %s %s --device NPU -c 'DEVICE_PROPERTIES={\"NPU\": {\"MAX_PROMPT_LEN\": 64}}'",
             shared_path("models/random-gemma3-vlm"), prompt, img, flags);
    expect_ids(args, GEMMA_IDS);
    /* --chat: the template wraps the turn; the image goes before the text */
    snprintf(args, sizeof args, "generate %s -p 'Describe this image.' --chat --image %s %s",
             shared_path("models/random-gemma3-vlm"), img, flags);
    expect_ids(args, GEMMA_IDS);
    snprintf(args, sizeof args, "generate %s -p 'USER: <image>\nWhat is this? ASSISTANT:' --image %s %s",
             shared_path("models/random-llava"), img, flags);
    expect_ids(args, LLAVA_IDS);
    snprintf(args, sizeof args, "generate %s -p 'USER: <image>\nWhat is this? ASSISTANT:' --image %s %s --device npu",
             shared_path("models/random-llava"), img, flags);
    expect_ids(args, LLAVA_IDS);
    /* --json reports vision_ms */
    snprintf(args, sizeof args, "generate %s -p 'USER: <image> what?' --image %s -n 2 --json",
             shared_path("models/random-llava"), img);
    char *out = NULL, *err = NULL;
    CHECK(npugen(args, &out, &err) == 0);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    const cJSON *vms = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "perf"), "vision_ms");
    CHECK(cJSON_IsNumber(vms) && vms->valuedouble > 0.0);
    cJSON_Delete(j);
    free(out);
    free(err);
    rm_rf(dir);
    free(dir);
}

static void test_chat(void) {
    char args[1024];
    char *out = NULL, *err = NULL;
    char *dir = make_temp_dir();
    char in[512];
    snprintf(in, sizeof in, "%s/in.txt", dir);
    char script[512];
    snprintf(script, sizeof script, "/image %s\nDescribe this image.\nAnd <ov_genai_image_0> again?\n",
             shared_path("images/chelsea.png"));
    write_file(in, script, strlen(script));
    snprintf(args, sizeof args, "chat %s --greedy --ignore-eos -n 8 --perf < %s",
             shared_path("models/random-gemma3-vlm"), in);
    CHECK(npugen(args, &out, &err) == 0);
    /* two reply lines; the image encoded on turn 1 only (one "vision:" line in the metrics) */
    size_t lines = 0;
    for (const char *s = out; s && *s; s++)
        lines += *s == '\n';
    CHECK(lines == 2);
    const char *v1 = err ? strstr(err, "vision:") : NULL;
    CHECK(v1 != NULL && strstr(v1 + 1, "vision:") == NULL);
    free(out);
    free(err);
    /* /image on a text model */
    snprintf(args, sizeof args, "chat %s -n 2 < %s", shared_path("models/random-gemma3"), in);
    CHECK(npugen(args, &out, &err) == 1);
    CHECK(err && strstr(err, "npugen chat: /image: this model is a text model"));
    free(out);
    free(err);
    rm_rf(dir);
    free(dir);
}

static void test_errors(void) {
    char *dir = make_temp_dir();
    char args[2048], bad[512];
    const char *vlm = shared_path("models/random-llava");
    snprintf(args, sizeof args, "generate %s -p hi --image %s", shared_path("models/random-gemma3"),
             shared_path("images/chelsea.png"));
    expect_error(args, 1, "is a text model");
    snprintf(bad, sizeof bad, "%s/notes.png", dir);
    write_file(bad, "just text\n", 10);
    snprintf(args, sizeof args, "generate %s -p hi --image %s", vlm, bad);
    expect_error(args, 1, "not a PNG or JPEG");
    /* a truncated PNG, a JPEG with garbage after its header */
    size_t n = 0;
    char *png = read_all(shared_path("images/chelsea.png"), &n);
    REQUIRE(png && n > 1000);
    snprintf(bad, sizeof bad, "%s/cut.png", dir);
    write_file(bad, png, n / 3);
    snprintf(args, sizeof args, "generate %s -p hi --image %s", vlm, bad);
    expect_error(args, 1, "cut.png");
    free(png);
    char *jpg = read_all(shared_path("images/rocket.jpg"), &n);
    REQUIRE(jpg && n > 1000);
    for (size_t i = 600; i < n; i++)
        jpg[i] = (char)(i * 7);
    snprintf(bad, sizeof bad, "%s/garbage.jpg", dir);
    write_file(bad, jpg, n);
    snprintf(args, sizeof args, "generate %s -p hi --image %s", vlm, bad);
    expect_error(args, 1, "garbage.jpg");
    free(jpg);
    snprintf(args, sizeof args, "generate %s --prompt-ids 1,2 --image %s", vlm, shared_path("images/chelsea.png"));
    expect_error(args, 2, "--prompt-ids");
    snprintf(args, sizeof args, "generate %s -p '<image><image>' --image %s", vlm, shared_path("images/chelsea.png"));
    expect_error(args, 1, "more <image> tags");
    snprintf(args, sizeof args, "generate %s -p hi --device NPU -c MAX_PROMPT_LEN=64", vlm);
    expect_error(args, 1, "belongs under DEVICE_PROPERTIES");
    rm_rf(dir);
    free(dir);
}

int main(void) {
    RUN(test_generate);
    RUN(test_chat);
    RUN(test_errors);
    return npg_test_summary();
}
