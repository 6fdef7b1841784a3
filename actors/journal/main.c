/*  obcast-journal: the journal actor's shell (SPEC §4). It opens the
    node's journal.db, recovers from it before it reads any message, then
    runs batches: one transaction each, committed before anything the
    batch produced is sent. Also the read-only inspection commands. */
#include "actor.h"
#include "hex.h"
#include "journal.h"
#include "journal_inspect.h"
#include "log.h"
#include "shell.h"

#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int s_begin(void *h)
{
    return ob_journal_begin(h);
}

static void s_drop_event(const ob_imsg_dropped_t *in);

static void s_handle(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    if (msg->type == OB_IMSG_DROPPED)
        s_drop_event(&msg->u.dropped);
    ob_journal_handle(h, now, from, msg, out);
}

static void s_tick(void *h, uint64_t now, ob_outbox_t *out)
{
    ob_journal_tick(h, now, out);
}

static void s_end_batch(void *h, ob_outbox_t *out)
{
    ob_journal_end_batch(h, out);
}

static uint64_t s_next_deadline(void *h)
{
    return ob_journal_next_deadline(h);
}

static int s_commit_deferred(void *h, bool *sync_due)
{
    return ob_journal_commit_deferred(h, sync_due);
}

static int s_sync(void *h)
{
    return ob_journal_sync(h);
}

static uint64_t s_clock_us(void)
{
    return (uint64_t)zclock_usecs();
}

typedef struct {
    ob_journal_t *journal;
    const ob_actor_args_t *args;
    ob_shell_t *shell;
} s_metrics_ctx_t;

static s_metrics_ctx_t s_metrics_ctx;

/* SPEC §8, the journal's share: tips, outcomes, certificates, drops of
   every actor by error name, and the two latencies. */
