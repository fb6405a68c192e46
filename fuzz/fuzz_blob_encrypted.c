/* fuzz_blob_encrypted.c — NPU blob import with CACHE_ENCRYPTION_CALLBACKS (the CLI's AES-256-GCM,
 * tools/cli_crypto.c, under a fixed key).
 *
 * The input is a blob in its plain layout (the same corpus as fuzz_blob): the harness fixes its
 * checksums, encrypts the meta section as the writer does, re-places the weights section behind the
 * ciphertext and sets NPU_BLOB_ENCRYPTED — so the fuzzer controls the decrypted plan. When bit 8 of
 * the input's flags is set, one ciphertext byte is flipped after encryption (a wrong key or a damaged
 * file: the tag check must refuse it cleanly). */
#include "blob_fixup.h"
#include "cli_crypto.h"
#include "device/npu/npu_config.h"

enum { ALIGN = 64, FLIP_FLAG = 0x100 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cli_crypto_key key = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}};
    npu_blob_header h;
    if (size < sizeof h)
        return 0; /* fuzz_blob covers short files; nothing to encrypt here */
    memcpy(&h, data, sizeof h);
    if (h.meta_size > size - sizeof h)
        return 0;
    uint8_t *meta = malloc(h.meta_size ? h.meta_size : 1);
    if (!meta)
        abort();
    memcpy(meta, data + sizeof h, (size_t)h.meta_size);
    size_t ws_n = 0;
    const uint8_t *ws = blob_weights(data, size, &h, &ws_n);
    uint64_t th = blob_fix_meta(meta, (size_t)h.meta_size, ws, ws_n);
    uint8_t *enc = NULL;
    size_t enc_n = 0;
    if (cli_aes_gcm_encrypt(&key, meta, (size_t)h.meta_size, &enc, &enc_n) != 0)
        abort();
    free(meta);
    if (h.flags & FLIP_FLAG)
        enc[enc_n / 2] ^= 0x20;
    h.flags |= NPU_BLOB_ENCRYPTED;
    h.meta_size = enc_n;
    size_t ws_at = (sizeof h + enc_n + ALIGN - 1) / ALIGN * ALIGN;
    size_t out_n = sizeof h + enc_n;
    if (h.flags & NPU_BLOB_WEIGHTS) {
        h.weights_hash = th;
        if (ws) {
            h.weights_offset = ws_at;
            out_n = ws_at + ws_n;
        }
    }
    blob_fix_header(&h, enc, enc_n);
    uint8_t *out = calloc(1, out_n);
    if (!out)
        abort();
    memcpy(out, &h, sizeof h);
    memcpy(out + sizeof h, enc, enc_n);
    if ((h.flags & NPU_BLOB_WEIGHTS) && ws)
        memcpy(out + ws_at, ws, ws_n);
    free(enc);
    char path[400];
    fuzz_write("plan.blob", out, out_n, path, sizeof path);
    free(out);

    npg_properties *props = NULL;
    if (npg_properties_create(&props) != NPG_OK ||
        npg_properties_set_encryption_callbacks(props, cli_aes_gcm_encrypt, cli_aes_gcm_decrypt, &key) != NPG_OK)
        abort();
    npu_blob b;
    npg_status st = npu_blob_open(path, props, 1, &b);
    fuzz_check_status(st);
    if (st == NPG_OK) {
        npu_config base;
        if (npu_config_parse(NULL, &base) != NPG_OK)
            abort();
        base.threads = 1;
        npu_plan *p = NULL;
        st = npu_blob_plan(&b, &base, &p);
        fuzz_check_status(st);
        if (st == NPG_OK)
            npu_plan_free(p);
        npu_blob_close(&b);
    }
    npg_properties_free(props);
    return 0;
}
