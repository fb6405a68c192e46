/* decode_png.c — PNG to RGB through libspng, as Pillow's Image.open(f).convert("RGB").
 *
 * What Pillow does, per PNG colour type (PngImagePlugin modes, then Convert.c to RGB):
 *  - 8-bit or less: gray (1/2/4-bit scaled to 0..255), palette looked up, RGB as is; alpha and tRNS
 *    dropped, never composited. libspng's SPNG_FMT_RGB8 without SPNG_DECODE_TRNS is exactly that.
 *  - 16-bit RGB(A) and gray+alpha: Pillow unpacks "RGB;16B" / "LA;16B", keeping the high byte.
 *  - 16-bit gray: Pillow opens it as mode "I" (32-bit integer), and I -> RGB clamps to 0..255: values
 *    above 255 become white, not v >> 8. We decode to RGBA16 (exact samples) and reduce ourselves.
 * gAMA, sBIT, iCCP, cHRM and EXIF are ignored, as Pillow ignores them when converting.
 *
 * Memory: the header's width x height is checked against NPG_IMAGE_MAX_PIXELS before anything is
 * decoded; libspng's own limits bound the dimensions and the ancillary chunks it keeps. */
#include <spng.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"

/* Ancillary chunks (text, ICC, EXIF) libspng may keep: one chunk and all of them together. */
#define PNG_CHUNK_LIMIT (16u << 20)
#define PNG_CHUNK_CACHE_LIMIT (64u << 20)

static npg_status spng_failure(int err, const char *what) {
    npg_status st = NPG_ERR_FORMAT;
    const char *why = spng_strerror(err);
    if (err == SPNG_EOVERFLOW || err == SPNG_EMEM)
        st = NPG_ERR_OUT_OF_MEMORY;
    else if (err == SPNG_EUSER_WIDTH || err == SPNG_EUSER_HEIGHT || err == SPNG_ECHUNK_LIMITS)
        st = NPG_ERR_LIMIT;
    if (err == SPNG_IO_EOF || err == SPNG_EOF || err == SPNG_EIDAT_TOO_SHORT)
        return npg_fail(st, "%s: truncated PNG (%s)", what, why);
    return npg_fail(st, "%s: bad PNG (%s)", what, why);
}

npg_status npg_image_decode_png(const uint8_t *data, size_t size, const char *what, npg_image **out) {
    spng_ctx *ctx = spng_ctx_new(0);
    NPG_CHECK_ALLOC(ctx);
    npg_image *img = NULL;
    uint16_t *wide = NULL;
    npg_status st = NPG_OK;
    int err = spng_set_png_buffer(ctx, data, size);
    /* the per-dimension limit libspng checks on the header; the product is ours, below */
    if (!err)
        err = spng_set_image_limits(ctx, NPG_IMAGE_MAX_PIXELS, NPG_IMAGE_MAX_PIXELS);
    if (!err)
        err = spng_set_chunk_limits(ctx, PNG_CHUNK_LIMIT, PNG_CHUNK_CACHE_LIMIT);
    struct spng_ihdr ihdr;
    if (!err)
        err = spng_get_ihdr(ctx, &ihdr);
    if (err) {
        st = spng_failure(err, what);
        goto done;
    }
    st = npg_image_alloc(ihdr.width, ihdr.height, what, &img);
    if (st != NPG_OK)
        goto done;
    size_t n = img->width * img->height;
    if (ihdr.bit_depth == 16) {
        size_t bytes = 0;
        err = spng_decoded_image_size(ctx, SPNG_FMT_RGBA16, &bytes);
        if (!err && !(wide = malloc(bytes))) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory decoding a 16-bit PNG", what);
            goto done;
        }
        if (!err)
            err = spng_decode_image(ctx, wide, bytes, SPNG_FMT_RGBA16, 0);
        if (err) {
            st = spng_failure(err, what);
            goto done;
        }
        bool gray = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE; /* Pillow's mode "I" */
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) {
                unsigned v = wide[i * 4 + (size_t)c];
                img->rgb[i * 3 + (size_t)c] = (uint8_t)(gray ? (v > 255 ? 255 : v) : v >> 8);
            }
    } else {
        err = spng_decode_image(ctx, img->rgb, n * 3, SPNG_FMT_RGB8, 0);
        if (err) {
            st = spng_failure(err, what);
            goto done;
        }
    }
done:
    free(wide);
    spng_ctx_free(ctx);
    if (st != NPG_OK) {
        npg_image_free(img);
        return st;
    }
    *out = img;
    return NPG_OK;
}
