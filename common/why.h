/*  The reason a call failed, as one line that names what was wrong and
    where ("key file /x/k: readable by group or others (mode 0644)").
    Functions take an ob_why_t * that may be NULL when the caller does not
    want the text. */
#ifndef OB_WHY_H
#define OB_WHY_H

#define OB_WHY_LEN 320

typedef struct {
    char text[OB_WHY_LEN];
} ob_why_t;

/* Sets the reason (no-op on NULL) and returns -1, so that failing paths can
   read `return ob_why(why, "...", ...);`. */
int ob_why(ob_why_t *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
