/* test_hub_cache.c — the Hugging Face side without a network: where the cache is (environment),
 * repo id and revision spelling, the listing parser (which guards the paths it produces), --include
 * matching, and a cached repo id resolved to its snapshot folder by the library (model and
 * tokenizer loading included). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/hub.h"
#include "testutil.h"

static void test_env(void) {
    char *s = NULL;
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    setenv("HF_HOME", "/h/hf", 1);
    REQUIRE_OK(npg_hub_cache_dir(&s));
    CHECK(strcmp(s, "/h/hf/hub") == 0);
    free(s);
    unsetenv("HF_HOME");
    setenv("XDG_CACHE_HOME", "/x", 1);
    REQUIRE_OK(npg_hub_cache_dir(&s));
    CHECK(strcmp(s, "/x/huggingface/hub") == 0);
    free(s);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    REQUIRE_OK(npg_hub_cache_dir(&s));
    CHECK(strcmp(s, "/home/u/.cache/huggingface/hub") == 0);
    free(s);
    setenv("HF_HUB_CACHE", "/c", 1);
    REQUIRE_OK(npg_hub_cache_dir(&s));
    CHECK(strcmp(s, "/c") == 0);
    free(s);
    unsetenv("HF_ENDPOINT");
    REQUIRE_OK(npg_hub_endpoint(&s));
    CHECK(strcmp(s, "https://huggingface.co") == 0);
    free(s);
    setenv("HF_ENDPOINT", "http://mirror.example/hf//", 1);
    REQUIRE_OK(npg_hub_endpoint(&s));
    CHECK(strcmp(s, "http://mirror.example/hf") == 0);
    free(s);
    setenv("HF_ENDPOINT", "mirror.example", 1);
    CHECK(npg_hub_endpoint(&s) == NPG_ERR_INVALID_ARGUMENT && strstr(npg_last_error(), "HF_ENDPOINT"));
    unsetenv("HF_ENDPOINT");
    setenv("HF_TOKEN", "  hf_abc \n", 1);
    REQUIRE_OK(npg_hub_token(&s));
    CHECK(s && strcmp(s, "hf_abc") == 0);
    free(s);
    unsetenv("HF_TOKEN");
    char *dir = make_temp_dir();
    REQUIRE(dir);
    setenv("HF_HOME", dir, 1);
    REQUIRE_OK(npg_hub_token(&s));
    CHECK(s == NULL); /* no token file: anonymous */
    char path[1024];
    snprintf(path, sizeof path, "%s/token", dir);
    write_file(path, "hf_file\n", 8);
    REQUIRE_OK(npg_hub_token(&s));
    CHECK(s && strcmp(s, "hf_file") == 0);
    free(s);
    unsetenv("HF_HOME");
    rm_rf(dir);
    free(dir);
}