static void s_metrics(void *h, ob_json_t *json)
{
    ob_journal_t *journal = h;
    const ob_journal_stats_t *st = ob_journal_stats(journal);
    ob_json_u64(json, "epoch", ob_journal_epoch(journal));
    ob_json_object(json, "tips");
    const ob_manifest_t *m = s_metrics_ctx.args->manifest;
    for (size_t i = 0; i < ob_manifest_node_count(m); i++) {
        const ob_manifest_node_t *n = ob_manifest_node(m, i);
        uint64_t height;
        uint8_t payload[32];
        if (ob_journal_tip(journal, n->key, &height, payload))
            ob_json_u64(json, n->name, height);
    }
    ob_json_end(json);
    ob_json_object(json, "nodes");
    ob_json_u64(json, "accepted", st->nodes_accepted);
    ob_json_u64(json, "duplicate", st->nodes_duplicate);
    ob_json_u64(json, "duplicate_reacked", st->reacks);
    ob_json_u64(json, "duplicate_limited", st->duplicates_limited);
    ob_json_end(json);
    ob_json_object(json, "verifies");
    ob_json_u64(json, "asked", st->verify_requests);
    ob_json_u64(json, "valid", st->verdicts_valid);
    ob_json_u64(json, "invalid", st->verdicts_invalid);
    ob_json_end(json);
    ob_json_u64(json, "acks_requested", st->acks_requested);
    ob_json_u64(json, "proposals", st->proposals);
    const ob_builtin_app_t *app = ob_journal_builtin_app(journal);
    if (app) {
        const ob_builtin_app_stats_t *a = ob_builtin_app_stats(app);
        ob_json_object(json, "builtin_app");
        ob_json_u64(json, "batch_bytes", ob_builtin_app_batch_bytes(app));
        ob_json_u64(json, "batch_limit", ob_builtin_app_batch_limit(app));
        ob_json_u64(json, "batch_shrunk", a->batch_shrunk);
        ob_json_u64(json, "batch_grown", a->batch_grown);
        ob_json_u64(json, "batch_timed", a->batch_timed);
        ob_json_u64(json, "batch_last_ms", a->batch_last_ms);
        ob_json_u64(json, "queued", ob_builtin_app_queued(app));
        ob_json_u64(json, "submitted", a->submitted);
        ob_json_u64(json, "submit_refused", a->submit_refused);
        ob_json_u64(json, "proposals", a->proposals);
        ob_json_u64(json, "batched_entries", a->batched_entries);
        ob_json_u64(json, "submit_assigned", a->submit_assigned);
        ob_json_u64(json, "submit_locked", a->submit_locked);
        ob_json_u64(json, "submit_again", a->submit_again);
        ob_json_u64(json, "submit_follow", a->submit_follow);
        ob_json_u64(json, "submit_claimed", a->submit_claimed);
        ob_json_u64(json, "track_evicted", a->track_evicted);
        ob_json_u64(json, "answers_lost", a->answers_lost);
        ob_json_end(json);
    }
    ob_json_u64(json, "rebroadcasts", st->rebroadcasts);
    ob_json_u64(json, "certificates", st->certificates);
    ob_json_u64(json, "certificates_known", st->certificates_known);
    ob_json_u64(json, "locks_reported", st->locks_reported);
    ob_json_u64(json, "lock_queries", st->lock_queries);
    ob_json_u64(json, "lock_queries_answered", st->lock_queries_answered);
    ob_json_u64(json, "evidence", st->evidence);
    ob_json_u64(json, "blocks_asked", st->blocks_asked);
    ob_json_u64(json, "payloads_pruned", st->payloads_pruned);
    /* SPEC §8: fetches asked, answered and received, by outcome. */
    ob_json_object(json, "fetch");
    ob_json_object(json, "asked");
    ob_json_u64(json, "payload", st->fetch_asked_payload);
    ob_json_u64(json, "hole", st->fetch_asked_hole);
    ob_json_u64(json, "above", st->fetch_asked_above);
    ob_json_u64(json, "retried", st->fetch_retries);
    ob_json_end(json);
    ob_json_object(json, "answered");
    ob_json_u64(json, "with_payload", st->fetched_sent_payload);
    ob_json_u64(json, "without_payload", st->fetched_sent_bare);
    ob_json_u64(json, "payload_corrupt", st->fetched_sent_corrupt);
    ob_json_end(json);
    ob_json_object(json, "received");
    ob_json_u64(json, "new", st->fetched_new);
    ob_json_u64(json, "duplicate", st->fetched_duplicate);
    ob_json_u64(json, "conflicting", st->fetched_conflicting);
    ob_json_u64(json, "payload_stored", st->fetched_payload_stored);
    ob_json_u64(json, "outside_retention", st->fetched_outside_retention);
    ob_json_end(json);
    ob_json_u64(json, "outstanding", st->fetch_outstanding);
    /* On request (a client's or the application's), by outcome. */
    ob_json_object(json, "requests");
    ob_json_u64(json, "received", st->fetch_requests);
    ob_json_u64(json, "local", st->fetch_requests_local);
    ob_json_u64(json, "fetched", st->fetch_requests_fetched);
    ob_json_u64(json, "not_found", st->fetch_requests_not_found);
    ob_json_u64(json, "busy", st->fetch_requests_busy);
    ob_json_u64(json, "repeated", st->fetch_requests_repeated);
    ob_json_u64(json, "asked", st->fetch_asked_request);
    ob_json_u64(json, "following", st->fetch_requests_following);
    ob_json_end(json);
    ob_json_end(json);
    ob_json_u64(json, "durable_commits", st->durable_commits);
    ob_json_object(json, "payload_bytes"); /* each one copy of payload bytes */
    ob_json_u64(json, "stored", st->payload_bytes_stored);
    ob_json_u64(json, "loaded", st->payload_bytes_loaded);
    ob_json_u64(json, "arena_put", ob_arena_bytes_put(s_metrics_ctx.args->arena));
    ob_json_end(json);
    ob_json_object(json, "drops");
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (st->dropped[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), st->dropped[e]);
    ob_json_end(json);
    ob_json_object(json, "sign_refused");
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (st->sign_refused[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), st->sign_refused[e]);
    ob_json_end(json);
    ob_json_histogram(json, "app_verify_latency", &st->verify_latency);
    ob_json_histogram(json, "proposal_to_certificate_latency", &st->certify_latency);
}

