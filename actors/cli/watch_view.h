/*  The live view of `obcast watch` (issue 13): a model of one node fed
    with its monitoring events (SPEC §6), drawn as a text screen. It does
    no I/O and reads no clock: watch.c feeds it what the monitor socket
    delivers and the time, and tests feed it events and read the screen.

    From the events it keeps
    - per sequencer, from `lock`: the top certified height, and a rate
      over the last 10 s;
    - from the journal's `metrics`: latency from proposal to certificate,
      p50 and p99 over the last 10 s (from the difference of two
      snapshots of its histogram), and the node's epoch;
    - per actor, from `metrics` (each actor's heartbeat) and the
      supervisor's `actor` events: up, silent, exited, restarting, hung or
      given up, and the restarts seen;
    - per peer, from net's `metrics` and `peer` events: connected or not;
    - drops, from `drop`: the count by error name.
    Every table is bounded; what does not fit is counted, not stored. */
#ifndef OB_WATCH_VIEW_H
#define OB_WATCH_VIEW_H

#include <stddef.h>
#include <stdint.h>

typedef struct _ob_watch_view_t ob_watch_view_t;

/* `node` names the node watched until an event names it (metrics events
   do not): its config's name, or the endpoint. */
ob_watch_view_t *ob_watch_view_new(const char *node);
void ob_watch_view_destroy(ob_watch_view_t **self_p);

/* One event at `now_ms` (any monotonic clock). 0, or -1 if `json` is not
   a JSON object (counted as malformed, and otherwise ignored). */
int ob_watch_view_feed(ob_watch_view_t *self, const char *topic, const char *json, uint64_t now_ms);

/* Draws the screen at `now_ms` into `out` (NUL-terminated, lines ended by
   '\n'; cut at `cap`) and returns its length. Each call also takes the
   rate sample of the second. */
size_t ob_watch_view_render(ob_watch_view_t *self, uint64_t now_ms, char *out, size_t cap);

#endif
