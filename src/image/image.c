/* image.c — the npg_image handle: loading (format by signature), raw RGB, getters, center crop. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"

npg_status npg_image_check_size(size_t width, size_t height, const char *what) {
    if (width == 0 || height == 0)
        return npg_fail(NPG_ERR_LIMIT, "%s: image is %zu x %zu pixels (empty)", what, width, height);
    /* the division form cannot overflow whatever the header claims */
    if (width > NPG_IMAGE_MAX_PIXELS || height > NPG_IMAGE_MAX_PIXELS / width)
        return npg_fail(NPG_ERR_LIMIT, "%s: image is %zu x %zu pixels, more than the limit of %u pixels", what, width,
                        height, NPG_IMAGE_MAX_PIXELS);
    return NPG_OK;
}

npg_status npg_image_alloc(size_t width, size_t height, const char *what, npg_image **out) {
    NPG_TRY(npg_image_check_size(width, height, what));
    npg_image *img = calloc(1, sizeof *img);
    NPG_CHECK_ALLOC(img);
    img->width = width;
    img->height = height;
    img->rgb = malloc(width * height * 3);
    if (!img->rgb) {
        free(img);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu x %zu pixels", what, width, height);
    }
    *out = img;
    return NPG_OK;
}

void npg_image_free(npg_image *img) {
    if (!img)
        return;
    free(img->rgb);
    free(img);
}

size_t npg_image_width(const npg_image *img) { return img ? img->width : 0; }
size_t npg_image_height(const npg_image *img) { return img ? img->height : 0; }
const uint8_t *npg_image_data(const npg_image *img) { return img ? img->rgb : NULL; }

npg_status npg_image_from_rgb(size_t width, size_t height, const uint8_t *rgb, npg_image **out) {
    if (!rgb || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_from_rgb: %s is NULL", !rgb ? "rgb" : "out");
    npg_image *img = NULL;
    NPG_TRY(npg_image_alloc(width, height, "npg_image_from_rgb", &img));
    memcpy(img->rgb, rgb, width * height * 3);
    *out = img;
    return NPG_OK;
}

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

npg_status npg_image_load_memory(const void *data, size_t size, const char *name, npg_image **out) {
    const char *what = name ? name : "image";
    if (!data && size > 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_load_memory: data is NULL");
    if (!out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_load_memory: out is NULL");
    const uint8_t *p = data;
    /* By content, never by the file name: a text file named .png is refused here. */
    if (size >= sizeof png_signature && memcmp(p, png_signature, sizeof png_signature) == 0)
        return npg_image_decode_png(p, size, what, out);
    if (size >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return npg_image_decode_jpeg(p, size, what, out);
    if (size == 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: empty file, not a PNG or JPEG image", what);
    return npg_fail(NPG_ERR_FORMAT, "%s: not a PNG or JPEG image (unrecognised signature)", what);
}

npg_status npg_image_load(const char *path, npg_image **out) {
    if (!path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_load: %s is NULL", !path ? "path" : "out");
    /* mapped, not read: a huge file costs address space, not memory, until the header is checked */
    npg_mapped_file mf = {0};
    NPG_TRY(npg_map_file(path, &mf));
    npg_status st = npg_image_load_memory(mf.data, mf.size, path, out);
    npg_unmap_file(&mf);
    return st;
}

/* Python's floor division, for a negative difference when the crop is larger than the image. */
static long long floor_div2(long long a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); }

npg_status npg_image_center_crop(const npg_image *img, size_t width, size_t height, npg_image **out) {
    if (!img || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_image_center_crop: %s is NULL", !img ? "img" : "out");
    npg_image *res = NULL;
    NPG_TRY(npg_image_alloc(width, height, "npg_image_center_crop", &res));
    long long ih = (long long)img->height, iw = (long long)img->width;
    long long ch = (long long)height, cw = (long long)width;
    /* transformers.image_transforms.center_crop: the window's top-left in image coordinates. When the
     * image is smaller, transformers pastes it at ceil((crop - size) / 2) on a zero canvas and shifts
     * the window by the same amount, so in image coordinates the window stays at floor((size - crop)
     * / 2) and is always `crop` big; what falls outside the image is 0. */
    long long top = floor_div2(ih - ch), left = floor_div2(iw - cw);
    memset(res->rgb, 0, width * height * 3);
    for (long long y = 0; y < ch; y++) {
        long long sy = top + y;
        if (sy < 0 || sy >= ih)
            continue;
        for (long long x = 0; x < cw; x++) {
            long long sx = left + x;
            if (sx < 0 || sx >= iw)
                continue;
            memcpy(res->rgb + ((size_t)y * width + (size_t)x) * 3,
                   img->rgb + ((size_t)sy * img->width + (size_t)sx) * 3, 3);
        }
    }
    *out = res;
    return NPG_OK;
}
