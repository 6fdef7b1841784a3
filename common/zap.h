/*  A ZAP handler (ZeroMQ RFC 27) with one CURVE allowlist per ZAP domain
    (SPEC §4, "Local sockets": each socket admits only its own list).

    czmq's zauth keeps one allowlist per process and ignores domains, so
    with it a key allowed on one socket was allowed on all of them. This
    module is the one exception to using zauth: a zactor thread that binds
    the REP socket inproc://zeromq.zap.01 in czmq's shared context, so it
    serves every socket of the process made with zsock_new. A socket takes
    its list with ZMQ_ZAP_DOMAIN (zsock_set_zap_domain).

    - CURVE: admitted iff the client's key is on its socket's domain's list
      (an unknown domain has an empty list). The User-Id of its messages
      (zmq_msg_gets "User-Id") is its public key in Z85.
    - NULL (ipc and internal sockets): admitted unless the domain has a
      CURVE list; the User-Id is the connection's address, for ipc on
      Linux "localhost:UID:GID:PID" (libzmq reads SO_PEERCRED).
    - anything else (PLAIN, GSSAPI): refused.

    libzmq serves ZAP on one endpoint per context, so a process has one
    handler: every ob_zap_t of the process is a handle on it (the net
    actor's thread and the supervisor's operator sockets in --inproc
    mode). A domain belongs to the handle that made it; another handle can
    neither list keys there nor drop it, and destroying a handle drops its
    domains. The handler ends with the last handle. */
#ifndef OB_ZAP_H
#define OB_ZAP_H

#include "why.h"

#include <czmq.h>

#include <stddef.h>
#include <stdint.h>

typedef struct _ob_zap_t ob_zap_t;

/* Keys one domain can list, and domains one handler serves. */
#define OB_ZAP_KEYS_MAX    4096
#define OB_ZAP_DOMAINS_MAX 16
#define OB_ZAP_DOMAIN_MAX  64

typedef struct {
    uint64_t allowed, denied;
    uint64_t malformed; /* requests that were not RFC 27: no reply, logged */
} ob_zap_stats_t;

/* A handle on the process's handler, started by the first. NULL (why
   says) if it cannot start, e.g. a handler that is not obcast's (czmq's
   zauth) holds the endpoint. */
ob_zap_t *ob_zap_new(ob_why_t *why);
void ob_zap_destroy(ob_zap_t **self_p);

/* Puts one CURVE public key (40 characters of Z85) on `domain`'s list.
   A key listed already is fine. 0, or -1 with why. */
int ob_zap_allow(ob_zap_t *self, const char *domain, const char *z85_key, ob_why_t *why);

/* Puts the public key of every czmq certificate in `folder` on `domain`'s
   list (files that are no certificate, such as a README, are skipped) and
   sets *count to how many keys it read. -1 with why if the folder cannot
   be read or holds no certificate. */
int ob_zap_allow_folder(ob_zap_t *self, const char *domain, const char *what, const char *folder,
                        size_t *count, ob_why_t *why);

/* Gives `domain` a CURVE list even if it stays empty: NULL connections
   are refused there. */
int ob_zap_curve_domain(ob_zap_t *self, const char *domain, ob_why_t *why);

/* The handler's counts, over every handle of the process. */
ob_zap_stats_t ob_zap_stats(ob_zap_t *self);

/* Puts `sock` in `domain` and makes libzmq refuse its connections when no
   ZAP handler answers. Without that, libzmq admits every connection to a
   socket whose handler is missing (gone, or not bound yet): an allowlist
   would then fail open. */
int ob_zap_enforce(zsock_t *sock, const char *domain, ob_why_t *why);

#endif
