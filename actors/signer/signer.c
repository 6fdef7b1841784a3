#include "signer.h"

#include "cert.h"
#include "log.h"
#include "metrics.h"
#include "signer_checks.h"
#include "signer_store.h"
#include "verify.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on the aggregation's memory: a partial is one (sequencer, height,
   epoch), and every one is within the epoch and height bounds, so a few
   per sequencer are live at once. The tables stop growing here. */
#define S_MAX_PARTIALS 4096
#define S_MAX_TIPS     4096
/* Acks kept until the signer's view can judge them (s_defer): one per
   (sequencer, epoch, validator), so the table is bounded by the manifest,
   and capped. */
#define S_MAX_DEFERRED 4096
/* The journal's sign_ack requests that reach a signer before the
   journal's epoch does: those it sent to this signer's predecessor and
   the ones of the first moments after a restart. Refused, they would be
   acks lost for good (the journal asks once per tip), so they wait for
   the epoch, up to this many; beyond, they are refused as before. */
#define S_MAX_EARLY_SIGN_ACKS 1024
/* Certificates of its own chain that the signer assembled, the latest few:
   the journal asks to sign over the newest one, so few are needed. */
#define S_OWN_CERTS 4

typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint64_t epoch;
    uint16_t count; /* acks held, at most n of the epoch */
    bool certified; /* a certificate was emitted for it */
    uint8_t certified_payload[32];
    ob_ack_t *acks; /* n slots */
} s_partial_t;

typedef struct {
    uint8_t sequencer[32];
    uint64_t height;
    uint8_t payload[32];
} s_tip_t;

struct _ob_signer_t {
    ob_node_env_t env;
    ob_crypto_t *crypto;
    ob_keypair_t key;
    ob_signer_store_t *store;
    bool failed; /* a database error in this batch: its commit must fail */

    bool epoch_known; /* until the journal says, no ack is signed or counted */
    uint64_t epoch;
    s_tip_t *tips;
    size_t tip_count;
    s_partial_t *partials;
    size_t partial_count;
    /* Verified acks that came before the epoch was known, or above their
       sequencer's tip + height_bound (see s_defer). */
    ob_ack_t *deferred;
    size_t deferred_count;
    ob_imsg_sign_ack_t *early_sign_acks; /* asked before the epoch was known */
    size_t early_sign_ack_count;
    ob_own_cert_t *own_certs; /* a ring of S_OWN_CERTS */
    size_t own_cert_count, own_cert_next;
    ob_signer_stats_t stats;
};

ob_signer_t *ob_signer_new(const ob_signer_config_t *config, ob_why_t *why)
{
    ob_signer_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "signer: out of memory");
        return NULL;
    }
    self->env = config->env;
    self->key = config->key;
    self->crypto = ob_crypto_new();
    self->tips = calloc(S_MAX_TIPS, sizeof *self->tips);
    self->partials = calloc(S_MAX_PARTIALS, sizeof *self->partials);
    self->deferred = calloc(S_MAX_DEFERRED, sizeof *self->deferred);
    self->early_sign_acks = calloc(S_MAX_EARLY_SIGN_ACKS, sizeof *self->early_sign_acks);
    self->own_certs = calloc(S_OWN_CERTS, sizeof *self->own_certs);
    if (!self->crypto || !self->tips || !self->partials || !self->deferred ||
        !self->early_sign_acks || !self->own_certs) {
        ob_why(why, "signer: out of memory or entropy");
        ob_signer_destroy(&self);
        return NULL;
    }
    if (config->aux_seed)
        ob_crypto_set_aux_seed(self->crypto, config->aux_seed);
    if (memcmp(self->key.pub.bytes, self->env.self_key, 32) != 0) {
        ob_why(why, "signer: its key is not the node's key");
        ob_signer_destroy(&self);
        return NULL;
    }
    self->store = ob_signer_store_open(config->db_path, config->sync, why);
    if (!self->store) {
        ob_signer_destroy(&self);
        return NULL;
    }
    return self;
}

static void s_partial_free(s_partial_t *partial)
{
    free(partial->acks);
    partial->acks = NULL;
}

void ob_signer_destroy(ob_signer_t **self_p)
{
    assert(self_p);
    ob_signer_t *self = *self_p;
    if (!self)
        return;
    ob_signer_store_destroy(&self->store);
    if (self->partials)
        for (size_t i = 0; i < self->partial_count; i++)
            s_partial_free(&self->partials[i]);
    free(self->partials);
    free(self->deferred);
    free(self->early_sign_acks);
    free(self->own_certs);
    free(self->tips);
    ob_crypto_destroy(&self->crypto);
    ob_keypair_wipe(&self->key);
    free(self);
    *self_p = NULL;
}

