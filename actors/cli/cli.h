/*  The commands of `obcast` that live in files of their own. Each takes
    the arguments after `obcast` (argv[0] is the command's name) and returns
    the exit status: 0 ok, 1 the command failed, 2 bad usage. */
#ifndef OB_CLI_H
#define OB_CLI_H

#include "args.h"

#include <getopt.h>
#include <stdio.h>

/* obcast export --config NODE.zpl [--data] [--out FILE]: the node's
   certified chunks as the JSON lines of SPEC §7 (ob_journal_export). */
int ob_cli_export(int argc, char **argv);

/* obcast audit --manifest MANIFEST [--allow-gaps] EXPORT...: checks
   exports against the manifest, alone and together (SPEC §7): the format,
   S4 and S5 (every certificate verifies against its epoch's validators),
   S3 (no two payloads certified at one sequencer and height, across every
   file), and chain contiguity per file. */
int ob_cli_audit(int argc, char **argv);

/* ob_cli_audit writing to `out` and `err` instead of stdout and stderr. */
int ob_cli_audit_to(int argc, char **argv, FILE *out, FILE *err);

/* obcast submit (--config NODE.zpl | --endpoint EP) [--wait queued|assigned|locked]
   [--timeout MS] [--count N --size BYTES] [FILE|-]...: payloads to a node's
   submit socket through libobcast-client (SPEC §5), one line per event. */
int ob_cli_submit(int argc, char **argv);

/* obcast fetch --config NODE.zpl SEQUENCER HEIGHT [--out FILE] [--timeout-ms MS]:
   the payload of (SEQUENCER, HEIGHT), from the node or through it from
   its peers, its Lock verified against the manifest. Exit 0 found, 1 no
   peer has it, 2 any other failure. */
int ob_cli_fetch(int argc, char **argv);

/* `obcast tail`: the node's monitoring events as JSON lines. */
int ob_cli_tail(int argc, char **argv);

/* `obcast watch`: a live view of the node on the terminal (watch_view.h). */
int ob_cli_watch(int argc, char **argv);

/* `obcast status` and `obcast ctl`: requests to the node's control socket. */
int ob_cli_status(int argc, char **argv);
int ob_cli_ctl(int argc, char **argv);

/* `obcast metrics`: the running node's metrics as Prometheus text. */
int ob_cli_metrics(int argc, char **argv);
/* One metrics event (its JSON) as Prometheus text for node `node`; 0, or
   -1 if it is malformed (what was printed before then stays printed). */
int ob_cli_metrics_print(const char *json, const char *node, FILE *out);

/* The usage error for what getopt_long returned as `c` (its optstring
   starting with ':') at argv[optind - 1]: an option whose value is
   missing, said as such rather than as an unknown option, or an unknown
   one. */
static inline int ob_cli_option_error(const char *program, int c, char **argv)
{
    if (c == ':')
        return ob_args_usage_error(stderr, program, "%s needs a value", argv[optind - 1]);
    return ob_args_usage_error(stderr, program, "unknown option '%s'", argv[optind - 1]);
}

#endif
