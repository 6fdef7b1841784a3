#include "why.h"

#include <stdarg.h>
#include <stdio.h>

int ob_why(ob_why_t *why, const char *fmt, ...)
{
    if (why) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(why->text, sizeof why->text, fmt, args);
        va_end(args);
    }
    return -1;
}
