/*  The net actor's pure handler (SPEC §4, §5): the node's face to the
    world. It takes peer frames (already authenticated: `peer` is the
    sender's obcast key), checks their framing, moves payload bytes into
    the arena and hands the rest to the verifier; it sends nodes and acks
    to the peers the protocol names; and it speaks for the application:
    an attached one, or the built-in default (proposals come from the
    submit queue, and any payload whose digest matches is valid). */
#ifndef OB_NET_H
#define OB_NET_H

#include "node_env.h"
#include "outbox.h"
#include "why.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _ob_net_t ob_net_t;

typedef struct {
    ob_node_env_t env;
    bool app_attached;         /* false: the built-in default application */
    uint32_t submit_queue_max; /* payloads waiting to be proposed */
} ob_net_config_t;

typedef struct {
    uint64_t peer_nodes_in, peer_acks_in, peer_out;
    uint64_t dropped[OB_ERROR_COUNT];
    uint64_t arena_full; /* peer messages refused for lack of a slot */
    uint64_t submitted, submit_refused, proposals_answered;
    uint64_t reports_tip, reports_lock, reports_evidence;
} ob_net_stats_t;

ob_net_t *ob_net_new(const ob_net_config_t *config, ob_why_t *why);
void ob_net_destroy(ob_net_t **self_p);

void ob_net_start(ob_net_t *self, ob_outbox_t *out);

/* A peer message of `frame_count` frames from the peer whose key is
   `peer`. Malformed framing is dropped and counted. */
void ob_net_on_peer(ob_net_t *self, const uint8_t peer[32], const ob_frame_t *frames,
                    size_t frame_count, ob_outbox_t *out);

/* A message from another actor of the node. */
void ob_net_handle(ob_net_t *self, const ob_imsg_t *msg, ob_outbox_t *out);

/* The attached application's answers. */
int ob_net_app_payload(ob_net_t *self, uint64_t height, const uint8_t *data, size_t len,
                       ob_outbox_t *out);
void ob_net_app_verdict(ob_net_t *self, const ob_chunk_t *chunk, bool valid, ob_outbox_t *out);

/* The attached application has the Lock on `chunk`. */
void ob_net_lock_delivered(ob_net_t *self, const ob_chunk_t *chunk, ob_outbox_t *out);

/* A client's payload for the built-in application's queue. 0, or -1 if it
   is too large or the queue is full. */
int ob_net_submit(ob_net_t *self, const uint8_t *data, size_t len, ob_outbox_t *out);

/* The shell has sent the outbox: payload slots it referred to are freed. */
void ob_net_flushed(ob_net_t *self);

const ob_net_stats_t *ob_net_stats(const ob_net_t *self);

#endif