/* --- monitoring events (SPEC §6): lock, tip, evidence, drop ------------------

   Published as the reports leave for net, so only after their batch has
   committed; a redelivered Lock is published again (at least once). */

static const char *s_node_name(const uint8_t key[32], char hex[65])
{
    const ob_manifest_node_t *n = ob_manifest_node_with_key(s_metrics_ctx.args->manifest, key);
    ob_hex_encode(key, 32, hex);
    return n ? n->name : hex;
}

static void s_lock_event(const uint8_t *lock, size_t len)
{
    ob_epoch_lookup_t lookup = ob_epochs_lookup(ob_manifest_epochs(s_metrics_ctx.args->manifest));
    ob_lock_t decoded;
    if (len < OB_CHUNK_LEN + 8 || ob_lock_decode(&decoded, lock, len, &lookup) != OB_OK)
        return;
    size_t cert_len = len - OB_CHUNK_LEN - 8;
    char *cert = malloc(2 * cert_len + 1);
    if (!cert)
        return;
    char seq[65], payload[65], name_hex[65];
    ob_hex_encode(decoded.chunk.sequencer, 32, seq);
    ob_hex_encode(decoded.chunk.payload, 32, payload);
    ob_hex_encode(lock + OB_CHUNK_LEN + 8, cert_len, cert);
    json_t *event = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:s}", "node",
                              s_metrics_ctx.args->config->name, "sequencer", seq, "sequencer_name",
                              s_node_name(decoded.chunk.sequencer, name_hex), "height",
                              (json_int_t)decoded.chunk.height, "payload", payload, "epoch",
                              (json_int_t)decoded.epoch, "certificate", cert);
    ob_shell_publish_event(s_metrics_ctx.shell, "lock", &event);
    free(cert);
}

static void s_drop_event(const ob_imsg_dropped_t *in)
{
    static const uint8_t nobody[32];
    char peer[65];
    json_t *event =
        json_pack("{s:s, s:s, s:s, s:i}", "node", s_metrics_ctx.args->config->name, "error",
                  in->error < OB_ERROR_COUNT ? ob_error_name((ob_error_t)in->error) : "unknown",
                  "actor", ob_actor_name((ob_actor_t)in->actor), "count", (int)in->count);
    if (event && memcmp(in->peer, nobody, 32) != 0)
        json_object_set_new(event, "peer", json_string(s_node_name(in->peer, peer)));
    ob_shell_publish_event(s_metrics_ctx.shell, "drop", &event);
}

static void s_sent(void *h, const ob_envelope_t *e, const uint8_t *bytes)
{
    (void)h;
    if (e->kind != OB_DEST_ACTOR || e->actor != OB_ACTOR_NET || e->len < 2)
        return;
    uint16_t type = (uint16_t)(bytes[0] << 8 | bytes[1]);
    if (type != OB_IMSG_REPORT_LOCK && type != OB_IMSG_REPORT_TIP &&
        type != OB_IMSG_REPORT_EVIDENCE)
        return;
    ob_imsg_t msg;
    if (ob_imsg_decode(&msg, bytes, e->len) != OB_OK)
        return;
    char seq[65], payload[65], name_hex[65];
    /* Only the three report types pass the filter above. */
    if (msg.type == OB_IMSG_REPORT_LOCK) {
        s_lock_event(msg.u.report_lock.lock.data, msg.u.report_lock.lock.len);
    } else if (msg.type == OB_IMSG_REPORT_TIP) {
        ob_hex_encode(msg.u.report_tip.chunk.sequencer, 32, seq);
        ob_hex_encode(msg.u.report_tip.chunk.payload, 32, payload);
        json_t *event = json_pack(
            "{s:s, s:s, s:s, s:I, s:s}", "node", s_metrics_ctx.args->config->name, "sequencer", seq,
            "sequencer_name", s_node_name(msg.u.report_tip.chunk.sequencer, name_hex), "height",
            (json_int_t)msg.u.report_tip.chunk.height, "payload", payload);
        ob_shell_publish_event(s_metrics_ctx.shell, "tip", &event);
    } else {
        json_t *event = json_pack("{s:s, s:i, s:i, s:i}", "node", s_metrics_ctx.args->config->name,
                                  "kind", (int)msg.u.report_evidence.kind, "first_len",
                                  (int)msg.u.report_evidence.first.len, "second_len",
                                  (int)msg.u.report_evidence.second.len);
        ob_shell_publish_event(s_metrics_ctx.shell, "evidence", &event);
    }
}

