/*  The protocol tunables of SPEC §3, with their defaults. Times are in
    milliseconds of whatever clock drives the handlers (real or virtual). */
#ifndef OB_PARAMS_H
#define OB_PARAMS_H

#include <stdint.h>

typedef struct {
    uint64_t propose_timeout_ms;     /* re-ask the application for a payload */
    uint64_t rebroadcast_timeout_ms; /* resend an uncertified own tip */
    uint64_t epoch_bounds_lo;        /* acks accepted from current - lo ... */
    uint64_t epoch_bounds_hi;        /* ... to current + hi */
    uint64_t height_bound;           /* acks accepted up to tip + this */
    uint32_t max_payload;            /* bytes; the same for the whole cluster */
    uint64_t retention; /* heights of payload bytes kept behind the certified tip; 0 keeps all */
    /* Fetching (SPEC §3). Per peer and second: Fetched messages, and their
       payload bytes, sent to it or taken unasked from it. */
    uint64_t fetch_budget;
    uint64_t fetch_budget_bytes;
    uint64_t block_ms;          /* how long a peer that proved itself byzantine is blocked */
    uint64_t fetch_outstanding; /* Fetch requests a node has out at once */
    uint64_t fetch_retry_ms;    /* the first retry of an unanswered Fetch; doubles each time */
} ob_params_t;

#define OB_PARAMS_DEFAULT                                                                          \
    ((ob_params_t){.propose_timeout_ms = 1000,                                                     \
                   .rebroadcast_timeout_ms = 1000,                                                 \
                   .epoch_bounds_lo = 1,                                                           \
                   .epoch_bounds_hi = 1,                                                           \
                   .height_bound = 2,                                                              \
                   .max_payload = 1u << 20,                                                        \
                   .retention = 0,                                                                 \
                   .fetch_budget = 1024,                                                           \
                   .fetch_budget_bytes = 16u << 20,                                                \
                   .block_ms = 60000,                                                              \
                   .fetch_outstanding = 8,                                                         \
                   .fetch_retry_ms = 500})

#endif
