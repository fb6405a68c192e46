/* fuzz_image.c — PNG (libspng) and JPEG (libjpeg-turbo) decoding as npg_image_load_memory does it, then
 * a small Pillow-exact resize and center crop of what decoded: the paths an image from a stranger
 * takes before preprocessing. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npg_image *img = NULL;
    npg_status st = npg_image_load_memory(data, size, "fuzz.img", &img);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    /* the decoder promised width * height * 3 bytes: touch the last one */
    size_t w = npg_image_width(img), h = npg_image_height(img);
    const uint8_t *px = npg_image_data(img);
    if (!px || w == 0 || h == 0)
        abort();
    volatile uint8_t last = px[w * h * 3 - 1]; /* ASan: in bounds */
    (void)last;
    /* resize to a size drawn from the input (1..16), both ways, then crop past the edges */
    size_t tw = 1 + data[size - 1] % 16, th = 1 + data[size / 2] % 16;
    npg_image *small = NULL, *crop = NULL;
    st = npg_image_resize(img, tw, th, (npg_resample)(1 + data[0] % 5), &small);
    fuzz_check_status(st);
    if (st == NPG_OK) {
        fuzz_check_status(npg_image_center_crop(small, tw + 2, th / 2 + 1, &crop));
        npg_image_free(crop);
    }
    npg_image_free(small);
    npg_image_free(img);
    return 0;
}
