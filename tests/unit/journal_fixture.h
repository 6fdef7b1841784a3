/*  A journal under test, for the suites of its fetching: the real handler
    on a real SQLite file in a folder of its own, as key 0 of tu_four,
    fed one message at a time through the imsg codec with a clock the
    test sets; and the Locks it is given, certified by keys 0, 1 and 2 in
    epoch 1. */
#ifndef TJ_JOURNAL_FIXTURE_H
#define TJ_JOURNAL_FIXTURE_H

#include "testutil.h"

#include "arena.h"
#include "journal.h"

#define TJ_LOCK_MAX (OB_CHUNK_LEN + 8 + 2 + 4 * OB_CERT_ENTRY_LEN)

typedef struct {
    char dir[64];
    char path[128];
    tu_four_t four;
    ob_params_t params; /* taken at tj_open: set them before */
    ob_arena_t *arena;
    ob_outbox_t *out;
    ob_journal_t *journal;
} tj_journal_t;

/* Keys from `label` (tu_four_init); the default parameters with
   max_payload the slot size; no journal open yet. */
tj_journal_t *tj_new(const char *label, uint32_t slots, uint32_t slot_size);
void tj_destroy(tj_journal_t **self_p);

/* Opens the journal (closing one open before) and starts it at `now`;
   the outbox is left empty. */
void tj_open(tj_journal_t *self, uint64_t now);
/* `msg` in a batch of its own: the outbox then holds exactly what it made. */
void tj_deliver(tj_journal_t *self, const ob_imsg_t *msg, uint64_t now);
void tj_tick(tj_journal_t *self, uint64_t now);

const uint8_t *tj_key(const tj_journal_t *self, int k);
/* Which of the four keys `key` is (fails the test if none). */
int tj_key_number(const tj_journal_t *self, const uint8_t key[32]);

/* "p<height>", the payload the suites give a height. */
const char *tj_payload(uint64_t height, char buf[32]);
ob_chunk_t tj_chunk(const tj_journal_t *self, int sequencer, uint64_t height, const char *payload);
/* A quorum's certificate (keys 0, 1, 2) on `chunk` in epoch 1, its
   entries in `entries`. */
ob_cert_t tj_cert(const tj_journal_t *self, const ob_chunk_t *chunk,
                  uint8_t entries[4 * OB_CERT_ENTRY_LEN]);
/* The encoded Lock of (sequencer, height) on `payload`; its length. */
size_t tj_lock(const tj_journal_t *self, int sequencer, uint64_t height, const char *payload,
               uint8_t out[TJ_LOCK_MAX]);
/* The signer certified (sequencer, height) on "p<height>": a Lock held
   without its bytes (unless a node brought them). */
void tj_certified(tj_journal_t *self, int sequencer, uint64_t height, uint64_t now);

#endif
