/* test_image.c — image decoding and the Hugging Face image processors against the goldens of
 * ../shared/goldens/random-llava/ and random-gemma3-vlm/ (decoded RGB, resized, cropped, pixel_values),
 * Pillow's conversions of every PNG colour type, and bad images refused with a clear error. */
#include <spng.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static uint8_t *read_u8(const char *path, size_t expect) {
    size_t len = 0;
    char *d = read_all(path, &len);
    if (d && len != expect) {
        fprintf(stderr, "%s: %zu bytes, expected %zu\n", path, len, expect);
        free(d);
        return NULL;
    }
    return (uint8_t *)d;
}

static bool image_equals(const npg_image *img, size_t w, size_t h, const uint8_t *rgb) {
    return img && npg_image_width(img) == w && npg_image_height(img) == h && rgb &&
           memcmp(npg_image_data(img), rgb, w * h * 3) == 0;
}

/* chelsea.png decodes to the goldens' decoded RGB (Pillow 9.4), for both models. */
static void test_decode_png_golden(void) {
    npg_image *img = NULL;
    REQUIRE_OK(npg_image_load(shared_path("images/chelsea.png"), &img));
    CHECK(npg_image_width(img) == 451 && npg_image_height(img) == 300);
    uint8_t *a = read_u8(shared_path("goldens/random-llava/chelsea_image_rgb_300x451x3.u8"), 300 * 451 * 3);
    uint8_t *b = read_u8(shared_path("goldens/random-gemma3-vlm/image_rgb_300x451x3.u8"), 300 * 451 * 3);
    CHECK(image_equals(img, 451, 300, a));
    CHECK(image_equals(img, 451, 300, b));
    free(a);
    free(b);
    npg_image_free(img);
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* JPEG: the expected values are Pillow 9.4.0's (Debian python3-pil, libjpeg-turbo 2.1.5):
 * np.array(Image.open(f).convert("RGB")), its FNV-1a 64 hash and three pixels. */
static void test_decode_jpeg_pillow(void) {
    static const struct {
        const char *file;
        size_t w, h;
        uint64_t hash;
        uint8_t first[3], last[3], y100x200[3];
    } cases[] = {
        {"images/rocket.jpg", 640, 427, 0x34b9b35d9b0edb19u, {17, 33, 58}, {83, 61, 37}, {43, 57, 92}},
        {"images/llama_cute.jpg", 1024, 1024, 0xf8b82f4d3c9390e9u, {201, 136, 178}, {213, 151, 156}, {235, 193, 203}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        npg_image *img = NULL;
        REQUIRE_OK(npg_image_load(shared_path(cases[i].file), &img));
        size_t w = npg_image_width(img), h = npg_image_height(img);
        CHECK(w == cases[i].w && h == cases[i].h);
        const uint8_t *d = npg_image_data(img);
        if (w == cases[i].w && h == cases[i].h) {
            CHECK(memcmp(d, cases[i].first, 3) == 0);
            CHECK(memcmp(d + (w * h - 1) * 3, cases[i].last, 3) == 0);
            CHECK(memcmp(d + (100 * w + 200) * 3, cases[i].y100x200, 3) == 0);
            CHECK(fnv1a(d, w * h * 3) == cases[i].hash);
        }
        npg_image_free(img);
    }
}

static void check_pixel_values(const float *pv, const char *golden, size_t n) {
    size_t gn = 0;
    float *g = read_f32(golden, &gn);
    CHECK(g && gn == n);
    if (g && gn == n) {
        float d = max_abs_diff(pv, g, n);
        if (d > 1e-6f)
            fprintf(stderr, "%s: max |diff| %g\n", golden, (double)d);
        CHECK(d <= 1e-6f);
    }
    free(g);
}

/* LLaVA (CLIPImageProcessor): shortest edge 64 -> 96 x 64 bicubic, center crop 56, CLIP mean/std. */
static void test_llava_stages(void) {
    const char *dir = "goldens/random-llava/";
    char path[512];
    npg_image *img = NULL, *resized = NULL, *cropped = NULL, *prepared = NULL;
    npg_image_processor *proc = NULL;
    REQUIRE_OK(npg_image_load(shared_path("images/chelsea.png"), &img));
    REQUIRE_OK(npg_image_resize(img, 96, 64, NPG_RESAMPLE_BICUBIC, &resized));
    snprintf(path, sizeof path, "%schelsea_resized_rgb_64x96x3.u8", dir);
    uint8_t *g = read_u8(shared_path(path), 64 * 96 * 3);
    CHECK(image_equals(resized, 96, 64, g));
    free(g);
    REQUIRE_OK(npg_image_center_crop(resized, 56, 56, &cropped));
    snprintf(path, sizeof path, "%schelsea_cropped_rgb_56x56x3.u8", dir);
    g = read_u8(shared_path(path), 56 * 56 * 3);
    CHECK(image_equals(cropped, 56, 56, g));
    REQUIRE_OK(npg_image_processor_create(shared_path("models/random-llava"), &proc));
    REQUIRE_OK(npg_image_processor_prepare(proc, img, &prepared));
    CHECK(image_equals(prepared, 56, 56, g));
    free(g);
    float *pv = NULL;
    size_t h = 0, w = 0;
    REQUIRE_OK(npg_image_preprocess(proc, img, &pv, &h, &w));
    CHECK(h == 56 && w == 56);
    snprintf(path, sizeof path, "%schelsea_pixel_values_1x3x56x56.f32", dir);
    check_pixel_values(pv, shared_path(path), 3 * 56 * 56);
    npg_free(pv);
    npg_image_processor_free(proc);
    npg_image_free(prepared);
    npg_image_free(cropped);
    npg_image_free(resized);
    npg_image_free(img);
}

/* The processor's own shortest-edge size (96 x 64 from 451 x 300) against the resized golden: the
 * LLaVA config without the crop, in a temporary model folder. */
static void test_clip_shortest_edge_size(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    const char *cfg = "{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"shortest_edge\": 64},"
                      " \"do_center_crop\": false, \"resample\": 3}";
    write_file(path, cfg, strlen(cfg));
    npg_image *img = NULL, *prepared = NULL;
    npg_image_processor *proc = NULL;
    REQUIRE_OK(npg_image_load(shared_path("images/chelsea.png"), &img));
    REQUIRE_OK(npg_image_processor_create(dir, &proc));
    REQUIRE_OK(npg_image_processor_prepare(proc, img, &prepared));
    uint8_t *g = read_u8(shared_path("goldens/random-llava/chelsea_resized_rgb_64x96x3.u8"), 64 * 96 * 3);
    CHECK(image_equals(prepared, 96, 64, g));
    free(g);
    npg_image_free(prepared);
    npg_image_processor_free(proc);
    npg_image_free(img);
    rm_rf(dir);
    free(dir);
}

/* Gemma-3 (Gemma3ImageProcessor): 56 x 56 bilinear, no crop, mean = std = 0.5. */
static void test_gemma3_stages(void) {
    npg_image *img = NULL, *resized = NULL, *prepared = NULL;
    npg_image_processor *proc = NULL;
    REQUIRE_OK(npg_image_load(shared_path("images/chelsea.png"), &img));
    uint8_t *g = read_u8(shared_path("goldens/random-gemma3-vlm/resized_rgb_56x56x3.u8"), 56 * 56 * 3);
    REQUIRE_OK(npg_image_resize(img, 56, 56, NPG_RESAMPLE_BILINEAR, &resized));
    CHECK(image_equals(resized, 56, 56, g));
    REQUIRE_OK(npg_image_processor_create(shared_path("models/random-gemma3-vlm"), &proc));
    REQUIRE_OK(npg_image_processor_prepare(proc, img, &prepared));
    CHECK(image_equals(prepared, 56, 56, g));
    free(g);
    float *pv = NULL;
    size_t h = 0, w = 0;
    REQUIRE_OK(npg_image_preprocess(proc, img, &pv, &h, &w));
    CHECK(h == 56 && w == 56);
    check_pixel_values(pv, shared_path("goldens/random-gemma3-vlm/pixel_values_1x3x56x56.f32"), 3 * 56 * 56);
    npg_free(pv);
    npg_image_processor_free(proc);
    npg_image_free(prepared);
    npg_image_free(resized);
    npg_image_free(img);
}

/* A PNG encoded by libspng from samples in the PNG's own layout (16-bit samples host-endian). */
static uint8_t *encode_png(uint32_t w, uint32_t h, uint8_t depth, uint8_t ctype, const void *samples, size_t len,
                           const struct spng_plte *plte, size_t *out_len) {
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx)
        return NULL;
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    struct spng_ihdr ihdr = {.width = w, .height = h, .bit_depth = depth, .color_type = ctype};
    int err = spng_set_ihdr(ctx, &ihdr);
    if (!err && plte)
        err = spng_set_plte(ctx, (struct spng_plte *)plte);
    if (!err)
        err = spng_encode_image(ctx, samples, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    uint8_t *png = NULL;
    if (!err)
        png = spng_get_png_buffer(ctx, out_len, &err);
    if (err)
        fprintf(stderr, "spng encode: %s\n", spng_strerror(err));
    spng_ctx_free(ctx);
    return png;
}

static npg_image *decode_png_bytes(const uint8_t *png, size_t len) {
    npg_image *img = NULL;
    if (!png || npg_image_load_memory(png, len, "crafted.png", &img) != NPG_OK) {
        fprintf(stderr, "decode: %s\n", npg_last_error());
        return NULL;
    }
    return img;
}

/* Pillow's convert("RGB") of each PNG colour type (checked against Pillow 9.4 for these rules, see
 * docs/images.md): alpha dropped, gray repeated, 1-bit to 0/255, palette looked up, 16-bit gray
 * clamped to 255 (mode "I"), other 16-bit samples reduced to their high byte. */
static void test_png_color_types(void) {
    enum { W = 5, H = 3, N = W * H };
    size_t len = 0;
    /* RGBA 8-bit: alpha dropped, colour kept even where alpha is 0 (no compositing) */
    uint8_t rgba[N * 4];
    for (int i = 0; i < N * 4; i++)
        rgba[i] = (uint8_t)(i * 37 + 11);
    uint8_t *png = encode_png(W, H, 8, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, rgba, sizeof rgba, NULL, &len);
    npg_image *img = decode_png_bytes(png, len);
    REQUIRE(img);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < 3; c++)
            CHECK(npg_image_data(img)[i * 3 + c] == rgba[i * 4 + c]);
    npg_image_free(img);
    free(png);
    /* gray 16-bit: Pillow mode "I" -> RGB clamps: 200 stays 200, 256 and up become 255 */
    uint16_t g16[N];
    for (int i = 0; i < N; i++)
        g16[i] = (uint16_t)(i < 5 ? i * 50 : 250 + i * 4000);
    png = encode_png(W, H, 16, SPNG_COLOR_TYPE_GRAYSCALE, g16, sizeof g16, NULL, &len);
    REQUIRE(img = decode_png_bytes(png, len));
    for (int i = 0; i < N; i++) {
        uint8_t e = (uint8_t)(g16[i] > 255 ? 255 : g16[i]);
        CHECK(npg_image_data(img)[i * 3] == e && npg_image_data(img)[i * 3 + 1] == e &&
              npg_image_data(img)[i * 3 + 2] == e);
    }
    npg_image_free(img);
    free(png);
    /* RGB 16-bit: the high byte */
    uint16_t rgb16[N * 3];
    for (int i = 0; i < N * 3; i++)
        rgb16[i] = (uint16_t)(i * 4321 + 255);
    png = encode_png(W, H, 16, SPNG_COLOR_TYPE_TRUECOLOR, rgb16, sizeof rgb16, NULL, &len);
    REQUIRE(img = decode_png_bytes(png, len));
    for (int i = 0; i < N * 3; i++)
        CHECK(npg_image_data(img)[i] == rgb16[i] >> 8);
    npg_image_free(img);
    free(png);
    /* gray+alpha 16-bit: high byte of the gray, alpha dropped */
    uint16_t ga16[N * 2];
    for (int i = 0; i < N * 2; i++)
        ga16[i] = (uint16_t)(i * 3001 + 7);
    png = encode_png(W, H, 16, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, ga16, sizeof ga16, NULL, &len);
    REQUIRE(img = decode_png_bytes(png, len));
    for (int i = 0; i < N; i++)
        CHECK(npg_image_data(img)[i * 3 + 1] == ga16[i * 2] >> 8);
    npg_image_free(img);
    free(png);
    /* 1-bit gray: 0 / 255; row of 5 pixels packed MSB first: 1 0 1 1 0 */
    uint8_t bits[H] = {0xb0, 0xb0, 0xb0};
    png = encode_png(W, H, 1, SPNG_COLOR_TYPE_GRAYSCALE, bits, sizeof bits, NULL, &len);
    REQUIRE(img = decode_png_bytes(png, len));
    static const uint8_t row1[W] = {255, 0, 255, 255, 0};
    for (int x = 0; x < W; x++)
        CHECK(npg_image_data(img)[(W + x) * 3 + 2] == row1[x]);
    npg_image_free(img);
    free(png);
    /* palette 8-bit: looked up */
    struct spng_plte plte = {.n_entries = 3};
    for (int e = 0; e < 3; e++)
        plte.entries[e] = (struct spng_plte_entry){(uint8_t)(10 + e), (uint8_t)(100 + e), (uint8_t)(200 + e), 255};
    uint8_t idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = (uint8_t)(i % 3);
    png = encode_png(W, H, 8, SPNG_COLOR_TYPE_INDEXED, idx, sizeof idx, &plte, &len);
    REQUIRE(img = decode_png_bytes(png, len));
    for (int i = 0; i < N; i++)
        CHECK(npg_image_data(img)[i * 3] == 10 + i % 3 && npg_image_data(img)[i * 3 + 2] == 200 + i % 3);
    npg_image_free(img);
    free(png);
}

static void test_from_rgb_and_crop(void) {
    const uint8_t px[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    npg_image *img = NULL, *c = NULL;
    REQUIRE_OK(npg_image_from_rgb(2, 2, px, &img));
    CHECK(image_equals(img, 2, 2, px));
    /* transformers pads a too-small image with zeros: 2x2 in a 4x3 (w x h) window at top -1 (floor of
     * -1/2), left -1: row 0 is padding, the image sits at rows 1-2, columns 1-2 */
    REQUIRE_OK(npg_image_center_crop(img, 4, 3, &c));
    const uint8_t *d = npg_image_data(c);
    CHECK(npg_image_width(c) == 4 && npg_image_height(c) == 3);
    uint8_t zero[12] = {0};
    CHECK(memcmp(d, zero, 12) == 0);                /* row 0 */
    CHECK(memcmp(d + (4 + 1) * 3, px, 6) == 0);     /* row 1, columns 1-2 */
    CHECK(memcmp(d + (8 + 1) * 3, px + 6, 6) == 0); /* row 2, columns 1-2 */
    CHECK(memcmp(d + 4 * 3, zero, 3) == 0 && memcmp(d + 7 * 3, zero, 3) == 0);
    npg_image_free(c);
    CHECK(npg_image_from_rgb(0, 0, px, &c) == NPG_ERR_LIMIT);
    CHECK(npg_image_from_rgb(2, 2, NULL, &c) == NPG_ERR_INVALID_ARGUMENT);
    CHECK(npg_image_resize(img, 3, 3, (npg_resample)0, &c) == NPG_ERR_UNSUPPORTED);
    CHECK(npg_image_width(NULL) == 0 && npg_image_data(NULL) == NULL);
    npg_image_free(NULL);
    npg_image_free(img);
}

static uint32_t crc32_png(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* chelsea.png with IHDR's size replaced (and its CRC redone, so only the size is wrong) */
static void png_with_size(uint8_t *png, uint32_t w, uint32_t h) {
    put_be32(png + 16, w);
    put_be32(png + 20, h);
    put_be32(png + 29, crc32_png(png + 12, 17));
}

/* Loads a file that must be refused with `status`, the path and `phrase` in the message. */
static void expect_refused(const char *path, npg_status status, const char *phrase) {
    npg_image *img = NULL;
    npg_status st = npg_image_load(path, &img);
    const char *msg = npg_last_error();
    if (st != status || !strstr(msg, path) || !strstr(msg, phrase))
        fprintf(stderr, "%s: got %s \"%s\", expected %s with \"%s\"\n", path, npg_status_name(st), msg,
                npg_status_name(status), phrase);
    CHECK(st == status);
    CHECK(strstr(msg, path) != NULL);
    CHECK(strstr(msg, phrase) != NULL);
    CHECK(img == NULL);
    npg_image_free(img);
}

static void test_bad_images(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char path[1024];
    size_t png_len = 0, jpg_len = 0;
    uint8_t *png = (uint8_t *)read_all(shared_path("images/chelsea.png"), &png_len);
    uint8_t *jpg = (uint8_t *)read_all(shared_path("images/rocket.jpg"), &jpg_len);
    REQUIRE(png && jpg && png_len > 1000 && jpg_len > 1000);

    snprintf(path, sizeof path, "%s/truncated.png", dir);
    write_file(path, png, png_len / 2);
    expect_refused(path, NPG_ERR_FORMAT, "truncated PNG");

    snprintf(path, sizeof path, "%s/truncated.jpg", dir);
    write_file(path, jpg, jpg_len / 2);
    expect_refused(path, NPG_ERR_FORMAT, "truncated JPEG");

    /* garbage over the middle of the entropy-coded data (no 0xff, so no false markers) */
    uint8_t *garbled = malloc(jpg_len);
    REQUIRE(garbled);
    memcpy(garbled, jpg, jpg_len);
    uint32_t s = 12345;
    for (size_t i = jpg_len / 3; i < jpg_len / 3 + 2000; i++) {
        s = s * 1103515245u + 12345u;
        garbled[i] = (uint8_t)((s >> 16) % 255);
    }
    snprintf(path, sizeof path, "%s/garbage.jpg", dir);
    write_file(path, garbled, jpg_len);
    expect_refused(path, NPG_ERR_FORMAT, "bad JPEG");
    free(garbled);

    png_with_size(png, 0, 0);
    snprintf(path, sizeof path, "%s/zero.png", dir);
    write_file(path, png, png_len);
    expect_refused(path, NPG_ERR_FORMAT, "width");

    /* 30000 x 30000 = 9e8 pixels: refused from the header, before a 2.7 GB buffer is asked for */
    png_with_size(png, 30000, 30000);
    snprintf(path, sizeof path, "%s/huge.png", dir);
    write_file(path, png, png_len);
    expect_refused(path, NPG_ERR_LIMIT, "30000 x 30000");

    /* the same in a JPEG's SOF header */
    for (size_t i = 2; i + 9 < jpg_len; i++)
        if (jpg[i] == 0xff && (jpg[i + 1] == 0xc0 || jpg[i + 1] == 0xc2)) {
            jpg[i + 5] = 30000 >> 8, jpg[i + 6] = 30000 & 0xff; /* height */
            jpg[i + 7] = 30000 >> 8, jpg[i + 8] = 30000 & 0xff; /* width */
            break;
        }
    snprintf(path, sizeof path, "%s/huge.jpg", dir);
    write_file(path, jpg, jpg_len);
    expect_refused(path, NPG_ERR_LIMIT, "30000 x 30000");

    snprintf(path, sizeof path, "%s/notes.png", dir);
    const char *text = "these are my notes, not a picture\n";
    write_file(path, text, strlen(text));
    expect_refused(path, NPG_ERR_FORMAT, "not a PNG or JPEG");

    snprintf(path, sizeof path, "%s/empty.jpg", dir);
    write_file(path, "", 0);
    expect_refused(path, NPG_ERR_FORMAT, "empty");

    snprintf(path, sizeof path, "%s/missing.png", dir);
    npg_image *img = NULL;
    CHECK(npg_image_load(path, &img) != NPG_OK);
    CHECK(strstr(npg_last_error(), path) != NULL);
    free(png);
    free(jpg);
    rm_rf(dir);
    free(dir);
}

static void expect_processor_error(const char *cfg, npg_status status, const char *phrase) {
    char *dir = make_temp_dir();
    REQUIRE(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    write_file(path, cfg, strlen(cfg));
    npg_image_processor *p = NULL;
    npg_status st = npg_image_processor_create(dir, &p);
    if (st != status || !strstr(npg_last_error(), phrase))
        fprintf(stderr, "%s: got %s \"%s\"\n", cfg, npg_status_name(st), npg_last_error());
    CHECK(st == status);
    CHECK(strstr(npg_last_error(), "preprocessor_config.json") != NULL);
    CHECK(strstr(npg_last_error(), phrase) != NULL);
    npg_image_processor_free(p);
    rm_rf(dir);
    free(dir);
}

static void test_processor_errors(void) {
    expect_processor_error("{\"image_processor_type\": \"Qwen2VLImageProcessor\"}", NPG_ERR_UNSUPPORTED,
                           "Qwen2VLImageProcessor");
    expect_processor_error("{\"image_processor_type\": \"Gemma3ImageProcessor\", \"do_pan_and_scan\": true}",
                           NPG_ERR_UNSUPPORTED, "do_pan_and_scan");
    expect_processor_error("{\"image_processor_type\": \"CLIPImageProcessor\", \"image_mean\": [0.5, 0.5]}",
                           NPG_ERR_FORMAT, "image_mean");
    expect_processor_error("{\"image_processor_type\": \"CLIPImageProcessor\", \"resample\": 0}", NPG_ERR_UNSUPPORTED,
                           "resample");
    expect_processor_error("{\"image_processor_type\": \"CLIPImageProcessor\", \"crop_size\": {\"height\": 0, "
                           "\"width\": 3}}",
                           NPG_ERR_FORMAT, "height");
    npg_image_processor *p = NULL;
    CHECK(npg_image_processor_create(shared_path("models/stories260K"), &p) != NPG_OK);
    CHECK(strstr(npg_last_error(), "preprocessor_config.json") != NULL);
}

int main(void) {
    RUN(test_decode_png_golden);
    RUN(test_decode_jpeg_pillow);
    RUN(test_llava_stages);
    RUN(test_clip_shortest_edge_size);
    RUN(test_gemma3_stages);
    RUN(test_png_color_types);
    RUN(test_from_rgb_and_crop);
    RUN(test_bad_images);
    RUN(test_processor_errors);
    return npg_test_summary();
}
