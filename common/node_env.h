/*  What every actor of a node shares and never changes while it runs: the
    cluster's namespace and epochs, the tunables, the node's own public key,
    and the payload arena. Each actor keeps its own ob_crypto_t, since a
    context is not thread-safe. */
#ifndef OB_NODE_ENV_H
#define OB_NODE_ENV_H

#include "arena.h"
#include "epochs.h"
#include "params.h"
#include "signing.h"

#include <stdint.h>

typedef struct {
    const ob_namespace_t *ns;
    const ob_epochs_t *epochs;
    ob_params_t params;
    uint8_t self_key[32]; /* the node's obcast key: its validator and sequencer identity */
    ob_arena_t *arena;
} ob_node_env_t;

#endif
