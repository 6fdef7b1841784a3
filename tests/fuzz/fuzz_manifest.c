/*  libFuzzer target: the ZPL cluster manifest loader, ob_manifest_load
    (common/config.c), on the input written to a file. A manifest that
    loads holds what its accessors promise: at least one node, each with a
    valid name and key and a tcp endpoint, found again by name and by key;
    at least one epoch, increasing, each with validators and sequencers;
    max_payload in range. One that does not load says why, naming the
    file. */
#include "fuzz_text.h"

#include "config.h"
#include "crypto.h"
#include "epochs.h"
#include "keyset.h"

#include <ctype.h>

static ob_crypto_t *s_crypto;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_crypto = ob_crypto_new();
    FUZZ_CHECK(s_crypto != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_text_write("manifest.zpl", data, size);
    ob_why_t why = {{0}};
    ob_manifest_t *m = ob_manifest_load(s_crypto, path, &why);
    if (!m) {
        fuzz_text_check_why(why.text, "manifest", path);
        return 0;
    }
    FUZZ_CHECK(ob_manifest_max_payload(m) >= 1 &&
               ob_manifest_max_payload(m) <= OB_MAX_PAYLOAD_LIMIT);
    FUZZ_CHECK(ob_manifest_namespace(m)->len >= 1);
    size_t count = ob_manifest_node_count(m);
    FUZZ_CHECK(count >= 1);
    FUZZ_CHECK(ob_manifest_node(m, count) == NULL);
    for (size_t i = 0; i < count; i++) {
        const ob_manifest_node_t *node = ob_manifest_node(m, i);
        FUZZ_CHECK(node != NULL);
        FUZZ_CHECK(node->name[0] != '\0' && strlen(node->name) < OB_NAME_MAX);
        for (const char *p = node->name; *p; p++)
            FUZZ_CHECK(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.');
        FUZZ_CHECK(ob_manifest_node_named(m, node->name) == node);
        FUZZ_CHECK(ob_manifest_node_with_key(m, node->key) == node);
        FUZZ_CHECK(strncmp(node->endpoint, "tcp://", 6) == 0);
        FUZZ_CHECK(strlen(node->curve_key) == OB_Z85_KEY_LEN);
    }
    const ob_epochs_t *epochs = ob_manifest_epochs(m);
    FUZZ_CHECK(ob_epochs_count(epochs) >= 1);
    uint64_t latest = ob_epochs_latest(epochs);
    const ob_keyset_t *validators = ob_epochs_validators(epochs, latest);
    const ob_keyset_t *sequencers = ob_epochs_sequencers(epochs, latest);
    FUZZ_CHECK(validators && sequencers);
    FUZZ_CHECK(ob_keyset_size(validators) >= 1 && ob_keyset_size(validators) <= count);
    FUZZ_CHECK(ob_keyset_size(sequencers) >= 1 && ob_keyset_size(sequencers) <= count);
    ob_manifest_destroy(&m);
    FUZZ_CHECK(m == NULL);
    return 0;
}
