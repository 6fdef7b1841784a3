/*  What every actor binary shares before its loop starts: the command
    line (--config, --arena-fd, --instance, --help, --version, inspection
    commands), the node config and manifest, the payload arena, and the
    node environment its handler gets.

    In a process, ob_actor_process_init does all of it from argv; in
    `obcast-node --inproc` the node fills an ob_actor_args_t once and
    hands it to each actor's thread. */
#ifndef OB_ACTOR_H
#define OB_ACTOR_H

#include "arena.h"
#include "config.h"
#include "node_env.h"
#include "shell.h"
#include "why.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    const ob_node_config_t *config;
    const ob_manifest_t *manifest;
    ob_arena_t *arena;
    ob_shell_endpoints_t endpoints;
    uint32_t instance; /* the verifier's instance number */
    zsock_t *pipe;     /* --inproc: the zactor pipe; NULL in a process */
} ob_actor_args_t;

/* The environment of the node's handlers. Fails if the manifest does not
   list the config's node. */
int ob_actor_env(const ob_actor_args_t *args, ob_node_env_t *env, ob_why_t *why);

/* The data folder belongs to one node key: a file `owner` in it records
   the key on first use, and any other key is refused afterwards (a data
   folder copied or pointed at by another node's config). */
int ob_actor_claim_data_dir(const char *data_dir, const uint8_t key[32], ob_why_t *why);

/* The node's CURVE certificate (czmq zcert): its secret file must be
   private (no access for group or others), and its public key the
   curve_key the manifest lists for the node. */
zcert_t *ob_actor_load_curve_cert(const ob_node_config_t *config, const ob_manifest_node_t *me,
                                  ob_why_t *why);

/* Every check a node can make before it starts anything, so that a bad
   file fails at once with its name, with nothing written: the key file
   (mode, and the manifest's key), the CURVE certificate, and the peer
   port (free to bind). */
int ob_actor_preflight(const ob_node_config_t *config, const ob_manifest_t *manifest,
                       ob_crypto_t *crypto, ob_why_t *why);

/* Milliseconds from `since` to `now`, 0 if `since` is later: time stamps
   taken in either order (a child started after the loop read the clock)
   never make a huge duration. */
uint64_t ob_actor_elapsed_ms(uint64_t now, uint64_t since);

/* In a child between fork and exec: arms the parent-death signal (SIGKILL;
   it survives the exec), then checks that the parent is still
   `supervisor`, the pid the parent had before the fork. -1 if it is gone
   (or the signal cannot be armed): the child must _exit at once. So an
   actor never outlives its supervisor, at any instant of its start-up.
   SIGKILL, not SIGTERM: a supervisor's death is a crash, which every actor
   survives by design (SPEC §3), and nothing delays it, so the node lock
   and the ports an actor held are free at once. */
int ob_actor_spawn_guard(pid_t supervisor);

/* One actor process: what ob_actor_process_init read. */
typedef struct {
    ob_node_config_t config;
    ob_manifest_t *manifest;
    ob_arena_t *arena;
    ob_crypto_t *crypto;
    ob_actor_args_t args;
    int command_argc; /* an inspection command: argv past the options */
    char **command_argv;
} ob_actor_process_t;

/* Parses `binary [options] [COMMAND ARGS...]`. Returns -1 with the exit
   status in *exit_status when the process should stop now (--help,
   --version, a usage error or a bad config: the message is printed),
   0 otherwise. An actor that runs (no COMMAND) gets the arena from
   --arena-fd; an inspection command does not need it. */
int ob_actor_process_init(ob_actor_process_t *self, int argc, char **argv, const char *binary,
                          const char *summary, const char *commands_help, int *exit_status);
void ob_actor_process_fini(ob_actor_process_t *self);

/* Each actor's life as a process or a thread: recover, then run batches
   until stopped. 0 on a clean stop, 1 on a failure (logged). Defined in
   actors/<name>/main.c. */
int ob_net_actor_run(const ob_actor_args_t *args);
int ob_verifier_actor_run(const ob_actor_args_t *args);
int ob_signer_actor_run(const ob_actor_args_t *args);
int ob_journal_actor_run(const ob_actor_args_t *args);

#endif
