/*  What every command line of obcast shares: strict whole numbers, and
    the usage error (exit status 2) that names the program and the fault. */
#ifndef OB_ARGS_H
#define OB_ARGS_H

#include <stdint.h>
#include <stdio.h>

/* The exit statuses of every obcast binary. */
#define OB_EXIT_OK     0
#define OB_EXIT_FAILED 1
#define OB_EXIT_USAGE  2

/* A decimal whole number in [min, max], nothing else (no sign, no
   spaces, no suffix). 0, or -1 leaving *out alone. */
int ob_args_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Prints "PROGRAM: what\n(PROGRAM --help lists the options)\n" on `err`
   and returns OB_EXIT_USAGE. */
int ob_args_usage_error(FILE *err, const char *program, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
