/* image.h — 8-bit RGB images: decoding (PNG, JPEG), Pillow-exact resampling, Hugging Face image
 * processors. The public handle is npg_image (include/npugen.h); this header shares its layout and
 * the helpers between the files of src/image/.
 *
 * Every image is interleaved RGB, row-major, no padding: pixel (x, y) channel c sits at
 * rgb[(y * width + x) * 3 + c] — numpy's HWC layout, what `np.array(pil_image)` gives. */
#ifndef NPG_IMAGE_IMAGE_H
#define NPG_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

struct npg_image {
    size_t width;
    size_t height;
    uint8_t *rgb; /* width * height * 3 bytes */
};

/* A fresh image of the given size with uninitialised pixels. Checks w, h >= 1 and the pixel limit;
 * `what` names the source in messages (a path, or an argument name). */
npg_status npg_image_alloc(size_t width, size_t height, const char *what, npg_image **out);

/* Refuses 0 x 0 and images above NPG_IMAGE_MAX_PIXELS before anything is allocated. */
npg_status npg_image_check_size(size_t width, size_t height, const char *what);

/* The decoders: `data[size]` is the whole file; `what` names it in messages. */
npg_status npg_image_decode_png(const uint8_t *data, size_t size, const char *what, npg_image **out);
npg_status npg_image_decode_jpeg(const uint8_t *data, size_t size, const char *what, npg_image **out);

#endif
