#include "journal_fixture.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tj_journal_t *tj_new(const char *label, uint32_t slots, uint32_t slot_size)
{
    tj_journal_t *self = calloc(1, sizeof *self);
    assert_non_null(self);
    tu_temp_dir(self->dir, sizeof self->dir, label);
    snprintf(self->path, sizeof self->path, "%s/journal.db", self->dir);
    ob_log_set_level(OB_LOG_ERROR);
    tu_four_init(&self->four, label);
    self->params = OB_PARAMS_DEFAULT;
    self->params.max_payload = slot_size;
    ob_why_t why = {{0}};
    self->arena = ob_arena_new_heap(slots, slot_size, &why);
    self->out = ob_outbox_new(1024, 4u << 20);
    assert_true(self->arena && self->out);
    return self;
}

void tj_destroy(tj_journal_t **self_p)
{
    tj_journal_t *self = *self_p;
    if (!self)
        return;
    ob_journal_destroy(&self->journal);
    ob_outbox_destroy(&self->out);
    ob_arena_destroy(&self->arena);
    tu_four_fini(&self->four);
    tu_remove_dir(self->dir);
    free(self);
    *self_p = NULL;
}

void tj_open(tj_journal_t *self, uint64_t now)
{
    ob_journal_destroy(&self->journal);
    ob_node_env_t env = {.ns = &self->four.ns,
                         .epochs = self->four.epochs,
                         .params = self->params,
                         .arena = self->arena};
    memcpy(env.self_key, tj_key(self, 0), 32);
    ob_journal_config_t config = {
        .env = env, .db_path = self->path, .sync = OB_DB_SYNC_NORMAL, .initial_epoch = 1};
    ob_why_t why = {{0}};
    self->journal = ob_journal_new(&config, &why);
    if (!self->journal)
        fail_msg("journal: %s", why.text);
    ob_journal_start(self->journal, now, self->out);
    ob_outbox_clear(self->out);
}

void tj_deliver(tj_journal_t *self, const ob_imsg_t *msg, uint64_t now)
{
    uint8_t *frame = NULL;
    ob_imsg_t decoded = tu_through_codec(msg, &frame);
    ob_outbox_clear(self->out);
    assert_int_equal(ob_journal_begin(self->journal), 0);
    ob_journal_handle(self->journal, now, tu_sender(OB_PARTY_JOURNAL, &decoded), &decoded,
                      self->out);
    ob_journal_end_batch(self->journal, self->out);
    assert_int_equal(ob_journal_commit(self->journal), 0);
    free(frame);
}

void tj_tick(tj_journal_t *self, uint64_t now)
{
    ob_outbox_clear(self->out);
    assert_int_equal(ob_journal_begin(self->journal), 0);
    ob_journal_tick(self->journal, now, self->out);
    ob_journal_end_batch(self->journal, self->out);
    assert_int_equal(ob_journal_commit(self->journal), 0);
}

const uint8_t *tj_key(const tj_journal_t *self, int k)
{
    return self->four.keys[k].pub.bytes;
}

int tj_key_number(const tj_journal_t *self, const uint8_t key[32])
{
    for (int k = 0; k < 4; k++)
        if (memcmp(key, tj_key(self, k), 32) == 0)
            return k;
    fail_msg("a key of no node");
    return -1;
}

const char *tj_payload(uint64_t height, char buf[32])
{
    snprintf(buf, 32, "p%llu", (unsigned long long)height);
    return buf;
}

ob_chunk_t tj_chunk(const tj_journal_t *self, int sequencer, uint64_t height, const char *payload)
{
    return tu_four_chunk(&self->four, sequencer, height, payload);
}

ob_cert_t tj_cert(const tj_journal_t *self, const ob_chunk_t *chunk,
                  uint8_t entries[4 * OB_CERT_ENTRY_LEN])
{
    const ob_keyset_t *v = ob_epochs_validators(self->four.epochs, 1);
    ob_ack_t acks[3];
    for (int k = 0; k < 3; k++) {
        acks[k] = (ob_ack_t){.chunk = *chunk, .epoch = 1};
        assert_true(ob_keyset_index_of(v, tj_key(self, k), &acks[k].index));
        assert_int_equal(ob_ack_sign(self->four.crypto, &self->four.ns, &self->four.keys[k], chunk,
                                     1, NULL, acks[k].signature),
                         0);
    }
    ob_cert_t cert;
    assert_int_equal(ob_cert_assemble(acks, 3, 4, entries, 4 * OB_CERT_ENTRY_LEN, &cert), OB_OK);
    return cert;
}

size_t tj_lock(const tj_journal_t *self, int sequencer, uint64_t height, const char *payload,
               uint8_t out[TJ_LOCK_MAX])
{
    uint8_t entries[4 * OB_CERT_ENTRY_LEN];
    ob_lock_t lock = {.chunk = tj_chunk(self, sequencer, height, payload), .epoch = 1};
    lock.cert = tj_cert(self, &lock.chunk, entries);
    size_t len = 0;
    assert_int_equal(ob_lock_encode(&lock, out, TJ_LOCK_MAX, &len), 0);
    return len;
}

void tj_certified(tj_journal_t *self, int sequencer, uint64_t height, uint64_t now)
{
    char p[32];
    uint8_t lock[TJ_LOCK_MAX];
    size_t len = tj_lock(self, sequencer, height, tj_payload(height, p), lock);
    ob_imsg_t msg = {.type = OB_IMSG_CERTIFIED};
    msg.u.certified.lock = (ob_blob_t){lock, (uint32_t)len};
    tj_deliver(self, &msg, now);
}
