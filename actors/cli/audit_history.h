/*  Signer histories for `obcast audit --history FILE` (issue 12, item 6).

    FILE is what `obcast-signer history` prints, read once the node has
    stopped (the signer holds its database exclusively): a first line
    `signer KEY`, `limit N` when --limit cut it short, then `signed height
    H payload P ...` for each node the key holder signed on its own chain
    and `acked sequencer S height H payload P epoch E` for each ack.

    The exports are then held against what each signer recorded:
    - S1: a certificate of sequencer K at height H covers the payload K's
      signer recorded signing there;
    - S2: each validator V whose signature is in a certificate on (S, H,
      P) recorded acking P for (S, H) (or, for its own chain, signing it);
    - a complete history (no `limit`) with no record at all for what a
      certificate holds means a signature left the key holder without its
      record: a violation too.
    Within a file, two records of one height (or one (S, H)) with two
    payloads are violations (S1, S2). A line that is not one of the
    history's is an error, named by file and line. */
#ifndef OB_AUDIT_HISTORY_H
#define OB_AUDIT_HISTORY_H

#include "why.h"

#include "../proto/wire.h"

#include "keyset.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ob_audit_histories_t ob_audit_histories_t;

/* How violations are told: one line, like the audit's own. */
typedef void(ob_audit_report_fn)(void *ctx, const char *line);
/* The manifest's name for a key, or its hex in `hex`. */
typedef const char *(ob_audit_name_fn)(void *ctx, const uint8_t key[32], char hex[65]);

ob_audit_histories_t *ob_audit_histories_new(ob_audit_report_fn *report, ob_audit_name_fn *name,
                                             void *ctx);
void ob_audit_histories_destroy(ob_audit_histories_t **self_p);

/* Reads one history file. 0, or -1 with `why` (unreadable, a line that is
   not a history's, a second history of one signer, out of memory). */
int ob_audit_histories_load(ob_audit_histories_t *self, const char *path, ob_why_t *why);

size_t ob_audit_histories_count(const ob_audit_histories_t *self);
/* The signer key of history `index`. */
const uint8_t *ob_audit_histories_key(const ob_audit_histories_t *self, size_t index);

/* Holds a certificate that verified, on `chunk`, against the histories;
   `where` prefixes each violation ("FILE:LINE"). */
void ob_audit_histories_check(ob_audit_histories_t *self, const char *where,
                              const ob_chunk_t *chunk, const ob_cert_t *cert,
                              const ob_keyset_t *validators);

/* Signatures found with their record, and without one (complete histories
   only): what the audit's summary says. */
uint64_t ob_audit_histories_matched(const ob_audit_histories_t *self);

#endif
