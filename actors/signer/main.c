/*  obcast-signer: the signer actor's shell (SPEC §4), the only process
    that holds the node's key. It opens signer.db exclusively (FULL sync,
    always), recovers from it, then runs batches whose records commit
    before any signature leaves. */
#include "actor.h"
#include "keyfile.h"
#include "log.h"
#include "shell.h"
#include "signer.h"
#include "signer_inspect.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int s_begin(void *h)
{
    return ob_signer_begin(h);
}

static void s_handle(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    (void)now;
    ob_signer_handle(h, from, msg, out);
}

static int s_commit_deferred(void *h, bool *sync_due)
{
    return ob_signer_commit_deferred(h, sync_due);
}

static int s_sync(void *h)
{
    return ob_signer_sync(h);
}

static void s_metrics(void *h, ob_json_t *json)
{
    const ob_signer_stats_t *st = ob_signer_stats(h);
    ob_json_u64(json, "nodes_signed", st->nodes_signed);
    ob_json_u64(json, "nodes_reissued", st->nodes_reissued);
    ob_json_u64(json, "nodes_sent", st->nodes_sent);
    ob_json_u64(json, "own_acks", st->own_acks);
    ob_json_u64(json, "acks_signed", st->acks_signed);
    ob_json_u64(json, "acks_resent", st->acks_resent);
    ob_json_u64(json, "parent_certs_own", st->parent_certs_own);
    ob_json_u64(json, "parent_certs_verified", st->parent_certs_verified);
    ob_json_u64(json, "certificates", st->certificates);
    ob_json_u64(json, "partials", st->partials); /* a queue depth */
    ob_json_u64(json, "acks_deferred", st->acks_deferred);
    ob_json_u64(json, "acks_deferred_counted", st->acks_deferred_counted);
    ob_json_u64(json, "sign_acks_held", st->sign_acks_held);
    ob_json_u64(json, "acks_late", st->acks_late);
    ob_json_object(json, "refused");
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (st->refused[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), st->refused[e]);
    ob_json_end(json);
    ob_json_object(json, "acks_dropped");
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (st->acks_dropped[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), st->acks_dropped[e]);
    ob_json_end(json);
}

/* The node's key, for telling its own chunks from the others' stages. */
static _Thread_local uint8_t s_self_key[32];

/* A chunk's life (common/metrics.h): a node signed, or an ack on another
   sequencer's chunk, once its record committed and it left. Both blobs
   begin with the chunk. */
static void s_sent(void *h, const ob_envelope_t *e, const uint8_t *bytes)
{
    (void)h;
    ob_imsg_t msg;
    if (e->kind != OB_DEST_ACTOR || ob_imsg_decode(&msg, bytes, e->len) != OB_OK)
        return;
    ob_chunk_t chunk;
    if (msg.type == OB_IMSG_NODE_SIGNED && msg.u.node_signed.node.len >= OB_CHUNK_LEN &&
        ob_chunk_decode(&chunk, msg.u.node_signed.node.data, OB_CHUNK_LEN) == OB_OK)
        ob_stage(OB_STAGE_SIGNED, chunk.sequencer, chunk.height);
    if (msg.type == OB_IMSG_SEND_ACK && msg.u.send_ack.ack.len >= OB_CHUNK_LEN &&
        ob_chunk_decode(&chunk, msg.u.send_ack.ack.data, OB_CHUNK_LEN) == OB_OK &&
        memcmp(chunk.sequencer, s_self_key, 32) != 0)
        ob_stage(OB_STAGE_ACK_SIGNED, chunk.sequencer, chunk.height);
}

int ob_signer_actor_run(const ob_actor_args_t *args)
{
    ob_why_t why = {{0}};
    ob_node_env_t env;
    if (ob_actor_env(args, &env, &why) != 0) {
        ob_error("signer: %s", why.text);
        return 1;
    }
    ob_crypto_t *crypto = ob_crypto_new();
    ob_signer_config_t cfg = {.env = env, .sync = OB_DB_SYNC_FULL};
    if (!crypto || ob_keyfile_load(crypto, args->config->key_file, &cfg.key, &why) != 0) {
        ob_error("signer: %s", crypto ? why.text : "no entropy for a crypto context");
        ob_crypto_destroy(&crypto);
        return 1;
    }
    ob_crypto_destroy(&crypto);
    if (memcmp(cfg.key.pub.bytes, env.self_key, 32) != 0) {
        ob_error("signer: key_file %s is not the key the manifest %s lists for node '%s'",
                 args->config->key_file, args->config->manifest, args->config->name);
        memset(&cfg.key, 0, sizeof cfg.key);
        return 1;
    }
    if (ob_actor_claim_data_dir(args->config->data_dir, env.self_key, &why) != 0) {
        ob_error("signer: %s", why.text);
        memset(&cfg.key, 0, sizeof cfg.key);
        return 1;
    }
    char db_path[PATH_MAX];
    if (snprintf(db_path, sizeof db_path, "%s/signer.db", args->config->data_dir) >=
        (int)sizeof db_path) {
        ob_error("signer: data_dir %s: path too long", args->config->data_dir);
        return 1;
    }
    cfg.db_path = db_path;
    ob_arena_reclaim(args->arena, OB_ACTOR_SIGNER);
    ob_signer_t *signer = ob_signer_new(&cfg, &why);
    memset(&cfg.key, 0, sizeof cfg.key); /* the handler keeps the only copy */
    if (!signer) {
        ob_error("signer: %s", why.text);
        return 1;
    }
    ob_shell_t *shell = ob_shell_new(&args->endpoints, OB_ACTOR_SIGNER, 0, args->pipe, &why);
    if (!shell) {
        ob_error("signer: %s", why.text);
        ob_signer_destroy(&signer);
        return 1;
    }
    ob_shell_set_arena(shell, args->arena);
    memcpy(s_self_key, env.self_key, 32);
    static const ob_shell_ops_t ops = {.begin = s_begin,
                                       .handle = s_handle,
                                       .commit_deferred = s_commit_deferred,
                                       .sync = s_sync,
                                       .sent = s_sent,
                                       .metrics = s_metrics};
    ob_info("signer: recovered %s", db_path);
    ob_signer_start(signer, ob_shell_outbox(shell));
    ob_shell_flush(shell, &ops, signer);
    int rc = ob_shell_run(shell, &ops, signer);
    ob_shell_destroy(&shell);
    ob_signer_destroy(&signer);
    return rc == 0 ? 0 : 1;
}

#ifndef OB_ACTOR_NO_MAIN
int main(int argc, char **argv)
{
    ob_actor_process_t process;
    int status;
    if (ob_actor_process_init(&process, argc, argv, "obcast-signer",
                              "The signer actor: the node's key, the record of everything "
                              "signed (S1, S2), ack aggregation.",
                              "commands (read-only):\n"
                              "  pubkey               the node's obcast public key\n"
                              "  history [--limit N]  what the signer has signed\n",
                              &status) != 0) {
        ob_actor_process_fini(&process);
        return status;
    }
    if (process.command_argc > 0)
        status = ob_signer_inspect(&process.config, process.command_argc, process.command_argv,
                                   stdout, stderr);
    else
        status = ob_signer_actor_run(&process.args);
    ob_actor_process_fini(&process);
    return status;
}
#endif
