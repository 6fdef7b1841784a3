#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Process-wide by nature: stderr is process-wide too. Set once at start. */
static char s_ident[32] = "obcast";
static ob_log_level_t s_level = OB_LOG_INFO;

static const char *s_level_names[] = {"debug", "info", "warn", "error"};

void ob_log_set_ident(const char *ident)
{
    snprintf(s_ident, sizeof s_ident, "%s", ident);
}

void ob_log_set_level(ob_log_level_t level)
{
    s_level = level;
}

ob_log_level_t ob_log_level(void)
{
    return s_level;
}

int ob_log_level_parse(const char *name, ob_log_level_t *level)
{
    for (int i = OB_LOG_DEBUG; i <= OB_LOG_ERROR; i++) {
        if (strcmp(name, s_level_names[i]) == 0) {
            *level = (ob_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void ob_log(ob_log_level_t level, const char *fmt, ...)
{
    if (level < s_level)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);

    /* One buffer and one write, so lines from threads do not interleave. */
    char line[1024];
    int len = snprintf(line, sizeof line,
                       "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       now.tv_nsec / 1000000, s_ident, s_level_names[level]);
    va_list args;
    va_start(args, fmt);
    if (len >= 0 && (size_t)len < sizeof line)
        len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, args);
    va_end(args);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line - 1)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, (size_t)len, stderr);
}
