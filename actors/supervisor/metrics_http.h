/*  The supervisor's Prometheus endpoint: `GET /metrics` over HTTP on the
    node's metrics_http address (libmicrohttpd), anything else 404.

    The text served is whatever the supervisor last set: it renders it
    from the metrics events its loop receives anyway, and libmicrohttpd's
    own thread only copies that text out under a mutex. So no supervisor
    state is ever read from another thread, and a scrape never waits on
    the supervisor's loop (nor the loop on a slow scraper). */
#ifndef OB_METRICS_HTTP_H
#define OB_METRICS_HTTP_H

#include "why.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ob_metrics_http_t ob_metrics_http_t;

/* Serves on host:port (IPv4; port 0 takes a free one, see _port); NULL
   with `why` said if it cannot bind. */
ob_metrics_http_t *ob_metrics_http_new(const char *host, uint16_t port, ob_why_t *why);
void ob_metrics_http_destroy(ob_metrics_http_t **self_p);
/* The port it listens on. */
uint16_t ob_metrics_http_port(const ob_metrics_http_t *self);
/* The text the next scrapes get (copied); 0, or -1 out of memory (the
   previous text stays). */
int ob_metrics_http_set(ob_metrics_http_t *self, const char *text, size_t len);
/* Self-test: serves a text, scrapes it over a real socket, checks a 404
   and a refused method. 0 when it passes. */
int ob_metrics_http_test(bool verbose);

#endif
