/*  The journal's state in SQLite (SPEC §4): the current epoch, each
    sequencer's tip, the nodes and payload bytes held, certificates, and
    evidence. A tip only moves up, and the check that it does is made by
    the same statement that writes it. */
#ifndef OB_JOURNAL_STORE_H
#define OB_JOURNAL_STORE_H

#include "db.h"
#include "why.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ob_journal_store_t ob_journal_store_t;

typedef enum {
    OB_EVIDENCE_CONFLICTING_NODES = 1, /* two signed nodes, one height, two payloads */
    OB_EVIDENCE_CERTIFIED_CONFLICT =
        2, /* a certificate against a signed node, or a second certificate */
} ob_evidence_kind_t;

ob_journal_store_t *ob_journal_store_open(const char *path, ob_db_sync_t sync, ob_why_t *why);
void ob_journal_store_destroy(ob_journal_store_t **self_p);

int ob_journal_store_begin(ob_journal_store_t *self);
int ob_journal_store_commit(ob_journal_store_t *self);
/* ob_db_commit_deferred and ob_db_sync (common/db.h). */
int ob_journal_store_commit_deferred(ob_journal_store_t *self, bool *sync_due);
int ob_journal_store_sync(ob_journal_store_t *self);
/* The rows the last statement changed need no sync of their own
   (ob_db_lazy). */
void ob_journal_store_lazy(ob_journal_store_t *self);

/* 1 with the epoch, 0 if none was ever set, -1 on error. */
int ob_journal_store_epoch(ob_journal_store_t *self, uint64_t *epoch);
int ob_journal_store_set_epoch(ob_journal_store_t *self, uint64_t epoch);

/* Calls `each` for every tip. */
typedef void(ob_tip_fn)(void *ctx, const uint8_t sequencer[32], uint64_t height,
                        const uint8_t payload[32]);
int ob_journal_store_tips(ob_journal_store_t *self, ob_tip_fn *each, void *ctx);

/* Moves the tip of `sequencer` up to `height`: 1 if it moved, 0 if the
   durable tip is already at or above it (nothing written), -1 on error. */
int ob_journal_store_raise_tip(ob_journal_store_t *self, const uint8_t sequencer[32],
                               uint64_t height, const uint8_t payload[32]);

int ob_journal_store_put_node(ob_journal_store_t *self, const uint8_t sequencer[32],
                              uint64_t height, const uint8_t payload[32], const uint8_t *node,
                              size_t len);
/* 1 and a malloc'd copy, 0 if none, -1 on error. */
int ob_journal_store_node(ob_journal_store_t *self, const uint8_t sequencer[32], uint64_t height,
                          uint8_t **node, size_t *len);

int ob_journal_store_put_payload(ob_journal_store_t *self, const uint8_t digest[32],
                                 const uint8_t *data, size_t len);
int ob_journal_store_payload(ob_journal_store_t *self, const uint8_t digest[32], uint8_t **data,
                             size_t *len);
/* Whether the bytes of `digest` are stored, without reading them: 1, 0,
   or -1 on error. */
int ob_journal_store_has_payload(ob_journal_store_t *self, const uint8_t digest[32]);

/* Retention (SPEC §4): drops the payload bytes of `sequencer`'s nodes and
   certificates at heights from..to, except bytes that anything else
   refers to: a node or certificate outside that range, a tip, or a pinned
   own proposal.
   Nodes, certificates and evidence stay. Returns how many payloads went,
   or -1. */
int ob_journal_store_prune_payloads(ob_journal_store_t *self, const uint8_t sequencer[32],
                                    uint64_t from, uint64_t to);

/* An own proposal's payload at `height`, committed before its node exists
   here: retention spares it until the node is recorded
   (ob_journal_store_unpin_proposals). Pins below `height` go: the own tip
   below was recorded before this height could be proposed. */
int ob_journal_store_pin_proposal(ob_journal_store_t *self, uint64_t height,
                                  const uint8_t payload[32]);
