/* decode_jpeg.c — JPEG to RGB through libjpeg-turbo's libjpeg API, as Pillow's
 * Image.open(f).convert("RGB").
 *
 * Pillow (JpegImagePlugin + JpegDecode.c) drives the same libjpeg API with the library defaults: the
 * accurate integer DCT (JDCT_ISLOW), fancy upsampling, block smoothing; it asks for JCS_RGB on 3
 * components (libjpeg converts YCbCr), JCS_GRAYSCALE on 1 (mode "L", which convert("RGB") repeats in
 * the three channels) and JCS_CMYK on 4 (libjpeg converts YCCK), read as "CMYK;I" (Adobe's inverted
 * convention assumed) and converted to RGB by Pillow's cmyk2rgb. We do the same, setting those
 * defaults explicitly so a libjpeg built with other defaults still matches.
 *
 * Errors: libjpeg reports fatal errors through error_exit (we longjmp back) and corrupt data through
 * warnings, after which it would go on with grey or repeated blocks. Pillow refuses a truncated file
 * ("image file is truncated"); we refuse truncation and every corrupt-data warning too, so a damaged
 * JPEG never reaches a model as a plausible picture. Warnings about metadata only (JFIF version, Adobe
 * transform code, ICC marker, stray bytes between header segments) leave the pixels intact and are
 * accepted. No JPEG checksum exists: damage that still decodes to valid codes cannot be seen.
 * Memory: the header's size is checked against NPG_IMAGE_MAX_PIXELS before decompression starts. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "core/error.h"
#include "image/image.h"

/* A progressive JPEG may hold any number of scans, each a pass over the whole image: past this many
 * it is a decompression bomb, not a photo (libjpeg-turbo's own advice uses 500 too). */
#define JPEG_MAX_SCANS 500

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr; /* first: libjpeg hands us a pointer to it */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int warning; /* a refused warning's code, 0 for a fatal error */
} jpeg_failure;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; /* the library never prints */ }

static void on_emit_message(j_common_ptr cinfo, int level) {
    if (level != -1)
        return; /* trace messages */
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    int code = cinfo->err->msg_code;
    if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC)
        return;
    /* Stray bytes between header segments are harmless padding; before EOI, SOS or a restart marker
     * they are entropy-coded data the decoder did not use up: the scan is corrupt. */
    int marker = cinfo->err->msg_parm.i[1];
    if (code == JWRN_EXTRANEOUS_DATA && marker != 0xd9 && marker != 0xda && (marker < 0xd0 || marker > 0xd7))
        return;
    cinfo->err->format_message(cinfo, f->message);
    f->warning = code;
    longjmp(f->jump, 1);
}

static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_failure *f = (jpeg_failure *)cinfo->err;
        snprintf(f->message, sizeof f->message, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(f->jump, 1);
    }
}

/* Pillow's cmyk2rgb (Convert.c) on "CMYK;I" input: the bytes are inverted first, then each channel is
 * (255 - k) - c * (255 - k) / 255 with Pillow's rounded division by 255. */
static uint8_t div255(int v) {
    int t = v + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, size_t width) {
    for (size_t x = 0; x < width; x++, in += 4, out += 3) {
        int nk = in[3]; /* 255 - (255 - byte) */
        for (int c = 0; c < 3; c++) {
            int v = nk - div255((255 - in[c]) * nk);
            out[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* All state touched after setjmp lives in this struct, reached through a pointer that does not change,
 * so longjmp cannot leave a stale register copy behind (C11 7.13.2.1). */
typedef struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure fail;
    npg_image *img;
    uint8_t *row; /* one decoded row for gray / CMYK */
    bool started;
} jpeg_job;

static npg_status decode(jpeg_job *job, const uint8_t *data, size_t size, const char *what) {
    struct jpeg_decompress_struct *ci = &job->cinfo;
    if (setjmp(job->fail.jump)) {
        if (job->fail.warning == JWRN_JPEG_EOF)
            return npg_fail(NPG_ERR_FORMAT, "%s: truncated JPEG (%s)", what, job->fail.message);
        return npg_fail(NPG_ERR_FORMAT, "%s: bad JPEG (%s)", what, job->fail.message);
    }
    jpeg_create_decompress(ci);
    job->started = true;
    ci->progress = &job->fail.progress;
    jpeg_mem_src(ci, data, (unsigned long)size);
    jpeg_read_header(ci, TRUE);
    NPG_TRY(npg_image_alloc(ci->image_width, ci->image_height, what, &job->img));
    int comps = ci->num_components;
    if (comps == 3)
        ci->out_color_space = JCS_RGB;
    else if (comps == 1)
        ci->out_color_space = JCS_GRAYSCALE;
    else if (comps == 4)
        ci->out_color_space = JCS_CMYK;
    else
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: JPEG with %d colour components (1, 3 or 4 are supported)", what,
                        comps);
    /* Pillow's settings (the libjpeg defaults), see the top of this file */
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    ci->do_block_smoothing = TRUE;
    ci->scale_num = ci->scale_denom = 1;
    jpeg_start_decompress(ci);
    size_t w = job->img->width;
    if (ci->output_width != w || ci->output_height != job->img->height ||
        ci->output_components != (comps == 3 ? 3 : comps))
        return npg_fail(NPG_ERR_INTERNAL, "%s: libjpeg output %ux%ux%d differs from the header", what, ci->output_width,
                        ci->output_height, ci->output_components);
    if (comps != 3)
        NPG_CHECK_ALLOC(job->row = malloc(w * (size_t)comps));
    while (ci->output_scanline < ci->output_height) {
        size_t y = ci->output_scanline;
        uint8_t *dst = job->img->rgb + y * w * 3;
        JSAMPROW rows[1] = {comps == 3 ? dst : job->row};
        if (jpeg_read_scanlines(ci, rows, 1) != 1)
            return npg_fail(NPG_ERR_FORMAT, "%s: truncated JPEG (no data for row %zu)", what, y);
        if (comps == 1) {
            for (size_t x = 0; x < w; x++)
                dst[x * 3] = dst[x * 3 + 1] = dst[x * 3 + 2] = job->row[x];
        } else if (comps == 4) {
            cmyk_row_to_rgb(job->row, dst, w);
        }
    }
    jpeg_finish_decompress(ci);
    return NPG_OK;
}

npg_status npg_image_decode_jpeg(const uint8_t *data, size_t size, const char *what, npg_image **out) {
    jpeg_job *job = calloc(1, sizeof *job);
    NPG_CHECK_ALLOC(job);
    job->cinfo.err = jpeg_std_error(&job->fail.mgr);
    job->fail.mgr.error_exit = on_error_exit;
    job->fail.mgr.output_message = on_output_message;
    job->fail.mgr.emit_message = on_emit_message;
    job->fail.progress.progress_monitor = on_progress;
    npg_status st = decode(job, data, size, what);
    if (job->started)
        jpeg_destroy_decompress(&job->cinfo);
    free(job->row);
    if (st == NPG_OK)
        *out = job->img;
    else
        npg_image_free(job->img);
    free(job);
    return st;
}