/* The built-in application's reports never leave the journal: they are
   published here, once their batch has committed and been sent. */
static void s_flushed(void *h)
{
    ob_outbox_t *reports = ob_journal_reports(h);
    if (!reports)
        return;
    for (size_t i = 0; i < ob_outbox_count(reports); i++) {
        const ob_envelope_t *e = ob_outbox_at(reports, i);
        s_sent(h, e, ob_outbox_bytes(reports, e));
    }
    ob_outbox_clear(reports);
}

int ob_journal_actor_run(const ob_actor_args_t *args)
{
    ob_why_t why = {{0}};
    ob_node_env_t env;
    if (ob_actor_env(args, &env, &why) != 0 ||
        ob_actor_claim_data_dir(args->config->data_dir, env.self_key, &why) != 0) {
        ob_error("journal: %s", why.text);
        return 1;
    }
    char db_path[PATH_MAX];
    if (snprintf(db_path, sizeof db_path, "%s/journal.db", args->config->data_dir) >=
        (int)sizeof db_path) {
        ob_error("journal: data_dir %s: path too long", args->config->data_dir);
        return 1;
    }
    /* Slots a dead predecessor held are ours to free. */
    uint32_t reclaimed = ob_arena_reclaim(args->arena, OB_ACTOR_JOURNAL);
    ob_journal_config_t cfg = {.env = env,
                               .db_path = db_path,
                               .sync = args->config->journal_sync,
                               .initial_epoch = ob_epochs_first(env.epochs),
                               .clock_us = s_clock_us,
                               .builtin_app = args->config->application == OB_APPLICATION_BUILTIN,
                               .submit_queue_max = 8192,
                               .submit_track_max = 8192,
                               .batch_bytes = args->config->batch_bytes,
                               .batch_slow_ms = args->config->batch_slow_ms};
    ob_journal_t *journal = ob_journal_new(&cfg, &why);
    if (!journal) {
        ob_error("journal: %s", why.text);
        return 1;
    }
    ob_shell_t *shell = ob_shell_new(&args->endpoints, OB_ACTOR_JOURNAL, 0, args->pipe, &why);
    if (!shell) {
        ob_error("journal: %s", why.text);
        ob_journal_destroy(&journal);
        return 1;
    }
    ob_shell_set_arena(shell, args->arena);
    static const ob_shell_ops_t ops = {.begin = s_begin,
                                       .handle = s_handle,
                                       .tick = s_tick,
                                       .end_batch = s_end_batch,
                                       .next_deadline = s_next_deadline,
                                       .commit_deferred = s_commit_deferred,
                                       .sync = s_sync,
                                       .metrics = s_metrics,
                                       .sent = s_sent,
                                       .flushed = s_flushed};
    s_metrics_ctx = (s_metrics_ctx_t){journal, args, shell};
    ob_info("journal: recovered %s (epoch %llu, %u arena slots reclaimed)", db_path,
            (unsigned long long)ob_journal_epoch(journal), reclaimed);
    ob_journal_start(journal, ob_shell_now_ms(), ob_shell_outbox(shell));
    ob_journal_end_batch(journal, ob_shell_outbox(shell));
    ob_shell_flush(shell, &ops, journal);
    int rc = ob_shell_run(shell, &ops, journal);
    ob_shell_destroy(&shell);
    ob_journal_destroy(&journal); /* the last batch is committed: nothing to sync */
    return rc == 0 ? 0 : 1;
}

