/*  obcast-journal: the journal actor's shell (SPEC §4). It opens the
    node's journal.db, recovers from it before it reads any message, then
    runs batches: one transaction each, committed before anything the
    batch produced is sent. Also the read-only inspection commands. */
#include "actor.h"
#include "journal.h"
#include "journal_inspect.h"
#include "log.h"
#include "shell.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int s_begin(void *h)
{
    return ob_journal_begin(h);
}

static void s_handle(void *h, uint64_t now, const ob_imsg_t *msg, ob_outbox_t *out)
{
    ob_journal_handle(h, now, msg, out);
}

static void s_tick(void *h, uint64_t now, ob_outbox_t *out)
{
    ob_journal_tick(h, now, out);
}

static uint64_t s_next_deadline(void *h)
{
    return ob_journal_next_deadline(h);
}

static int s_commit(void *h)
{
    return ob_journal_commit(h);
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
                               .initial_epoch = ob_epochs_first(env.epochs)};
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
    static const ob_shell_ops_t ops = {.begin = s_begin,
                                       .handle = s_handle,
                                       .tick = s_tick,
                                       .next_deadline = s_next_deadline,
                                       .commit = s_commit};
    ob_info("journal: recovered %s (epoch %llu, %u arena slots reclaimed)", db_path,
            (unsigned long long)ob_journal_epoch(journal), reclaimed);
    ob_journal_start(journal, ob_shell_now_ms(), ob_shell_outbox(shell));
    ob_shell_flush(shell, &ops, journal);
    int rc = ob_shell_run(shell, &ops, journal);
    ob_shell_destroy(&shell);
    ob_journal_destroy(&journal); /* the last batch is committed: nothing to sync */
    return rc == 0 ? 0 : 1;
}

#ifndef OB_ACTOR_NO_MAIN
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
                              "  export [--data]      certified chunks as JSON lines (SPEC §7)\n",
                              &status) != 0) {
        ob_actor_process_fini(&process);
        return status;
    }
    if (process.command_argc > 0)
        status = ob_journal_inspect(&process.config, process.manifest, process.command_argc,
                                    process.command_argv, stdout, stderr);
    else
        status = ob_journal_actor_run(&process.args);
    ob_actor_process_fini(&process);
    return status;
}
#endif