const ob_signer_stats_t *ob_signer_stats(const ob_signer_t *self)
{
    return &self->stats;
}

void ob_signer_start(ob_signer_t *self, ob_outbox_t *out)
{
    ob_outbox_state_request(out, OB_ACTOR_SIGNER);
    /* No certificate is held yet: the verifiers check every ack again. */
    ob_imsg_t reset = {.type = OB_IMSG_QUORUM_RESET};
    ob_outbox_to_actor(out, OB_ACTOR_VERIFIER, &reset);
    (void)self;
}

int ob_signer_begin(ob_signer_t *self)
{
    self->failed = false;
    return ob_signer_store_begin(self->store);
}

int ob_signer_commit(ob_signer_t *self)
{
    bool sync_due = false;
    if (ob_signer_commit_deferred(self, &sync_due) != 0)
        return -1;
    return sync_due ? ob_signer_sync(self) : 0;
}

int ob_signer_commit_deferred(ob_signer_t *self, bool *sync_due)
{
    *sync_due = false;
    if (self->failed)
        return -1;
    return ob_signer_store_commit_deferred(self->store, sync_due);
}

int ob_signer_sync(ob_signer_t *self)
{
    return ob_signer_store_sync(self->store);
}

/* --- tips and partials ------------------------------------------------- */

static s_tip_t *s_tip(ob_signer_t *self, const uint8_t sequencer[32])
{
    for (size_t i = 0; i < self->tip_count; i++)
        if (memcmp(self->tips[i].sequencer, sequencer, 32) == 0)
            return &self->tips[i];
    return NULL;
}

static void s_partial_remove(ob_signer_t *self, size_t i)
{
    s_partial_free(&self->partials[i]);
    self->partials[i] = self->partials[--self->partial_count];
    self->stats.partials = self->partial_count;
}

/* Drops partials no ack can complete any more: below the sequencer's tip
   (when `sequencer` is given) and outside the epoch bounds. */
static void s_prune(ob_signer_t *self, const uint8_t *sequencer, uint64_t below_height)
{
    uint64_t lo = self->epoch >= self->env.params.epoch_bounds_lo
                      ? self->epoch - self->env.params.epoch_bounds_lo
                      : 0;
    uint64_t hi = self->epoch + self->env.params.epoch_bounds_hi;
    for (size_t i = self->partial_count; i-- > 0;) {
        s_partial_t *p = &self->partials[i];
        bool stale_height =
            sequencer && memcmp(p->sequencer, sequencer, 32) == 0 && p->height < below_height;
        bool stale_epoch = self->epoch_known && (p->epoch < lo || p->epoch > hi);
        if (stale_height || stale_epoch)
            s_partial_remove(self, i);
    }
}

static ob_error_t s_count_ack(ob_signer_t *self, const ob_ack_t *ack, ob_outbox_t *out);
static void s_deferred_retry(ob_signer_t *self, const uint8_t *sequencer, ob_outbox_t *out);

static void s_on_tip(ob_signer_t *self, const ob_chunk_t *chunk, ob_outbox_t *out)
{
    s_tip_t *tip = s_tip(self, chunk->sequencer);
    if (!tip) {
        if (self->tip_count == S_MAX_TIPS) {
            ob_warn("signer: tip table full; ignoring a tip");
            return;
        }
        tip = &self->tips[self->tip_count++];
        memcpy(tip->sequencer, chunk->sequencer, 32);
    } else if (chunk->height < tip->height) {
        return; /* a stale view arriving late; tips only grow */
    }
    tip->height = chunk->height;
    memcpy(tip->payload, chunk->payload, 32);
    s_prune(self, chunk->sequencer, chunk->height);
    s_deferred_retry(self, chunk->sequencer, out);
}

