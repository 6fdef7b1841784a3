/*  Read-only views of the signer's key and record (issue 4): the public
    key, and the nodes signed and acks recorded in signer.db. The running
    signer holds signer.db exclusively (SPEC §4: one process owns that
    record), so `history` works only while it is stopped, and says so
    otherwise. The database is never created or written. */
#ifndef OB_SIGNER_INSPECT_H
#define OB_SIGNER_INSPECT_H

#include "config.h"

#include <stdio.h>

/* Runs one command; argv[0] is the command:
       pubkey               the 64-hex x-only public key of config->key_file
                            (works without the database)
       history [--limit N]  the signed nodes, then the acks, of
                            `<config->data_dir>/signer.db`; with --limit,
                            the N highest of each
   Writes results to `out`, and one line "obcast-signer: <what>: <why>" to
   `err` on failure. Returns the exit status: 0 ok, 1 failed (a locked
   signer.db included), 2 bad usage. */
int ob_signer_inspect(const ob_node_config_t *config, int argc, char **argv, FILE *out, FILE *err);

#endif
