/* fuzz_npgw.c — the `npugen export` weight container (model.npgw) reader.
 *
 * XXH64 is a checksum, not a signature: an attacker recomputes it. So the harness does what such a
 * file's author would: before the reader sees the input it sets file_size/data_size to the real size
 * and recomputes the header, index and per-tensor hashes wherever the offsets make that possible.
 * Without this, nearly every mutation would stop at the first checksum and the checks behind it
 * (offsets, names, shapes, overlaps) would never be reached. */
#include <stddef.h>

#include "core/hash.h"
#include "format/npgw.h"
#include "fuzz_util.h"

static void fix_checksums(uint8_t *buf, size_t size) {
    if (size < sizeof(npgw_header))
        return;
    npgw_header h;
    memcpy(&h, buf, sizeof h);
    h.file_size = size;
    if (h.data_offset <= size)
        h.data_size = size - h.data_offset;
    /* per-tensor hashes first: they live in the table, which the index hash covers */
    if (h.table_offset == sizeof h && h.n_tensors <= size / sizeof(npgw_entry) &&
        h.table_offset + h.n_tensors * sizeof(npgw_entry) <= size) {
        for (uint64_t i = 0; i < h.n_tensors; i++) {
            npgw_entry e;
            uint8_t *at = buf + h.table_offset + i * sizeof e;
            memcpy(&e, at, sizeof e);
            if (e.data_offset > size || e.data_size > size - e.data_offset ||
                (e.scales_size && (e.scales_offset > size || e.scales_size > size - e.scales_offset)))
                continue;
            npg_xxh64_state s;
            npg_xxh64_init(&s, 0);
            npg_xxh64_update(&s, buf + e.data_offset, (size_t)e.data_size);
            if (e.scales_size)
                npg_xxh64_update(&s, buf + e.scales_offset, (size_t)e.scales_size);
            e.hash = npg_xxh64_digest(&s);
            memcpy(at, &e, sizeof e);
        }
    }
    if (h.table_offset <= h.data_offset && h.data_offset <= size)
        h.index_hash = npg_xxh64(buf + h.table_offset, (size_t)(h.data_offset - h.table_offset), 0);
    h.header_hash = npg_xxh64(&h, offsetof(npgw_header, header_hash), 0);
    memcpy(buf, &h, sizeof h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    fix_checksums(buf, size);
    char path[400];
    fuzz_write(NPGW_FILE_NAME, buf, size, path, sizeof path);
    free(buf);
    npgw_file *f = NULL;
    npg_status st = npgw_open(path, &f);
    fuzz_check_status(st);
    if (st != NPG_OK)
        return 0;
    st = npgw_verify_data(f);
    fuzz_check_status(st);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < npgw_count(f); i++) {
        const npgw_tensor *t = npgw_at(f, i);
        if (npgw_find(f, t->name) != t)
            abort(); /* names are unique */
        if (t->data_size)
            sink ^= t->data[0] ^ t->data[t->data_size - 1];
        if (t->scales_size)
            sink ^= (uint8_t)((const uint8_t *)t->scales)[t->scales_size - 1];
    }
    (void)sink;
    (void)strlen(npgw_metadata(f));
    npgw_close(f);
    return 0;
}