static s_partial_t *s_partial(ob_signer_t *self, const ob_chunk_t *chunk, uint64_t epoch,
                              uint16_t n)
{
    for (size_t i = 0; i < self->partial_count; i++) {
        s_partial_t *p = &self->partials[i];
        if (p->height == chunk->height && p->epoch == epoch &&
            memcmp(p->sequencer, chunk->sequencer, 32) == 0)
            return p;
    }
    if (self->partial_count == S_MAX_PARTIALS)
        return NULL;
    s_partial_t *p = &self->partials[self->partial_count];
    memset(p, 0, sizeof *p);
    p->acks = calloc(n, sizeof *p->acks);
    if (!p->acks)
        return NULL;
    memcpy(p->sequencer, chunk->sequencer, 32);
    p->height = chunk->height;
    p->epoch = epoch;
    self->partial_count++;
    self->stats.partials = self->partial_count;
    return p;
}

/* The first certificate assembled on an own chunk is the one the journal
   keeps and hands back in sign_node: remembered, so that the usual parent
   costs no signature checks. */
static void s_keep_own_cert(ob_signer_t *self, const ob_lock_t *lock)
{
    if (memcmp(lock->chunk.sequencer, self->env.self_key, 32) != 0)
        return;
    ob_own_cert_t *o = &self->own_certs[self->own_cert_next];
    size_t written = 0;
    if (ob_cert_encode(&lock->cert, o->bytes, sizeof o->bytes, &written) != 0)
        return; /* too large to keep: such a parent is verified instead */
    o->chunk = lock->chunk;
    o->epoch = lock->epoch;
    o->len = written;
    self->own_cert_next = (self->own_cert_next + 1) % S_OWN_CERTS;
    if (self->own_cert_count < S_OWN_CERTS)
        self->own_cert_count++;
}

static void s_emit_certificate(ob_signer_t *self, s_partial_t *p, const uint8_t payload[32],
                               uint16_t n, ob_outbox_t *out)
{
    /* The acks on this payload, in the order held; assembly sorts them. */
    ob_ack_t *chosen = calloc(p->count, sizeof *chosen);
    uint8_t *entries = malloc(OB_CERT_ENTRIES_LEN(p->count));
    if (!chosen || !entries) {
        free(chosen);
        free(entries);
        return;
    }
    size_t k = 0;
    for (uint16_t i = 0; i < p->count; i++)
        if (memcmp(p->acks[i].chunk.payload, payload, 32) == 0)
            chosen[k++] = p->acks[i];
    ob_lock_t lock = {.chunk = chosen[0].chunk, .epoch = p->epoch};
    ob_error_t rc =
        ob_cert_assemble(chosen, k, n, entries, OB_CERT_ENTRIES_LEN(p->count), &lock.cert);
    assert(rc == OB_OK); /* acks here are verified, distinct and of one chunk */
    (void)rc;
    size_t len = ob_lock_encoded_len(&lock), written = 0;
    uint8_t *bytes = malloc(len);
    if (bytes && ob_lock_encode(&lock, bytes, len, &written) == 0) {
        ob_imsg_t msg = {.type = OB_IMSG_CERTIFIED};
        msg.u.certified.lock = (ob_blob_t){bytes, (uint32_t)written};
        ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
    }
    if (!p->certified) {
        p->certified = true;
        memcpy(p->certified_payload, payload, 32);
        self->stats.certificates++;
        s_keep_own_cert(self, &lock);
        if (memcmp(p->sequencer, self->env.self_key, 32) == 0)
            ob_stage(OB_STAGE_CERT_ASSEMBLED, p->sequencer, p->height);
        /* The verifier its acks meet in verifies no more of them. */
        ob_imsg_t reached = {.type = OB_IMSG_QUORUM_REACHED};
        memcpy(reached.u.quorum_reached.sequencer, p->sequencer, 32);
        reached.u.quorum_reached.height = p->height;
        reached.u.quorum_reached.epoch = p->epoch;
        ob_outbox_to_verifier(out, ob_outbox_route(p->sequencer, p->height), &reached);
    }
    free(bytes);
    free(entries);
    free(chosen);
}

/* --- acks the signer's view cannot judge yet ------------------------------

   An ack that comes before the journal has told a (re)started signer the
   epoch, or above its sequencer's tip + height_bound, is not counted, but
   kept: the latest per (sequencer, epoch, validator), of the manifest's
   sets only, so the table is bounded by the manifest (and capped). It is
   counted once the view comes within reach of it. The nodes a lagging
   validator accepts later carry their parents' certificates, but nothing
   carries the certificate of a chain's last chunk: only these acks form
   it, and the other validators send them once. */
