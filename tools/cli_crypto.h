/* cli_crypto.h — the CLI's --encrypt-key-file: AES-256-GCM (OpenSSL libcrypto) as the library's
 * blob encryption callbacks (CACHE_ENCRYPTION_CALLBACKS).
 *
 * The key file holds exactly 32 raw bytes (e.g. `head -c 32 /dev/urandom > blob.key`). Each encrypted
 * piece is stored as nonce (12 random bytes) | ciphertext | tag (16 bytes); decryption checks the
 * tag, so a wrong key or a modified ciphertext fails (the library reports NPG_ERR_CHECKSUM). */
#ifndef NPG_TOOLS_CLI_CRYPTO_H
#define NPG_TOOLS_CLI_CRYPTO_H

#include <stdbool.h>
#include <stdint.h>

#include "npugen.h"

typedef struct cli_crypto_key {
    uint8_t key[32];
} cli_crypto_key;

/* Reads the key file; prints "npugen CMD: ..." and returns false when it is unreadable or not 32 bytes. */
bool cli_crypto_load_key(const char *cmd, const char *path, cli_crypto_key *out);
/* Sets the AES-256-GCM encrypt and decrypt callbacks on props; `key` must outlive every pipeline
 * created from props. */
bool cli_crypto_set_callbacks(const char *cmd, npg_properties *props, cli_crypto_key *key);

/* The callbacks themselves (user_data = cli_crypto_key *), for tests. Return 0 on success. */
int cli_aes_gcm_encrypt(void *user_data, const uint8_t *in, size_t in_size, uint8_t **out, size_t *out_size);
int cli_aes_gcm_decrypt(void *user_data, const uint8_t *in, size_t in_size, uint8_t **out, size_t *out_size);

#endif
