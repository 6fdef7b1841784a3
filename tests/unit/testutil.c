#include "testutil.h"

#include "hex.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t tu_hex(const char *hex, uint8_t *out, size_t cap)
{
    long len = ob_hex_decode(hex, strlen(hex), out, cap);
    assert_true(len >= 0);
    return (size_t)len;
}

uint8_t *tu_hex_alloc(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    *len = tu_hex(hex, buf, cap);
    return buf;
}

ob_keyset_t *tu_keyset(ob_crypto_t *crypto, const char *const *hex_keys, size_t count)
{
    uint8_t(*keys)[32] = calloc(count, 32);
    assert_non_null(keys);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(tu_hex(hex_keys[i], keys[i], 32), 32);
    ob_why_t why;
    ob_keyset_t *set = ob_keyset_new(crypto, (const uint8_t(*)[32])keys, count, &why);
    free(keys);
    assert_non_null(set);
    return set;
}

tu_world_t *tu_world_new(int with_epoch_8)
{
    tu_world_t *self = calloc(1, sizeof *self);
    assert_non_null(self);
    self->crypto = ob_crypto_new();
    assert_non_null(self->crypto);
    assert_int_equal(
        ob_namespace_init(&self->ns, self->crypto, tv_namespace, strlen(tv_namespace), NULL), 0);
    assert_int_equal(tv_validator_count, 4);
    for (size_t i = 0; i < tv_validator_count; i++) {
        uint8_t secret[32];
        tu_hex(tv_validators[i].secret_key, secret, sizeof secret);
        assert_int_equal(ob_keypair_from_secret(self->crypto, secret, &self->keys[i]), 0);
    }
    self->epochs = ob_epochs_new();
    assert_non_null(self->epochs);
    for (size_t e = 0; e < tv_epoch_count; e++) {
        const tv_epoch_t *te = &tv_epochs[e];
        for (int copy = 0; copy < (with_epoch_8 ? 2 : 1); copy++) {
            ob_keyset_t *validators = tu_keyset(self->crypto, te->validators, te->validator_count);
            ob_keyset_t *sequencers = tu_keyset(self->crypto, te->sequencers, te->sequencer_count);
            assert_int_equal(ob_epochs_add(self->epochs, te->epoch + (uint64_t)copy, &validators,
                                           &sequencers, NULL),
                             0);
        }
    }
    self->lookup = ob_epochs_lookup(self->epochs);
    return self;
}

void tu_world_destroy(tu_world_t **self_p)
{
    tu_world_t *self = *self_p;
    if (!self)
        return;
    ob_epochs_destroy(&self->epochs);
    ob_crypto_destroy(&self->crypto);
    free(self);
    *self_p = NULL;
}

uint64_t tu_rng_next(tu_rng_t *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tu_rng_fill(tu_rng_t *rng, void *out, size_t len)
{
    uint8_t *p = out;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)tu_rng_next(rng);
}

uint64_t tu_rng_below(tu_rng_t *rng, uint64_t bound)
{
    return bound ? tu_rng_next(rng) % bound : 0;
}

static bool s_fixed_size(const void *ctx, uint64_t epoch, uint16_t *validator_count)
{
    (void)epoch;
    *validator_count = *(const uint16_t *)ctx;
    return true;
}

ob_epoch_lookup_t tu_lookup_fixed(const uint16_t *validator_count)
{
    return (ob_epoch_lookup_t){s_fixed_size, validator_count};
}

ob_party_t tu_sender(ob_party_t to, const ob_imsg_t *msg)
{
    if (msg->type == OB_IMSG_STATE_REQUEST)
        return (ob_party_t)msg->u.state_request.actor;
    for (int from = OB_PARTY_NET; from <= OB_PARTY_COUNT; from++)
        if (ob_imsg_allowed((ob_party_t)from, to, msg->type))
            return (ob_party_t)from;
    fail_msg("no actor sends %s to the %s", ob_imsg_name(msg->type), ob_party_name(to));
    return OB_PARTY_OPERATOR;
}

/* The keys of `self` whose bit is set in `mask`, as a key set. */
static ob_keyset_t *s_four_set(tu_four_t *self, unsigned mask)
{
    uint8_t keys[4][32];
    size_t count = 0;
    for (int k = 0; k < 4; k++)
        if (mask >> k & 1)
            memcpy(keys[count++], self->keys[k].pub.bytes, 32);
    ob_keyset_t *set = ob_keyset_new(self->crypto, (const uint8_t(*)[32])keys, count, NULL);
    assert_non_null(set);
    return set;
}

