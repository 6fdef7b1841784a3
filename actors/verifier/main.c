/*  obcast-verifier: the verifier actor's shell (SPEC §4). Stateless but
    for its signature cache, so several instances may run side by side:
    each binds its own PULL socket; net routes peer messages by chunk, so
    that the acks of one chunk meet in one instance. */
#include "actor.h"
#include "log.h"
#include "shell.h"
#include "verifier.h"

#include <stdio.h>

/* Verified signatures remembered: an ack is checked once per node even
   when it comes back in several certificates. */
#define S_CACHE_ENTRIES 65536

/* The longest an ack below quorum waits unverified for the rest of its
   quorum (the hold time itself is twice the usual wait, SPEC §3). */
#define S_HOLD_MAX_MS 50

static void s_handle(void *h, uint64_t now, ob_party_t from, const ob_imsg_t *msg, ob_outbox_t *out)
{
    ob_verifier_handle(h, now, from, msg, out);
}

static void s_tick(void *h, uint64_t now, ob_outbox_t *out)
{
    ob_verifier_tick(h, now, out);
}

static uint64_t s_next_deadline(void *h)
{
    return ob_verifier_next_deadline(h);
}

static void s_metrics(void *h, ob_json_t *json)
{
    const ob_verifier_stats_t *st = ob_verifier_stats(h);
    ob_json_u64(json, "nodes_passed", st->nodes_passed);
    ob_json_u64(json, "acks_passed", st->acks_passed);
    ob_json_u64(json, "cache_hits", st->cache_hits);
    ob_json_u64(json, "cache_misses", st->cache_misses);
    ob_json_u64(json, "signature_checks", st->signature_checks);
    ob_json_u64(json, "acks_after_certificate", st->acks_after_certificate);
    ob_json_u64(json, "acks_late_forwarded", st->acks_late_forwarded);
    ob_json_u64(json, "acks_held", st->acks_held);
    ob_json_u64(json, "held_at_quorum", st->held_at_quorum);
    ob_json_u64(json, "held_timeouts", st->held_timeouts);
    ob_json_u64(json, "held_evicted", st->held_evicted);
    ob_json_u64(json, "hold_ms", st->hold_ms);
    ob_json_u64(json, "own_acks_cached", st->own_acks_cached);
    ob_json_object(json, "fetched"); /* by outcome: "ok" passed, else dropped */
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (st->fetched[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), st->fetched[e]);
    ob_json_end(json);
    ob_json_u64(json, "blocks_asked", st->blocks_asked);
    ob_json_object(json, "blocks_for"); /* what the blocked peer sent */
    ob_json_u64(json, "node", st->blocks_node);
    ob_json_u64(json, "ack", st->blocks_ack);
    ob_json_u64(json, "fetched", st->blocks_fetched);
    ob_json_end(json);
    ob_json_object(json, "drops");
    for (int e = 0; e < OB_ERROR_COUNT; e++)
        if (st->dropped[e])
            ob_json_u64(json, ob_error_name((ob_error_t)e), st->dropped[e]);
    ob_json_end(json);
}

int ob_verifier_actor_run(const ob_actor_args_t *args)
{
    ob_why_t why = {{0}};
    ob_node_env_t env;
    if (ob_actor_env(args, &env, &why) != 0) {
        ob_error("verifier: %s", why.text);
        return 1;
    }
    uint16_t owner = ob_verifier_arena_owner(args->instance);
    ob_arena_reclaim(args->arena, owner);
    ob_verifier_t *verifier = ob_verifier_new(&env, S_CACHE_ENTRIES, &why);
    if (!verifier) {
        ob_error("verifier: %s", why.text);
        return 1;
    }
    ob_verifier_set_instance(verifier, args->instance);
    ob_verifier_set_hold(verifier, S_HOLD_MAX_MS);
    ob_shell_t *shell =
        ob_shell_new(&args->endpoints, OB_ACTOR_VERIFIER, args->instance, args->pipe, &why);
    if (!shell) {
        ob_error("verifier %u: %s", args->instance, why.text);
        ob_verifier_destroy(&verifier);
        return 1;
    }
    ob_shell_set_arena(shell, args->arena);
    static const ob_shell_ops_t ops = {
        .handle = s_handle, .tick = s_tick, .next_deadline = s_next_deadline, .metrics = s_metrics};
    ob_verifier_start(verifier, ob_shell_outbox(shell));
    ob_shell_flush(shell, &ops, verifier);
    int rc = ob_shell_run(shell, &ops, verifier);
    ob_shell_destroy(&shell);
    ob_verifier_destroy(&verifier);
    return rc == 0 ? 0 : 1;
}

#ifndef OB_ACTOR_NO_MAIN
int main(int argc, char **argv)
{
    ob_actor_process_t process;
    int status;
    if (ob_actor_process_init(&process, argc, argv, "obcast-verifier",
                              "The verifier actor: every stateless check of peer messages.", NULL,
                              &status) != 0) {
        ob_actor_process_fini(&process);
        return status;
    }
    if (process.command_argc > 0) {
        fprintf(stderr, "obcast-verifier: unknown command '%s' (it has none; see --help)\n",
                process.command_argv[0]);
        status = 2;
    } else {
        status = ob_verifier_actor_run(&process.args);
    }
    ob_actor_process_fini(&process);
    return status;
}
#endif