static void test_names(void) {
    CHECK(npg_hub_valid_repo_id("HuggingFaceTB/SmolLM2-135M-Instruct"));
    CHECK(npg_hub_valid_repo_id("gpt2"));
    CHECK(npg_hub_valid_repo_id("a_b/c.d"));
    const char *bad[] = {"", "/x", "x/", "a/b/c", "a--b/c", "a/b..c", ".a/b", "a/-b", "a b/c", "a/b@main", "../x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!npg_hub_valid_repo_id(bad[i]));
    CHECK(npg_hub_valid_revision("main"));
    CHECK(npg_hub_valid_revision("refs/pr/1"));
    CHECK(npg_hub_valid_revision("v1.0"));
    const char *badrev[] = {"", "/main", "a/../b", "..", "a//b", "a b", "a\\b"};
    for (size_t i = 0; i < sizeof badrev / sizeof badrev[0]; i++)
        CHECK(!npg_hub_valid_revision(badrev[i]));
    CHECK(npg_hub_is_commit("0123456789abcdef0123456789abcdef01234567"));
    CHECK(!npg_hub_is_commit("0123456789ABCDEF0123456789abcdef01234567"));
    CHECK(!npg_hub_is_commit("main"));
    char *d = npg_hub_repo_dir("/c", "ORG/NAME");
    CHECK(d && strcmp(d, "/c/models--ORG--NAME") == 0);
    free(d);
    CHECK(npg_hub_match("*.json", "config.json"));
    CHECK(npg_hub_match("*.json", "sub/x.json")); /* '*' crosses '/' as in Python's fnmatch */
    CHECK(!npg_hub_match("*.json", "model.safetensors"));
    CHECK(npg_hub_match("sub/", "sub/a/b.txt"));
    CHECK(!npg_hub_match("sub/", "other/sub.txt"));
    CHECK(npg_hub_match("model-0000?-of-00002.safetensors", "model-00001-of-00002.safetensors"));
}

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define SHA256 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static npg_status parse(const char *json, npg_hub_listing *l) {
    return npg_hub_parse_listing(json, strlen(json), "listing", l);
}

static void test_listing(void) {
    npg_hub_listing l;
    REQUIRE_OK(parse("{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"config.json\",\"blobId\":\"" SHA
                     "\",\"size\":12},{\"rfilename\":\"w/model.safetensors\",\"blobId\":\"" SHA
                     "\",\"size\":130,\"lfs\":{\"sha256\":\"" SHA256 "\",\"size\":5000000000,\"pointerSize\":130}}]}",
                     &l));
    CHECK(strcmp(l.commit, SHA) == 0 && l.n_files == 2);
    CHECK(strcmp(l.files[0].name, "config.json") == 0 && !l.files[0].lfs && l.files[0].size == 12);
    CHECK(strcmp(l.files[0].etag, SHA) == 0);
    CHECK(l.files[1].lfs && strcmp(l.files[1].etag, SHA256) == 0 && l.files[1].size == 5000000000ull);
    npg_hub_listing_free(&l);
    /* names that would leave the folder, hashes that are not hex, a listing without blobs */
    const char *bad[][2] = {
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"../x\",\"blobId\":\"" SHA "\",\"size\":1}]}", "../x"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"/etc/x\",\"blobId\":\"" SHA "\",\"size\":1}]}", "safe"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"a/./b\",\"blobId\":\"" SHA "\",\"size\":1}]}", "safe"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"x\",\"blobId\":\"../../etc\",\"size\":1}]}", "blobId"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"x\"}]}", "?blobs=true"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"x\",\"blobId\":\"" SHA
         "\",\"size\":1,\"lfs\":{\"sha256\":\"zz\",\"size\":1}}]}",
         "sha256"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"x\",\"blobId\":\"" SHA "\",\"size\":-1}]}", "size"},
        {"{\"sha\":\"../main\",\"siblings\":[]}", "sha"},
        {"{\"sha\":\"" SHA "\"}", "siblings"},
        {"{\"sha\":\"" SHA "\",\"siblings\":[{\"rfilename\":\"x\",\"blobId\":\"" SHA
         "\",\"size\":1},{\"rfilename\":\"x\",\"blobId\":\"" SHA "\",\"size\":1}]}",
         "twice"},
        {"{\"sha\":", "listing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        npg_status st = parse(bad[i][0], &l);
        CHECK(st == NPG_ERR_FORMAT);
        if (st != NPG_OK && !strstr(npg_last_error(), bad[i][1])) {
            fprintf(stderr, "  case %zu: '%s' lacks '%s'\n", i, npg_last_error(), bad[i][1]);
            CHECK(false);
        }
        CHECK(l.files == NULL && l.commit == NULL);
    }
}

/* A cache laid out as npugen pull / huggingface_hub write it, pointing at stories260K's files. */
static void test_resolve(void) {
    char *cache = make_temp_dir();
    REQUIRE(cache);
    setenv("HF_HUB_CACHE", cache, 1);
    char snap[1024], cmd[4096];
    snprintf(snap, sizeof snap, "%s/models--org--stories/snapshots/" SHA, cache);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s %s/models--org--stories/refs/refs/pr && cp -s %s/* %s/ && printf " SHA
             " > %s/models--org--stories/refs/main && printf " SHA " > %s/models--org--stories/refs/refs/pr/1",
             snap, cache, shared_path("models/stories260K"), snap, cache, cache);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    char *out = NULL;
    const char *ok[] = {"org/stories", "org/stories@main", ("org/stories@" SHA), "org/stories@refs/pr/1"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        REQUIRE_OK(npg_hub_resolve_model_dir(ok[i], &out));
        CHECK(strcmp(out, snap) == 0);
        free(out);
    }
    /* folders and anything that is not a repo id come back as they are */
    const char *same[] = {shared_path("models/stories260K"), "/no/such/folder", "x.gguf", "gpt2", ""};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        REQUIRE_OK(npg_hub_resolve_model_dir(same[i], &out));
        CHECK(strcmp(out, same[i]) == 0);
        free(out);
    }
    CHECK(npg_hub_resolve_model_dir("org/other", &out) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "npugen pull org/other") && strstr(npg_last_error(), cache));
    CHECK(npg_hub_resolve_model_dir("org/stories@v2", &out) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "cached revisions: ") && strstr(npg_last_error(), "--revision v2"));
    /* the library opens a repo id wherever it opens a model folder */
    npg_tokenizer *tok = NULL;
    REQUIRE_OK(npg_tokenizer_create("org/stories", &tok));
    npg_tokenizer_free(tok);
    npg_llm_pipeline *pipe = NULL;
    REQUIRE_OK(npg_llm_pipeline_create("org/stories@main", "CPU", 0, &pipe));
    npg_llm_pipeline_free(pipe);
    CHECK(npg_llm_pipeline_create("org/missing", "CPU", 0, &pipe) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "npugen pull org/missing"));
    /* a ref naming a snapshot that is gone */
    snprintf(cmd, sizeof cmd, "rm -rf %s", snap);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    CHECK(npg_hub_resolve_model_dir("org/stories", &out) == NPG_ERR_NOT_FOUND);
    CHECK(strstr(npg_last_error(), "is missing"));
    unsetenv("HF_HUB_CACHE");
    rm_rf(cache);
    free(cache);
}

int main(void) {
    RUN(test_env);
    RUN(test_names);
    RUN(test_listing);
    RUN(test_resolve);
    return npg_test_summary();
}
