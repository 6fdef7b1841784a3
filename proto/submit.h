/*  Why net's submit socket refused a payload (the reason of
    submit_refused in proto/imsg.csv). Numbers are never reused. */
#ifndef OB_SUBMIT_H
#define OB_SUBMIT_H

typedef enum {
    OB_SUBMIT_TOO_LARGE = 1,     /* over the manifest's max_payload */
    OB_SUBMIT_QUEUE_FULL = 2,    /* the submit queue is full: retry later */
    OB_SUBMIT_NOT_SEQUENCER = 3, /* this node is no sequencer of the current epoch */
    OB_SUBMIT_APP_ATTACHED = 4,  /* an application proposes: submit to it */
    OB_SUBMIT_MALFORMED = 5,     /* the request did not decode */
} ob_submit_refusal_t;

/* "too_large", ...; "unknown" for a number not listed. */
const char *ob_submit_refusal_name(int reason);

/* What became of a request for the payload of (sequencer, height): the
   status of fetch_answer (proto/imsg.csv) and the reason of fetch_failed
   and app_fetch_failed (proto/app.csv). Numbers are never reused. */
typedef enum {
    OB_FETCH_FOUND = 0,     /* the Lock and the bytes (fetch_answer only) */
    OB_FETCH_NOT_FOUND = 1, /* neither held here nor given by any peer asked */
    OB_FETCH_BUSY = 2,      /* the node follows as many requests as it can: retry later */
    OB_FETCH_MALFORMED = 3, /* the request did not decode */
} ob_fetch_status_t;

/* "found", "not_found", ...; "unknown" for a number not listed. */
const char *ob_fetch_status_name(int status);

#endif
