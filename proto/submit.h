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

#endif
