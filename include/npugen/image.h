/* npugen/image.h — the public C API, part: images.
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_IMAGE_H
#define NPUGEN_IMAGE_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/image.h"
#endif

/* ---------------------------------------------------------------------------------------------- */
/* Images                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* An image as vision-language models see it: 8-bit RGB, interleaved, row-major, no padding (pixel
 * (x, y) channel c at data[(y * width + x) * 3 + c]; numpy's HWC, what np.array(pil_image) gives).
 * Decoding, resizing and the Hugging Face image processors below reproduce Pillow and transformers
 * to the bit (docs/images.md says what is exact and how it was checked). */
typedef struct npg_image npg_image;

/* The most pixels (width * height) an image may have: Pillow's decompression-bomb limit
 * (2 * Image.MAX_IMAGE_PIXELS). Checked from the file's header, before any pixel memory is taken. */
#define NPG_IMAGE_MAX_PIXELS 178956970u

/* Decodes a PNG or JPEG file (recognised by its first bytes, not by its name) to RGB as Pillow's
 * Image.open(path).convert("RGB"): alpha dropped (not composited), grayscale and palette expanded,
 * 16-bit samples reduced as Pillow does, CMYK converted as Pillow does; EXIF orientation is ignored
 * (as transformers' image processors do), gamma and colour profiles are not applied (as Pillow).
 * JPEG through libjpeg-turbo with Pillow's settings (accurate integer DCT, fancy upsampling).
 * Errors name the file and the problem: NPG_ERR_IO (unreadable), NPG_ERR_FORMAT (neither PNG nor
 * JPEG, truncated or corrupt data, a 0 x 0 header — a corrupt JPEG is refused even where libjpeg
 * could go on), NPG_ERR_LIMIT (more than NPG_IMAGE_MAX_PIXELS), NPG_ERR_UNSUPPORTED. */
NPG_API npg_status npg_image_load(const char *path, npg_image **out);
/* The same from a whole file already in memory; `name` (may be NULL) names it in messages. */
NPG_API npg_status npg_image_load_memory(const void *data, size_t size, const char *name, npg_image **out);
/* Copies width * height * 3 bytes of interleaved RGB (the layout above). Both sizes >= 1 and at most
 * NPG_IMAGE_MAX_PIXELS pixels (NPG_ERR_LIMIT). */
NPG_API npg_status npg_image_from_rgb(size_t width, size_t height, const uint8_t *rgb, npg_image **out);
NPG_API void npg_image_free(npg_image *img);
NPG_API size_t npg_image_width(const npg_image *img);  /* 0 for NULL */
NPG_API size_t npg_image_height(const npg_image *img); /* 0 for NULL */
/* width * height * 3 bytes, borrowed until npg_image_free. NULL for NULL. */
NPG_API const uint8_t *npg_image_data(const npg_image *img);

/* Pillow's resampling filters, numbered as PIL.Image.Resampling (NEAREST = 0 is not provided). */
typedef enum npg_resample {
    NPG_RESAMPLE_LANCZOS = 1,
    NPG_RESAMPLE_BILINEAR = 2,
    NPG_RESAMPLE_BICUBIC = 3,
    NPG_RESAMPLE_BOX = 4,
    NPG_RESAMPLE_HAMMING = 5,
} npg_resample;

/* Pillow's Image.resize((width, height), resample) of an RGB image (reducing_gap None), bit for bit:
 * separable, horizontal pass first, the filter's support widened by the downscale factor, 8-bit
 * fixed-point weights, each pass rounded to uint8. */
NPG_API npg_status npg_image_resize(const npg_image *img, size_t width, size_t height, npg_resample resample,
                                    npg_image **out);
/* transformers' center_crop: top = (h - height) // 2, left = (w - width) // 2; where the image is
 * smaller than the crop it is first centred on zeros (black), as transformers pads. */
NPG_API npg_status npg_image_center_crop(const npg_image *img, size_t width, size_t height, npg_image **out);

/* A model's image processor, read from MODEL_DIR/preprocessor_config.json: CLIPImageProcessor
 * (LLaVA: shortest-edge resize, center crop) and Gemma3ImageProcessor / SiglipImageProcessor
 * (resize to a fixed height x width; Gemma-3's pan-and-scan is not supported and refused). Keys and
 * defaults as transformers: do_resize, size ({"shortest_edge": n}, {"height", "width"} or a number),
 * resample, do_center_crop, crop_size, do_rescale, rescale_factor, do_normalize, image_mean,
 * image_std, do_convert_rgb (images are RGB already). A "...Fast" processor name is read as the
 * Pillow-based one: npugen follows the slow processors. */
typedef struct npg_image_processor npg_image_processor;

NPG_API npg_status npg_image_processor_create(const char *model_dir, npg_image_processor **out);
NPG_API void npg_image_processor_free(npg_image_processor *p);
/* The image after the processor's uint8 stages (resize, then center crop when enabled). */
NPG_API npg_status npg_image_processor_prepare(const npg_image_processor *p, const npg_image *img,
                                               npg_image **out);
/* pixel_values [3, height, width] (CHW, float32), as the processor's pixel_values[0]: the prepared
 * image rescaled in float64 (u8 * rescale_factor, then cast to float32) and normalised in float32
 * ((x - mean[c]) / std[c]). *pixel_values is released with npg_free(). */
NPG_API npg_status npg_image_preprocess(const npg_image_processor *p, const npg_image *img, float **pixel_values,
                                        size_t *height, size_t *width);

#endif /* NPUGEN_IMAGE_H */