static void s_defer(ob_signer_t *self, const ob_ack_t *ack)
{
    for (size_t i = 0; i < self->deferred_count; i++) {
        ob_ack_t *d = &self->deferred[i];
        if (d->index == ack->index && d->epoch == ack->epoch &&
            memcmp(d->chunk.sequencer, ack->chunk.sequencer, 32) == 0) {
            if (ack->chunk.height > d->chunk.height)
                *d = *ack;
            return;
        }
    }
    if (self->deferred_count < S_MAX_DEFERRED)
        self->deferred[self->deferred_count++] = *ack;
    self->stats.acks_deferred = self->deferred_count;
}

/* The view moved (the epoch, or `sequencer`'s tip; NULL: every
   sequencer): deferred acks now within reach are counted, those below a
   tip forgotten (the node above them carries their certificate), the rest
   kept. */
static void s_deferred_retry(ob_signer_t *self, const uint8_t *sequencer, ob_outbox_t *out)
{
    if (!self->epoch_known)
        return;
    for (size_t i = self->deferred_count; i-- > 0 && i < self->deferred_count;) {
        ob_ack_t ack = self->deferred[i];
        if (sequencer && memcmp(ack.chunk.sequencer, sequencer, 32) != 0)
            continue;
        const s_tip_t *tip = s_tip(self, ack.chunk.sequencer);
        uint64_t tip_height = tip ? tip->height : 0;
        if (ack.chunk.height > tip_height + self->env.params.height_bound)
            continue;
        self->deferred[i] = self->deferred[--self->deferred_count];
        if (tip && ack.chunk.height < tip->height)
            continue;
        ob_error_t rc = s_count_ack(self, &ack, out);
        if (rc == OB_OK)
            self->stats.acks_deferred_counted++;
        else
            self->stats.acks_dropped[rc]++;
    }
    self->stats.acks_deferred = self->deferred_count;
}

/* This node's own ack, signed here: the verifier its chunk routes to
   remembers it as verified, since certificates carry it back. */
static void s_tell_own(ob_signer_t *self, const ob_keyset_t *validators, const ob_ack_t *ack,
                       ob_outbox_t *out)
{
    const ob_pubkey_t *key = validators ? ob_keyset_key(validators, ack->index) : NULL;
    if (!key || memcmp(key->bytes, self->env.self_key, 32) != 0)
        return;
    uint8_t bytes[OB_ACK_LEN];
    size_t written = 0;
    ob_ack_encode(ack, bytes, sizeof bytes, &written);
    ob_imsg_t msg = {.type = OB_IMSG_ACK_OWN};
    msg.u.ack_own.ack = (ob_blob_t){bytes, (uint32_t)written};
    ob_outbox_to_verifier(out, ob_outbox_route(ack->chunk.sequencer, ack->chunk.height), &msg);
}

/* Counts a verified ack. Returns the error that rejects it, or OB_OK. */
static ob_error_t s_count_ack(ob_signer_t *self, const ob_ack_t *ack, ob_outbox_t *out)
{
    const ob_keyset_t *validators = ob_epochs_validators(self->env.epochs, ack->epoch);
    const ob_keyset_t *sequencers = ob_epochs_sequencers(self->env.epochs, ack->epoch);
    bool of_manifest = validators && sequencers &&
                       ob_keyset_contains(sequencers, ack->chunk.sequencer) &&
                       ack->index < ob_keyset_size(validators);
    s_tell_own(self, validators, ack, out);
    if (!self->epoch_known) {
        /* A signer that just started: the journal's view comes soon. */
        if (of_manifest)
            s_defer(self, ack);
        return OB_ERR_ACK_EPOCH_BOUNDS;
    }
    if (!validators || !sequencers)
        return OB_ERR_UNKNOWN_EPOCH;
    if (!ob_keyset_contains(sequencers, ack->chunk.sequencer))
        return OB_ERR_UNKNOWN_SEQUENCER;
    if (ack->index >= ob_keyset_size(validators))
        return OB_ERR_UNKNOWN_VALIDATOR;
    /* Chunk checks against the published tip. */
    const s_tip_t *tip = s_tip(self, ack->chunk.sequencer);
    uint64_t tip_height = tip ? tip->height : 0;
    if (tip && ack->chunk.height < tip->height)
        return OB_ERR_HEIGHT_TOO_LOW;
    if (tip && ack->chunk.height == tip->height && memcmp(ack->chunk.payload, tip->payload, 32))
        return OB_ERR_CHUNK_MISMATCH;
    /* Epoch bounds, then height bounds. */
    const ob_params_t *pp = &self->env.params;
    if (ack->epoch + pp->epoch_bounds_lo < self->epoch ||
        ack->epoch > self->epoch + pp->epoch_bounds_hi)
        return OB_ERR_ACK_EPOCH_BOUNDS;
    if (ack->chunk.height > tip_height + pp->height_bound) {
        s_defer(self, ack);
        return OB_ERR_ACK_HEIGHT_BOUNDS;
    }

    uint16_t n = ob_keyset_size(validators);
    s_partial_t *p = s_partial(self, &ack->chunk, ack->epoch, n);
    if (!p) {
        ob_warn("signer: partial ack table full; dropping an ack");
        return OB_ERR_TOO_LARGE;
    }
    for (uint16_t i = 0; i < p->count; i++) {
        if (p->acks[i].index == ack->index) {
            /* Counted once. A repeat of a certified chunk means someone
               still lacks its certificate (the journal may have lost it in
               a crash), so emit it again; the journal ignores duplicates. */
            if (p->certified && memcmp(p->acks[i].chunk.payload, ack->chunk.payload, 32) == 0)
                s_emit_certificate(self, p, p->certified_payload, n, out);
            return OB_OK;
        }
    }
    assert(p->count < n);
    p->acks[p->count++] = *ack;
    uint16_t same = 0;
    for (uint16_t i = 0; i < p->count; i++)
        same += memcmp(p->acks[i].chunk.payload, ack->chunk.payload, 32) == 0;
    /* The first quorum makes the certificate; later acks add nothing. */
    if (!p->certified && same >= ob_quorum(n)) {
        s_emit_certificate(self, p, ack->chunk.payload, n, out);
        /* Partials below the certified height can no longer matter. */
        s_prune(self, ack->chunk.sequencer, ack->chunk.height);
    }
    return OB_OK;
}