/* The own node at `height` is recorded: its row refers to its payload. */
int ob_journal_store_unpin_proposals(ob_journal_store_t *self, uint64_t height);

/* This batch must survive power loss whatever the durability setting
   (a proposal's payload, SPEC §4). */
void ob_journal_store_want_durable(ob_journal_store_t *self);
uint64_t ob_journal_store_durable_commits(const ob_journal_store_t *self);

/* Inserts a certificate: 1 if new, 0 if that (sequencer, height, payload,
   epoch) was held, -1 on error. */
int ob_journal_store_put_certificate(ob_journal_store_t *self, const uint8_t sequencer[32],
                                     uint64_t height, const uint8_t payload[32], uint64_t epoch,
                                     const uint8_t *lock, size_t len);
/* The first certificate held for (sequencer, height), as the encoded Lock:
   1 with a malloc'd copy, 0 if none, -1 on error. */
int ob_journal_store_certificate(ob_journal_store_t *self, const uint8_t sequencer[32],
                                 uint64_t height, uint8_t **lock, size_t *len);

/* 1 if recorded, 0 if that kind at that height was already held. */
int ob_journal_store_put_evidence(ob_journal_store_t *self, const uint8_t sequencer[32],
                                  uint64_t height, ob_evidence_kind_t kind, const uint8_t *first,
                                  size_t first_len, const uint8_t *second, size_t second_len);

/* Iterates certificates in (sequencer, height) order: the export. */
typedef void(ob_lock_fn)(void *ctx, const uint8_t *lock, size_t len);
int ob_journal_store_each_certificate(ob_journal_store_t *self, ob_lock_fn *each, void *ctx);

/* The application has the Lock on (sequencer, height, payload). */
int ob_journal_store_mark_delivered(ob_journal_store_t *self, const uint8_t sequencer[32],
                                    uint64_t height, const uint8_t payload[32]);
/* Up to `limit` Locks the application may not have, oldest first. */
int ob_journal_store_each_undelivered(ob_journal_store_t *self, uint32_t limit, ob_lock_fn *each,
                                      void *ctx);

/* Fetching (SPEC §3). The certificates of `sequencer` at heights from..to
   in one query, ascending, the first held at each height only, with its
   payload bytes if held (`held`; the bytes are valid during the call). */
typedef void(ob_cert_row_fn)(void *ctx, uint64_t height, const uint8_t *lock, size_t lock_len,
                             const uint8_t *payload, size_t payload_len, bool held);
int ob_journal_store_certificate_range(ob_journal_store_t *self, const uint8_t sequencer[32],
                                       uint64_t from, uint64_t to, ob_cert_row_fn *each, void *ctx);
/* The highest certificate of `sequencer` above `above`: 1 with a malloc'd
   copy of its Lock, 0 if none, -1 on error. */
int ob_journal_store_highest_certificate_above(ob_journal_store_t *self,
                                               const uint8_t sequencer[32], uint64_t above,
                                               uint8_t **lock, size_t *len);
/* What the journal's fetching rebuilds at start, as (sequencer, from, to):
   each sequencer's lowest and highest certified height; the runs of
   heights missing between two certified ones; and each certified height
   whose payload bytes are not held, within `retention` of its chain's
   highest (0: all), as from = to. */
typedef void(ob_span_fn)(void *ctx, const uint8_t sequencer[32], uint64_t from, uint64_t to);
int ob_journal_store_certificate_spans(ob_journal_store_t *self, ob_span_fn *each, void *ctx);
int ob_journal_store_certificate_gaps(ob_journal_store_t *self, ob_span_fn *each, void *ctx);
int ob_journal_store_certificates_without_payload(ob_journal_store_t *self, uint64_t retention,
                                                  ob_span_fn *each, void *ctx);

int64_t ob_journal_store_count(ob_journal_store_t *self, const char *table);

#endif
