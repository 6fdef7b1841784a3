/*  libFuzzer target: ob_node_decode against a fixed epoch table, and the
    exact round trip through ob_node_encode of anything it accepts.
    Signatures are not verified: that is too slow to fuzz. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ob_epoch_lookup_t *epochs = fuzz_epochs();
    ob_node_t node;
    ob_error_t rc = ob_node_decode(&node, data, size, epochs);
    fuzz_check_result(rc, FUZZ_ERRS_NODE);
    if (rc != OB_OK)
        return 0;

    FUZZ_CHECK(node.has_parent == (node.chunk.height > 0));
    if (node.has_parent) {
        uint16_t n = 0;
        FUZZ_CHECK(epochs->size_of(epochs->ctx, node.parent.epoch, &n));
        FUZZ_CHECK(node.parent.cert.count <= n);
        for (uint16_t i = 0; i < node.parent.cert.count; i++)
            FUZZ_CHECK(ob_cert_signer(&node.parent.cert, i) < n);
        FUZZ_CHECK(node.parent.cert.count == 0 ||
                   node.parent.cert.entries + ob_cert_encoded_len(&node.parent.cert) - 2 ==
                       data + size);
    }
    FUZZ_CHECK(ob_node_encoded_len(&node) == size);

    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    size_t written = 0;
    FUZZ_CHECK(ob_node_encode(&node, out, size, &written) == 0);
    fuzz_check_same(out, written, data, size);
    free(out);

    uint8_t *small = malloc(size - 1);
    FUZZ_CHECK(small != NULL);
    FUZZ_CHECK(ob_node_encode(&node, small, size - 1, &written) == -1);
    free(small);

    /* A flag that disagrees with the height has no encoding. */
    ob_node_t flipped = node;
    flipped.has_parent = !node.has_parent;
    if (flipped.has_parent)
        memset(&flipped.parent, 0, sizeof flipped.parent);
    uint8_t big[OB_GENESIS_NODE_LEN + OB_DIGEST_LEN + 8 + 2];
    FUZZ_CHECK(ob_node_encode(&flipped, big, sizeof big, &written) == -1);

    /* Strictness: one byte fewer is short, one byte more is trailing. */
    ob_node_t other;
    uint8_t *cut = fuzz_dup(data, size - 1);
    FUZZ_CHECK(ob_node_decode(&other, cut, size - 1, epochs) == OB_ERR_SHORT);
    free(cut);
    uint8_t *longer = fuzz_dup_plus_one(data, size);
    FUZZ_CHECK(ob_node_decode(&other, longer, size + 1, epochs) == OB_ERR_TRAILING);
    free(longer);
    return 0;
}