/* An ack on an own chunk that the verifier did not verify, since it came
   after the certificate (ack_late): a repeat of a counted one emits the
   certificate again, as in s_count_ack. Never counted. */
static void s_drop(ob_signer_t *self, ob_error_t why, const uint8_t *peer, ob_outbox_t *out);

static void s_on_ack_late(ob_signer_t *self, const ob_imsg_ack_late_t *in, ob_outbox_t *out)
{
    ob_ack_t ack;
    ob_error_t rc = ob_ack_decode(&ack, in->ack.data, in->ack.len);
    const ob_keyset_t *validators =
        rc == OB_OK ? ob_epochs_validators(self->env.epochs, ack.epoch) : NULL;
    const ob_pubkey_t *key = validators ? ob_keyset_key(validators, ack.index) : NULL;
    if (!key || memcmp(key->bytes, in->peer, 32) != 0 ||
        memcmp(ack.chunk.sequencer, self->env.self_key, 32) != 0) {
        s_drop(self, rc != OB_OK ? rc : OB_ERR_PEER_MISMATCH, in->peer, out);
        return;
    }
    self->stats.acks_late++;
    for (size_t i = 0; i < self->partial_count; i++) {
        s_partial_t *p = &self->partials[i];
        if (p->height != ack.chunk.height || p->epoch != ack.epoch || !p->certified ||
            memcmp(p->sequencer, ack.chunk.sequencer, 32) != 0 ||
            memcmp(p->certified_payload, ack.chunk.payload, 32) != 0)
            continue;
        for (uint16_t k = 0; k < p->count; k++)
            if (p->acks[k].index == ack.index &&
                memcmp(p->acks[k].chunk.payload, ack.chunk.payload, 32) == 0)
                s_emit_certificate(self, p, p->certified_payload, ob_keyset_size(validators), out);
        return;
    }
}

/* --- the signing module: requests from the journal -------------------- */

static void s_refuse(ob_signer_t *self, const ob_chunk_t *chunk, ob_error_t why, ob_outbox_t *out)
{
    self->stats.refused[why]++;
    ob_imsg_t msg = {.type = OB_IMSG_SIGN_REFUSED};
    msg.u.sign_refused.chunk = *chunk;
    msg.u.sign_refused.error = (uint16_t)why;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
}

/* A signed node goes to the journal, and, with the payload slot the
   journal committed (SPEC §4, proposal step 1), to net for the epoch's
   validators (step 3): the node leaves without a trip back through the
   journal, which records it as its tip in a later batch (step 4). Without
   a slot (the journal had none to give) the journal broadcasts it. */