#ifndef OB_ACTOR_NO_MAIN
/* `metrics`: one `metrics` event from each actor of the running node, as
   JSON lines (the supervisor's monitoring socket will carry the same). */
static int s_metrics_command(const ob_actor_process_t *process, int argc, char **argv)
{
    int timeout_ms = 3000;
    if (argc == 3 && streq(argv[1], "--timeout") && atoi(argv[2]) > 0)
        timeout_ms = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "obcast-journal: metrics [--timeout MS]\n");
        return 2;
    }
    const ob_shell_endpoints_t *endpoints = &process->args.endpoints;
    size_t want = 3 + endpoints->verifiers;
    char labels[3 + 64][64];
    bool seen[3 + 64] = {false};
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (!sub) {
        fprintf(stderr, "obcast-journal: metrics: cannot make a socket\n");
        return 1;
    }
    zsock_set_subscribe(sub, "metrics");
    static const ob_actor_t named[] = {OB_ACTOR_JOURNAL, OB_ACTOR_SIGNER, OB_ACTOR_NET};
    for (size_t i = 0; i < want; i++) {
        ob_actor_t actor = i < 3 ? named[i] : OB_ACTOR_VERIFIER;
        uint32_t instance = i < 3 ? 0 : (uint32_t)(i - 3);
        char ep[PATH_MAX + 64];
        ob_shell_events_endpoint(endpoints, actor, instance, ep, sizeof ep);
        zsock_connect(sub, "%s", ep);
        snprintf(labels[i], sizeof labels[i], "\"actor\":\"%s\",\"instance\":%u",
                 ob_actor_name(actor), instance);
    }
    size_t got = 0;
    zpoller_t *poller = zpoller_new(sub, NULL);
    int64_t deadline = zclock_mono() + timeout_ms;
    while (got < want && zclock_mono() < deadline) {
        if (!zpoller_wait(poller, (int)(deadline - zclock_mono())))
            break;
        char *topic = NULL, *json = NULL;
        if (zsock_recv(sub, "ss", &topic, &json) == 0 && json) {
            for (size_t i = 0; i < want; i++)
                if (!seen[i] && strstr(json, labels[i])) {
                    seen[i] = true;
                    got++;
                    printf("%s\n", json);
                }
        }
        zstr_free(&topic);
        zstr_free(&json);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    if (got < want) {
        fprintf(stderr,
                "obcast-journal: metrics: %zu of %zu actors answered within %d ms on "
                "%s/events-* (is node '%s' running?)\n",
                got, want, timeout_ms, endpoints->events_base, process->config.name);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    ob_actor_process_t process;
    int status;
    if (ob_actor_process_init(&process, argc, argv, "obcast-journal",
                              "The journal actor: the node's state in SQLite, the sequencer's "
                              "timers, the reports.",
                              "commands (read-only, on the journal database):\n"
                              "  tips                 each sequencer's tip\n"
                              "  show SEQ HEIGHT      one chunk (SEQ: node name or key hex)\n"
                              "  export [--data]      certified chunks as JSON lines (SPEC §7)\n"
                              "  metrics [--timeout MS]  each running actor's metrics, as JSON\n",
                              &status) != 0) {
        ob_actor_process_fini(&process);
        return status;
    }
    if (process.command_argc > 0 && streq(process.command_argv[0], "metrics"))
        status = s_metrics_command(&process, process.command_argc, process.command_argv);
    else if (process.command_argc > 0)
        status = ob_journal_inspect(&process.config, process.manifest, process.command_argc,
                                    process.command_argv, stdout, stderr);
    else
        status = ob_journal_actor_run(&process.args);
    ob_actor_process_fini(&process);
    return status;
}
#endif
