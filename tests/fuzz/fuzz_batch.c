/*  libFuzzer target: ob_batch_decode (proto/batch.h), the built-in
    application's batch. Anything it accepts is walked to its end, each
    entry inside the input, and re-encodes to the same bytes; one byte
    fewer or one more is refused. */
#include "fuzz_common.h"

#include "batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_batch_t batch;
    ob_error_t rc = ob_batch_decode(&batch, data, size);
    fuzz_check_result(rc, FUZZ_BIT(OB_ERR_SHORT) | FUZZ_BIT(OB_ERR_TRAILING) |
                              FUZZ_BIT(OB_ERR_BAD_VERSION) | FUZZ_BIT(OB_ERR_TOO_LARGE));
    if (rc != OB_OK)
        return 0;
    FUZZ_CHECK(batch.count > 0 && batch.data == data && batch.len == size);

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    ob_batch_put_header(out, batch.count);
    size_t offset = 0, written = OB_BATCH_HEADER_LEN, total = 0;
    ob_batch_entry_t entry;
    uint32_t seen = 0;
    while (ob_batch_next(&batch, &offset, &entry) == 0) {
        FUZZ_CHECK(entry.data >= data && entry.data + entry.len <= data + size);
        FUZZ_CHECK(written + OB_BATCH_ENTRY_LEN + entry.len <= size);
        ob_batch_put_entry(out, &written, entry.data, entry.len);
        total += entry.len;
        seen++;
    }
    FUZZ_CHECK(seen == batch.count);
    FUZZ_CHECK(ob_batch_encoded_len(batch.count, total) == size);
    fuzz_check_same(out, written, data, size);
    free(out);
    FUZZ_CHECK(ob_batch_entry(&batch, batch.count, &entry) == -1);

    ob_batch_t other;
    uint8_t *cut = fuzz_dup(data, size - 1);
    FUZZ_CHECK(ob_batch_decode(&other, cut, size - 1) != OB_OK);
    free(cut);
    uint8_t *longer = fuzz_dup_plus_one(data, size);
    FUZZ_CHECK(ob_batch_decode(&other, longer, size + 1) == OB_ERR_TRAILING);
    free(longer);
    return 0;
}