static void s_reply_node(ob_signer_t *self, const uint8_t *node, size_t len,
                         const ob_handle_t *payload, ob_outbox_t *out)
{
    bool sent = false;
    if (payload) {
        ob_imsg_t msg = {.type = OB_IMSG_BROADCAST_NODE};
        msg.u.broadcast_node.epoch = self->epoch;
        msg.u.broadcast_node.node = (ob_blob_t){node, (uint32_t)len};
        msg.u.broadcast_node.payload = *payload;
        sent = ob_outbox_to_actor(out, OB_ACTOR_NET, &msg) == 0;
        if (!sent)
            ob_arena_release(self->env.arena, payload, OB_ACTOR_SIGNER);
        else
            self->stats.nodes_sent++;
    }
    ob_imsg_t msg = {.type = OB_IMSG_NODE_SIGNED};
    msg.u.node_signed.node = (ob_blob_t){node, (uint32_t)len};
    msg.u.node_signed.sent = sent;
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
}

static ob_error_t s_decode_stored(ob_signer_t *self, const uint8_t *bytes, size_t len,
                                  ob_node_t *node)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(self->env.epochs);
    return ob_node_decode(node, bytes, len, &lookup);
}

static int s_sign_and_record(ob_signer_t *self, ob_node_t *node, const ob_handle_t *payload,
                             ob_outbox_t *out)
{
    const ob_chunk_t *chunk = &node->chunk;
    if (ob_chunk_sign(self->crypto, self->env.ns, &self->key, chunk, NULL, node->signature) != 0) {
        self->failed = true;
        return -1;
    }
    size_t len = ob_node_encoded_len(node), written = 0;
    uint8_t *bytes = malloc(len);
    int rc = -1;
    if (!bytes || ob_node_encode(node, bytes, len, &written) != 0 ||
        ob_signer_store_record_signed(self->store, chunk->height, chunk->payload, bytes, written) !=
            0) {
        self->failed = true;
    } else {
        self->stats.nodes_signed++;
        s_reply_node(self, bytes, written, payload, out);
        rc = 0;
    }
    free(bytes);
    return rc;
}

static ob_sign_view_t s_view(const ob_signer_t *self)
{
    return (ob_sign_view_t){.self_key = self->env.self_key,
                            .epochs = self->env.epochs,
                            .params = &self->env.params,
                            .epoch_known = self->epoch_known,
                            .epoch = self->epoch};
}

/* A recorded node: 1 and decoded (its bytes in *bytes, the caller frees),
   0 if none, -1 on an error (the batch fails). */
static int s_recorded(ob_signer_t *self, int found, uint8_t *bytes, size_t len, ob_node_t *node)
{
    if (found != 1)
        return found;
    if (s_decode_stored(self, bytes, len, node) != OB_OK) {
        ob_error("signer: a node in its record does not decode");
        return -1;
    }
    return 1;
}

static void s_ack(ob_signer_t *self, const ob_chunk_t *chunk, uint64_t epoch, uint16_t index,
                  ob_outbox_t *out);

/* sign_node: the record is read, the request checked on its own
   (signer_checks.c), and only then is anything signed. */
