/*  Read-only views of a journal database (SPEC §7, issue 4): the tips, one
    node in full, and the export. The journal may be running: the database
    is opened read-only (WAL readers never block its writer), each command
    reads one snapshot, and a missing file is an error naming its path,
    never created.

    `obcast-journal tips|show|export` calls ob_journal_inspect; `obcast
    export` calls ob_journal_export. */
#ifndef OB_JOURNAL_INSPECT_H
#define OB_JOURNAL_INSPECT_H

#include "config.h"
#include "epochs.h"
#include "why.h"

#include <stdbool.h>
#include <stdio.h>

/* Runs one command on `<config->data_dir>/journal.db`; argv[0] is the
   command:
       tips                  one line per sequencer: name (or hex key), tip
                             height, tip payload digest, certified height
       show SEQ HEIGHT       one node in full; SEQ is a node name of the
                             manifest or a 64-hex key
       export [--data]       the JSON lines of SPEC §7 (ob_journal_export)
   `manifest` names sequencers and bounds certificates; it may be NULL (hex
   keys only). Writes results to `out` and one line "obcast-journal: <what>:
   <why>" to `err` on failure. Returns the exit status: 0 ok, 1 failed, 2 bad
   usage. */
int ob_journal_inspect(const ob_node_config_t *config, const ob_manifest_t *manifest, int argc,
                       char **argv, FILE *out, FILE *err);

/* Writes one JSON object per line for each certificate held, in
   (sequencer, height) order:
       {"sequencer":hex,"height":n,"payload":hex,"epoch":n,"certificate":hex
        [,"parent":{"payload":hex,"epoch":n,"certificate":hex}]
        [,"data":hex | ,"data_pruned":true]}
   `certificate` is the SPEC §2 Certificate encoding. `parent` is there when
   the node held at that height is the certified chunk and carries a parent
   (height > 0): the certificate of height-1 it was accepted with (S5).
   With `with_data`, `data` is the payload bytes, or `data_pruned` when
   retention dropped them. Heights and epochs of 2^53 or more are decimal
   strings (SPEC §2 "JSON"). One read snapshot. `epochs` bounds each
   certificate (SPEC §2 decoding); NULL decodes without that bound.
   0, or -1 with `why` naming the database. */
int ob_journal_export(const char *db_path, const ob_epochs_t *epochs, bool with_data, FILE *out,
                      ob_why_t *why);

#endif
