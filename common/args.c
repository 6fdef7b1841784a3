#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

int ob_args_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!text || text[0] < '0' || text[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int ob_args_usage_error(FILE *err, const char *program, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fprintf(err, "%s: ", program);
    vfprintf(err, fmt, args);
    fprintf(err, "\n(%s --help lists the options)\n", program);
    va_end(args);
    return OB_EXIT_USAGE;
}