static void s_on_sign_node(ob_signer_t *self, const ob_imsg_sign_node_t *req, ob_outbox_t *out)
{
    const ob_chunk_t *chunk = &req->chunk;
    ob_sign_view_t view = s_view(self);
    uint8_t *at_bytes = NULL, *last_bytes = NULL;
    size_t at_len = 0, last_len = 0;
    ob_node_t at, last;
    int has_at = 0, has_last = 0;
    if (memcmp(chunk->sequencer, self->env.self_key, 32) == 0) {
        int found = ob_signer_store_signed_at(self->store, chunk->height, &at_bytes, &at_len);
        has_at = s_recorded(self, found, at_bytes, at_len, &at);
        found = ob_signer_store_last_signed(self->store, &last_bytes, &last_len);
        has_last = s_recorded(self, found, last_bytes, last_len, &last);
    }
    if (has_at < 0 || has_last < 0) {
        self->failed = true;
        free(at_bytes);
        free(last_bytes);
        return;
    }
    bool reissue = false;
    ob_error_t refuse =
        ob_sign_check_node(&view, chunk, has_at ? &at : NULL, has_last ? &last : NULL, &reissue);
    ob_node_t node = {.chunk = *chunk};
    if (refuse == OB_OK && !reissue && chunk->height > 0) {
        bool own = false;
        refuse = ob_sign_check_parent(self->crypto, self->env.ns, &view, &last, req->parent_epoch,
                                      req->parent_cert.data, req->parent_cert.len, self->own_certs,
                                      self->own_cert_count, &node.parent, &own);
        node.has_parent = true;
        if (refuse == OB_OK && own)
            self->stats.parent_certs_own++;
        else if (refuse == OB_OK)
            self->stats.parent_certs_verified++;
    }
    /* The payload slot is the journal's committed bytes of this chunk;
       the signer never reads them, it only passes the slot on. One that
       names other bytes (or none) goes back: the journal then broadcasts
       the node itself. */
    const ob_handle_t *payload = &req->payload;
    bool have_payload = memcmp(payload->digest, chunk->payload, 32) == 0 &&
                        ob_arena_take(self->env.arena, payload, OB_ACTOR_SIGNER) == 0;
    if (have_payload && refuse != OB_OK) {
        ob_arena_release(self->env.arena, payload, OB_ACTOR_SIGNER);
        have_payload = false;
    }
    int signed_rc = -1;
    if (refuse != OB_OK) {
        if (refuse == OB_ERR_CHUNK_MISMATCH)
            ob_warn("signer: refusing a second payload at height %llu (S1)",
                    (unsigned long long)chunk->height);
        s_refuse(self, chunk, refuse, out);
    } else if (reissue) {
        self->stats.nodes_reissued++;
        s_reply_node(self, at_bytes, at_len, have_payload ? payload : NULL, out);
        signed_rc = 0;
    } else {
        signed_rc = s_sign_and_record(self, &node, have_payload ? payload : NULL, out);
    }
    /* Its own ack, in the same transaction: the payload is durable
       (proposal step 1) and the node is the sequencer's own proposal, so
       the ack rule's conditions hold already; the journal's tip record,
       which the ack rule also names, is the signer's last signed node
       until the journal writes it (SPEC §4, proposal step 4). It leaves
       with the node, not a round trip later. */
    if (signed_rc == 0 && self->epoch_known) {
        uint16_t index = 0;
        if (ob_sign_check_ack(&view, self->epoch, &index) == OB_OK) {
            self->stats.own_acks++;
            s_ack(self, chunk, self->epoch, index, out);
        }
    }
    free(at_bytes);
    free(last_bytes);
}

/* Signs (or finds) the ack on `chunk` for `epoch`, S2 first, and sends it:
   to net for the epoch's validators, and into its own aggregation. */
static void s_ack(ob_signer_t *self, const ob_chunk_t *chunk, uint64_t epoch, uint16_t index,
                  ob_outbox_t *out)
{
    /* S2: one payload per (sequencer, height), in any epoch, durably. */
    ob_ack_record_t record;
    int found = ob_signer_store_ack_record(self->store, chunk->sequencer, chunk->height, &record);
    if (found < 0) {
        self->failed = true;
        return;
    }
    if (found == 1 && memcmp(record.payload, chunk->payload, 32) != 0) {
        ob_warn("signer: refusing to ack a second payload at height %llu (S2)",
                (unsigned long long)chunk->height);
        s_refuse(self, chunk, OB_ERR_CHUNK_MISMATCH, out);
        return;
    }
    ob_ack_t ack = {.chunk = *chunk, .epoch = epoch, .index = index};
    if (found == 1 && record.epoch == epoch && record.has_signature) {
        /* Acked in this epoch already: the same signature bytes again, so
           a duplicate costs no signing here and no verification at any
           peer (their caches hold it). */
        memcpy(ack.signature, record.signature, 64);
        self->stats.acks_resent++;
    } else {
        /* The record, with the signature, is durable before the ack
           leaves: the shell sends nothing of this batch before its
           commit. */
        if (ob_ack_sign(self->crypto, self->env.ns, &self->key, chunk, epoch, NULL,
                        ack.signature) != 0 ||
            ob_signer_store_record_ack(self->store, chunk->sequencer, chunk->height, chunk->payload,
                                       epoch, ack.signature) != 0) {
            self->failed = true;
            return;
        }
        self->stats.acks_signed++;
    }
    uint8_t bytes[OB_ACK_LEN];
    size_t written = 0;
    ob_ack_encode(&ack, bytes, sizeof bytes, &written);
    ob_imsg_t msg = {.type = OB_IMSG_SEND_ACK};
    msg.u.send_ack.ack = (ob_blob_t){bytes, (uint32_t)written};
    ob_outbox_to_actor(out, OB_ACTOR_NET, &msg);
    /* Its own ack counts directly: no node relies on the network to hand
       its own messages back (§3). */
    ob_error_t rc = s_count_ack(self, &ack, out);
    if (rc != OB_OK)
        self->stats.acks_dropped[rc]++;
}

