/* cli_crypto.c — AES-256-GCM blob encryption callbacks for the CLI (see cli_crypto.h). */
#include "cli_crypto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli_util.h"

enum { NONCE = 12, TAG = 16 };

bool cli_crypto_load_key(const char *cmd, const char *path, cli_crypto_key *out) {
    struct stat sb; /* checked first: a directory opens and reads as 0 bytes, a FIFO blocks */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        cli_error(cmd, "--encrypt-key-file %s: %s, not a key file (32 bytes)", path,
                  S_ISDIR(sb.st_mode) ? "is a directory" : "is a FIFO, device or socket");
        return false;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        cli_error(cmd, "--encrypt-key-file %s: %s", path, strerror(errno));
        return false;
    }
    uint8_t buf[33];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    if (n != 32) {
        cli_error(cmd, "--encrypt-key-file %s: a key is exactly 32 bytes (AES-256), the file has %s%zu", path,
                  n > 32 ? "more than " : "", n > 32 ? (size_t)32 : n);
        return false;
    }
    memcpy(out->key, buf, 32);
    return true;
}

bool cli_crypto_set_callbacks(const char *cmd, npg_properties *props, cli_crypto_key *key) {
    npg_status st = npg_properties_set_encryption_callbacks(props, cli_aes_gcm_encrypt, cli_aes_gcm_decrypt, key);
    if (st != NPG_OK) {
        cli_fail(cmd, st);
        return false;
    }
    return true;
}

int cli_aes_gcm_encrypt(void *user_data, const uint8_t *in, size_t in_size, uint8_t **out, size_t *out_size) {
    const cli_crypto_key *k = user_data;
    if (!k || in_size > INT_MAX - NONCE - TAG)
        return 1;
    uint8_t *buf = malloc(NONCE + in_size + TAG);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = buf && ctx && RAND_bytes(buf, NONCE) == 1 &&
                               EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                               EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
                               EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, buf) == 1 &&
                               EVP_EncryptUpdate(ctx, buf + NONCE, &len, in, (int)in_size) == 1 &&
                               EVP_EncryptFinal_ex(ctx, buf + NONCE + len, &fin) == 1 &&
                               EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE + len + fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(buf);
        return 1;
    }
    *out = buf;
    *out_size = NONCE + (size_t)(len + fin) + TAG;
    return 0;
}

int cli_aes_gcm_decrypt(void *user_data, const uint8_t *in, size_t in_size, uint8_t **out, size_t *out_size) {
    const cli_crypto_key *k = user_data;
    if (!k || in_size < NONCE + TAG || in_size > INT_MAX)
        return 1;
    size_t n = in_size - NONCE - TAG;
    uint8_t *buf = malloc(n ? n : 1);
    uint8_t tag[TAG];
    memcpy(tag, in + in_size - TAG, TAG);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = buf && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                               EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
                               EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, in) == 1 &&
                               EVP_DecryptUpdate(ctx, buf, &len, in + NONCE, (int)n) == 1 &&
                               EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1 &&
                               EVP_DecryptFinal_ex(ctx, buf + len, &fin) == 1; /* fails on a wrong key / tag */
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(buf);
        return 1;
    }
    *out = buf;
    *out_size = (size_t)(len + fin);
    return 0;
}
