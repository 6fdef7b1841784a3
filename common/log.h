/*  One-line logging to stderr: "time ident level: message".

    Every process sets its ident once (the actor's name). Debug lines are
    where dropped messages go (SPEC §3), so they are off unless asked for. */
#ifndef OB_LOG_H
#define OB_LOG_H

typedef enum {
    OB_LOG_DEBUG,
    OB_LOG_INFO,
    OB_LOG_WARN,
    OB_LOG_ERROR,
} ob_log_level_t;

void ob_log_set_ident(const char *ident);
void ob_log_set_level(ob_log_level_t level);
ob_log_level_t ob_log_level(void);

/* Parses "debug", "info", "warn" or "error". Returns 0 or -1. */
int ob_log_level_parse(const char *name, ob_log_level_t *level);

void ob_log(ob_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ob_debug(...) ob_log(OB_LOG_DEBUG, __VA_ARGS__)
#define ob_info(...)  ob_log(OB_LOG_INFO, __VA_ARGS__)
#define ob_warn(...)  ob_log(OB_LOG_WARN, __VA_ARGS__)
#define ob_error(...) ob_log(OB_LOG_ERROR, __VA_ARGS__)

#endif