static void s_on_sign_ack(ob_signer_t *self, const ob_imsg_sign_ack_t *req, ob_outbox_t *out)
{
    if (!self->epoch_known && self->early_sign_ack_count < S_MAX_EARLY_SIGN_ACKS) {
        self->early_sign_acks[self->early_sign_ack_count++] = *req;
        self->stats.sign_acks_held++;
        return;
    }
    ob_sign_view_t view = s_view(self);
    uint16_t index = 0;
    ob_error_t refuse = ob_sign_check_ack(&view, req->epoch, &index);
    if (refuse != OB_OK) {
        s_refuse(self, &req->chunk, refuse, out);
        return;
    }
    s_ack(self, &req->chunk, req->epoch, index, out);
}

static void s_on_last_signed_request(ob_signer_t *self, ob_outbox_t *out)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int found = ob_signer_store_last_signed(self->store, &bytes, &len);
    if (found < 0) {
        self->failed = true;
        return;
    }
    ob_imsg_t msg = {.type = OB_IMSG_LAST_SIGNED};
    msg.u.last_signed.node = (ob_blob_t){bytes, found ? (uint32_t)len : 0};
    ob_outbox_to_actor(out, OB_ACTOR_JOURNAL, &msg);
    free(bytes);
}

static void s_drop(ob_signer_t *self, ob_error_t why, const uint8_t *peer, ob_outbox_t *out)
{
    self->stats.acks_dropped[why]++;
    ob_outbox_dropped(out, OB_ACTOR_SIGNER, why, peer);
}

void ob_signer_handle(ob_signer_t *self, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    ob_signer_input_t in;
    if (ob_signer_input(msg->type, from, &in) != 0) {
        /* Not a request the signer serves, or not from its one allowed
           caller (the journal asks for signatures, a verifier hands acks):
           whoever sent it may not ask. */
        ob_outbox_dropped(out, OB_ACTOR_SIGNER, OB_ERR_UNKNOWN_TYPE, NULL);
        ob_warn("signer: refusing %s from %s", ob_imsg_name(msg->type), ob_party_name(from));
        return;
    }
    switch (in) {
    case OB_SIGNER_IN_SIGN_NODE:
        s_on_sign_node(self, &msg->u.sign_node, out);
        return;
    case OB_SIGNER_IN_SIGN_ACK:
        s_on_sign_ack(self, &msg->u.sign_ack, out);
        return;
    case OB_SIGNER_IN_LAST_SIGNED_REQUEST:
        s_on_last_signed_request(self, out);
        return;
    case OB_SIGNER_IN_ACK_VERIFIED: {
        ob_ack_t ack;
        ob_error_t rc =
            ob_ack_decode(&ack, msg->u.ack_verified.ack.data, msg->u.ack_verified.ack.len);
        if (rc == OB_OK)
            rc = s_count_ack(self, &ack, out);
        if (rc != OB_OK)
            s_drop(self, rc, NULL, out);
        return;
    }
    case OB_SIGNER_IN_ACK_LATE:
        s_on_ack_late(self, &msg->u.ack_late, out);
        return;
    case OB_SIGNER_IN_EPOCH_CHANGED:
        /* Only an epoch of the manifest, and only upwards. */
        if (!ob_epochs_known(self->env.epochs, msg->u.epoch_changed.epoch)) {
            ob_warn("signer: ignoring epoch %llu, which the manifest does not list",
                    (unsigned long long)msg->u.epoch_changed.epoch);
            return;
        }
        if (!self->epoch_known || msg->u.epoch_changed.epoch > self->epoch) {
            self->epoch = msg->u.epoch_changed.epoch;
            self->epoch_known = true;
            s_prune(self, NULL, 0);
            s_deferred_retry(self, NULL, out);
            /* In the order asked, now judged against the epoch. */
            size_t early = self->early_sign_ack_count;
            self->early_sign_ack_count = 0;
            for (size_t i = 0; i < early; i++)
                s_on_sign_ack(self, &self->early_sign_acks[i], out);
        }
        return;
    case OB_SIGNER_IN_TIP_CHANGED:
        s_on_tip(self, &msg->u.tip_changed.chunk, out);
        return;
    }
}
