/*  obcast export --config NODE.zpl [--data] [--out FILE] (SPEC §7).

    Reads the node's journal.db read-only (the node may be running) and
    writes one JSON line per certified chunk. With --out the lines go to
    FILE.partial first, renamed to FILE once complete, so a failed export
    never leaves a truncated FILE behind. */
#include "args.h"
#include "cli.h"

#include "config.h"
#include "crypto.h"
#include "journal_inspect.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast export", __VA_ARGS__)

#define S_EXIT_FAILED 1
#define S_EXIT_USAGE  2

static const char *s_usage =
    "usage: obcast export --config NODE.zpl [--data] [--out FILE]\n"
    "  one JSON line per certified chunk the node holds (SPEC §7)\n"
    "  --config NODE.zpl   the node's config (its data_dir and manifest)\n"
    "  --data              add each payload in hex (\"data_pruned\":true once pruned)\n"
    "  --out FILE          write FILE instead of standard output\n"
    "exit status: 0 ok, 1 the config, manifest or journal could not be read or FILE\n"
    "written, 2 bad usage\n";

/* The value of option `name` at argv[*i]: "--name VALUE" or "--name=VALUE".
   NULL if argv[*i] is not that option; sets *missing if its value is. */
static const char *s_option(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) != 0)
        return NULL;
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (argv[*i][len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int ob_cli_export(int argc, char **argv)
{
    const char *config_path = NULL, *out_path = NULL;
    bool with_data = false;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *value;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(s_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--data") == 0) {
            with_data = true;
        } else if ((value = s_option(argc, argv, &i, "--config", &missing)) != NULL) {
            config_path = value;
        } else if ((value = s_option(argc, argv, &i, "--out", &missing)) != NULL) {
            out_path = value;
        } else if (missing) {
            return s_usage_error("%s needs a value", argv[i]);
        } else if (argv[i][0] == '-') {
            return s_usage_error("unknown option '%s'", argv[i]);
        } else {
            return s_usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    if (!config_path || !*config_path)
        return s_usage_error("give --config NODE.zpl");
    if (out_path && !*out_path)
        return s_usage_error("--out needs a file name");

    ob_why_t why = {{0}};
    ob_node_config_t *config = calloc(1, sizeof *config);
    if (!config) {
        fprintf(stderr, "obcast export: out of memory\n");
        return S_EXIT_FAILED;
    }
    ob_crypto_t *crypto = NULL;
    ob_manifest_t *manifest = NULL;
    char db_path[PATH_MAX], partial[PATH_MAX];
    FILE *out = stdout;
    int rc = ob_node_config_load(config_path, config, &why);
    if (rc == 0 && !(crypto = ob_crypto_new()))
        rc = ob_why(&why, "no entropy for a crypto context");
    if (rc == 0 && !(manifest = ob_manifest_load(crypto, config->manifest, &why)))
        rc = -1;
    if (rc == 0) {
        int n = snprintf(db_path, sizeof db_path, "%s/journal.db", config->data_dir);
        if (n < 0 || n >= (int)sizeof db_path)
            rc = ob_why(&why, "data_dir %s: path too long", config->data_dir);
    }
    if (rc == 0 && out_path) {
        int n = snprintf(partial, sizeof partial, "%s.partial", out_path);
        if (n < 0 || n >= (int)sizeof partial)
            rc = ob_why(&why, "%s: path too long", out_path);
        else if (!(out = fopen(partial, "w")))
            rc = ob_why(&why, "%s: cannot create: %s", partial, strerror(errno));
    }
    if (rc == 0)
        rc = ob_journal_export(db_path, ob_manifest_epochs(manifest), with_data, out, &why);
    if (out_path && out) {
        if (fclose(out) != 0 && rc == 0)
            rc = ob_why(&why, "%s: cannot write: %s", partial, strerror(errno));
        if (rc == 0 && rename(partial, out_path) != 0)
            rc = ob_why(&why, "%s: cannot rename to %s: %s", partial, out_path, strerror(errno));
        if (rc != 0)
            unlink(partial);
    }
    ob_manifest_destroy(&manifest);
    ob_crypto_destroy(&crypto);
    free(config);
    if (rc != 0) {
        fprintf(stderr, "obcast export: %s\n", why.text);
        return S_EXIT_FAILED;
    }
    return 0;
}