void tu_four_init(tu_four_t *self, const char *label)
{
    memset(self, 0, sizeof *self);
    self->crypto = ob_crypto_new();
    assert_non_null(self->crypto);
    assert_int_equal(ob_namespace_init(&self->ns, self->crypto, label, strlen(label), NULL), 0);
    for (int k = 0; k < 4; k++) {
        char name[64];
        uint8_t secret[32];
        snprintf(name, sizeof name, "%s-%d", label, k);
        ob_sha256(self->crypto, name, strlen(name), secret);
        assert_int_equal(ob_keypair_from_secret(self->crypto, secret, &self->keys[k]), 0);
    }
    self->epochs = ob_epochs_new();
    assert_non_null(self->epochs);
    for (uint64_t epoch = 1; epoch <= 2; epoch++) {
        ob_keyset_t *v = s_four_set(self, 0x0f);
        ob_keyset_t *s = s_four_set(self, epoch == 1 ? 0x0f : 0x0e);
        assert_int_equal(ob_epochs_add(self->epochs, epoch, &v, &s, NULL), 0);
    }
}

void tu_four_fini(tu_four_t *self)
{
    ob_epochs_destroy(&self->epochs);
    for (int k = 0; k < 4; k++)
        ob_keypair_wipe(&self->keys[k]);
    ob_crypto_destroy(&self->crypto);
}

ob_chunk_t tu_four_chunk(const tu_four_t *self, int sequencer, uint64_t height, const char *payload)
{
    ob_chunk_t chunk;
    memcpy(chunk.sequencer, self->keys[sequencer].pub.bytes, 32);
    chunk.height = height;
    ob_sha256(self->crypto, payload, strlen(payload), chunk.payload);
    return chunk;
}

uint16_t tu_four_index(const tu_four_t *self, int k, uint64_t epoch)
{
    uint16_t index = 0;
    assert_true(ob_keyset_index_of(ob_epochs_validators(self->epochs, epoch),
                                   self->keys[k].pub.bytes, &index));
    return index;
}

size_t tu_sent(const ob_outbox_t *out, ob_actor_t to, ob_imsg_type_t type)
{
    size_t n = 0;
    for (size_t i = 0; i < ob_outbox_count(out); i++) {
        const ob_envelope_t *e = ob_outbox_at(out, i);
        if (e->kind != OB_DEST_ACTOR || e->actor != to)
            continue;
        ob_imsg_t msg;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(out, e), e->len), OB_OK);
        n += msg.type == type;
    }
    return n;
}

ob_imsg_t tu_the(const ob_outbox_t *out, ob_actor_t to, ob_imsg_type_t type,
                 const ob_envelope_t **envelope)
{
    assert_int_equal(tu_sent(out, to, type), 1);
    ob_imsg_t msg = {0};
    for (size_t i = 0; i < ob_outbox_count(out); i++) {
        const ob_envelope_t *e = ob_outbox_at(out, i);
        if (e->kind != OB_DEST_ACTOR || e->actor != to)
            continue;
        assert_int_equal(ob_imsg_decode(&msg, ob_outbox_bytes(out, e), e->len), OB_OK);
        if (msg.type == type) {
            if (envelope)
                *envelope = e;
            return msg;
        }
    }
    fail_msg("no %s for %s", ob_imsg_name(type), ob_actor_name(to));
    return msg;
}

ob_imsg_t tu_through_codec(const ob_imsg_t *msg, uint8_t **frame)
{
    size_t len = ob_imsg_encoded_len(msg), written = 0;
    *frame = malloc(len);
    assert_non_null(*frame);
    assert_int_equal(ob_imsg_encode(msg, *frame, len, &written), 0);
    assert_int_equal(written, len);
    ob_imsg_t decoded;
    assert_int_equal(ob_imsg_decode(&decoded, *frame, written), OB_OK);
    return decoded;
}

void tu_temp_dir(char *out, size_t cap, const char *label)
{
    int n = snprintf(out, cap, "/tmp/obcast-%s-XXXXXX", label);
    assert_true(n > 0 && (size_t)n < cap);
    if (!mkdtemp(out))
        fail_msg("cannot make a folder %s", out);
}

void tu_remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        const struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char file[512];
            snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
            unlink(file);
        }
        closedir(dir);
    }
    rmdir(path);
}
