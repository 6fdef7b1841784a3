#include "zap.h"

#include "log.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_Z85_LEN      40
/* How long the owner waits for the handler's answer to a command: the
   handler answers at once unless it is gone, and then nothing may block. */
#define S_COMMAND_MS 5000

/* One handler per process: libzmq serves ZAP on one inproc endpoint of
   the context, and czmq shares one context. In --inproc mode the net
   actor's thread and the supervisor's operator sockets both need it, so
   each holds a handle on the one handler, and each handle owns the
   domains it made: no handle can widen or drop another's list. The lock
   guards the actor's pipe, which is a PAIR socket and so serves one
   thread at a time. */
static struct {
    pthread_mutex_t lock;
    zactor_t *actor;
    size_t users;
    bool broken; /* a command went unanswered: the pipe is out of step */
    struct {
        char name[OB_ZAP_DOMAIN_MAX];
        const ob_zap_t *owner;
    } claims[OB_ZAP_DOMAINS_MAX];
    size_t claim_count;
} s_shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct _ob_zap_t {
    int unused; /* a handle: its address names the owner of its domains */
};

/* --- the handler thread ---------------------------------------------------- */

typedef struct {
    char name[OB_ZAP_DOMAIN_MAX];
    zhash_t *keys; /* Z85 public key -> (void *)1 */
} s_domain_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *handler;
    s_domain_t domains[OB_ZAP_DOMAINS_MAX];
    size_t domain_count;
    ob_zap_stats_t stats;
} s_server_t;

static s_domain_t *s_domain(s_server_t *self, const char *name, bool create)
{
    for (size_t i = 0; i < self->domain_count; i++)
        if (strcmp(self->domains[i].name, name) == 0)
            return &self->domains[i];
    if (!create || self->domain_count == OB_ZAP_DOMAINS_MAX || strlen(name) == 0 ||
        strlen(name) >= OB_ZAP_DOMAIN_MAX)
        return NULL;
    s_domain_t *d = &self->domains[self->domain_count];
    d->keys = zhash_new();
    if (!d->keys)
        return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    self->domain_count++;
    return d;
}

static int s_cmd_allow(s_server_t *self, const char *domain, const char *key)
{
    s_domain_t *d = s_domain(self, domain, true);
    if (!d)
        return -1;
    if (!key)
        return 0; /* the domain alone */
    uint8_t raw[32];
    if (strlen(key) != S_Z85_LEN || !zmq_z85_decode(raw, key))
        return -1;
    if (zhash_lookup(d->keys, key))
        return 0;
    if (zhash_size(d->keys) >= OB_ZAP_KEYS_MAX)
        return -1;
    return zhash_insert(d->keys, key, (void *)1) == 0 ? 0 : -1;
}

/* RFC 27: version, request id, domain, address, identity, mechanism,
   credentials... The answer: version, request id, status code, status
   text, user id, metadata. */
static void s_on_request(s_server_t *self)
{
    zmsg_t *request = zmsg_recv(self->handler);
    if (!request)
        return;
    char *version = zmsg_popstr(request);
    zframe_t *request_id = zmsg_pop(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    char *identity = zmsg_popstr(request);
    char *mechanism = zmsg_popstr(request);
    if (!version || strcmp(version, "1.0") != 0 || !request_id || !domain || !address ||
        !identity || !mechanism) {
        /* A REP must answer before it reads again: a refusal, without a
           request id if there was none. */
        self->stats.malformed++;
        ob_warn("zap: a request that is not RFC 27 refused");
        zmsg_t *reply = zmsg_new();
        zmsg_addstr(reply, "1.0");
        zmsg_append(reply, request_id ? &request_id : &(zframe_t *){zframe_new_empty()});
        zmsg_addstr(reply, "400");
        zmsg_addstr(reply, "malformed request");
        zmsg_addstr(reply, "");
        zmsg_addmem(reply, "", 0);
        zmsg_send(&reply, self->handler);
    } else {
        s_domain_t *d = s_domain(self, domain, false);
        char user[S_Z85_LEN + 1 + 256] = "";
        const char *refusal = NULL;
        if (strcmp(mechanism, "CURVE") == 0) {
            zframe_t *credential = zmsg_pop(request);
            if (!credential || zframe_size(credential) != 32)
                refusal = "bad CURVE credentials";
            else if (!zmq_z85_encode(user, zframe_data(credential), 32))
                refusal = "bad CURVE credentials";
            else if (!d || !zhash_lookup(d->keys, user))
                refusal = "CURVE key not allowed in this domain";
            zframe_destroy(&credential);
        } else if (strcmp(mechanism, "NULL") == 0) {
            if (d)
                refusal = "this domain needs CURVE";
            else
                snprintf(user, sizeof user, "%s", address);
        } else {
            refusal = "mechanism not served";
        }
        if (refusal) {
            self->stats.denied++;
            ob_debug("zap: %s %s from %s refused: %s", domain, mechanism, address, refusal);
        } else {
            self->stats.allowed++;
        }
        zmsg_t *reply = zmsg_new();
        zmsg_addstr(reply, "1.0");
        zmsg_append(reply, &request_id);
        zmsg_addstr(reply, refusal ? "400" : "200");
        zmsg_addstr(reply, refusal ? refusal : "OK");
        zmsg_addstr(reply, refusal ? "" : user);
        zmsg_addmem(reply, "", 0);
        zmsg_send(&reply, self->handler);
    }
    zframe_destroy(&request_id);
    zstr_free(&version);
    zstr_free(&domain);
    zstr_free(&address);
    zstr_free(&identity);
    zstr_free(&mechanism);
    zmsg_destroy(&request);
}

/* Returns false on $TERM. */
static bool s_on_command(s_server_t *self)
{
    zmsg_t *msg = zmsg_recv(self->pipe);
    if (!msg)
        return false;
    char *command = zmsg_popstr(msg);
    bool go_on = true;
    if (!command || strcmp(command, "$TERM") == 0) {
        go_on = false;
    } else if (strcmp(command, "ALLOW") == 0 || strcmp(command, "CURVE") == 0) {
        char *domain = zmsg_popstr(msg);
        char *key = strcmp(command, "ALLOW") == 0 ? zmsg_popstr(msg) : NULL;
        int rc =
            domain && (key || strcmp(command, "CURVE") == 0) ? s_cmd_allow(self, domain, key) : -1;
        zsock_signal(self->pipe, rc == 0 ? 0 : 1);
        zstr_free(&domain);
        zstr_free(&key);
    } else if (strcmp(command, "DROP") == 0) {
        char *domain = zmsg_popstr(msg);
        s_domain_t *d = domain ? s_domain(self, domain, false) : NULL;
        if (d) {
            zhash_destroy(&d->keys);
            *d = self->domains[--self->domain_count];
        }
        zsock_signal(self->pipe, d ? 0 : 1);
        zstr_free(&domain);
    } else if (strcmp(command, "STATS") == 0) {
        zsock_send(self->pipe, "888", self->stats.allowed, self->stats.denied,
                   self->stats.malformed);
    } else {
        ob_warn("zap: unknown command %s", command); /* a programmer's error */
        zsock_signal(self->pipe, 1);
    }
    zstr_free(&command);
    zmsg_destroy(&msg);
    return go_on;
}

static void s_server(zsock_t *pipe, void *args)
{
    (void)args;
    s_server_t self = {.pipe = pipe};
    self.handler = zsock_new(ZMQ_REP);
    bool bound = self.handler && zsock_bind(self.handler, S_ZAP_ENDPOINT) == 0;
    zsock_signal(pipe, 0); /* zactor_new returns */
    zsock_signal(pipe, bound ? 0 : 1);
    zpoller_t *poller = bound ? zpoller_new(pipe, self.handler, NULL) : zpoller_new(pipe, NULL);
    /* Only the owner ends the handler ($TERM from ob_zap_destroy), or the
       context going away. A SIGTERM (zsys_interrupted) or any signal's
       EINTR used to end it too, while its owner still ran: a net draining
       its peers then refused every CURVE handshake, and the owner's next
       command blocked forever on a pipe nobody read (test_zap hung so,
       under load, in CI). */
    if (poller)
        zpoller_set_nonstop(poller, true);
    while (poller) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe) {
            if (!s_on_command(&self))
                break;
        } else if (which == self.handler) {
            s_on_request(&self);
        } else if (zpoller_terminated(poller) && zmq_errno() == ETERM) {
            break;
        }
    }
    zpoller_destroy(&poller);
    /* Unbound here, the inproc name is free when ob_zap_destroy returns
       (libzmq unregisters it at once); a closed socket frees it only once
       the reaper gets to it, and a handler made meanwhile cannot bind. */
    if (bound)
        zsock_unbind(self.handler, S_ZAP_ENDPOINT);
    zsock_destroy(&self.handler);
    for (size_t i = 0; i < self.domain_count; i++)
        zhash_destroy(&self.domains[i].keys);
}

/* --- the owner's side ------------------------------------------------------- */

ob_zap_t *ob_zap_new(ob_why_t *why)
{
    ob_zap_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_why(why, "zap: out of memory");
        return NULL;
    }
    pthread_mutex_lock(&s_shared.lock);
    if (s_shared.users == 0) {
        assert(!s_shared.actor && s_shared.claim_count == 0);
        s_shared.broken = false;
        s_shared.actor = zactor_new(s_server, NULL);
        if (s_shared.actor) {
            zsock_set_sndtimeo(s_shared.actor, S_COMMAND_MS);
            zsock_set_rcvtimeo(s_shared.actor, S_COMMAND_MS);
        }
        if (!s_shared.actor || zsock_wait(s_shared.actor) != 0) {
            zactor_destroy(&s_shared.actor);
            pthread_mutex_unlock(&s_shared.lock);
            free(self);
            ob_why(why,
                   "zap: cannot bind the ZAP handler %s: another handler, not obcast's, is "
                   "bound in this process",
                   S_ZAP_ENDPOINT);
            return NULL;
        }
    }
    s_shared.users++;
    pthread_mutex_unlock(&s_shared.lock);
    return self;
}

/* One command and its status: 0 done, 1 refused, -1 no answer (the
   handler is gone; every later command fails at once rather than reading
   an answer meant for an earlier one). Called with the lock held. */
static int s_command(const char *command, const char *domain, const char *key)
{
    if (s_shared.broken)
        return -1;
    int rc = key ? zstr_sendx(s_shared.actor, command, domain, key, NULL)
                 : zstr_sendx(s_shared.actor, command, domain, NULL);
    int status = rc == 0 ? zsock_wait(s_shared.actor) : -1;
    if (status < 0)
        s_shared.broken = true;
    return status;
}

void ob_zap_destroy(ob_zap_t **self_p)
{
    assert(self_p);
    ob_zap_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&s_shared.lock);
    assert(s_shared.users > 0);
    for (size_t i = 0; i < s_shared.claim_count;) {
        if (s_shared.claims[i].owner == self) {
            if (s_shared.users > 1)
                s_command("DROP", s_shared.claims[i].name, NULL);
            s_shared.claims[i] = s_shared.claims[--s_shared.claim_count];
        } else {
            i++;
        }
    }
    if (--s_shared.users == 0) {
        assert(s_shared.claim_count == 0);
        zactor_destroy(&s_shared.actor);
    }
    pthread_mutex_unlock(&s_shared.lock);
    free(self);
    *self_p = NULL;
}

/* Makes `domain` this handle's, or refuses if another handle owns it.
   Called with the lock held. 0 ok, -1 another owner, -2 too many. */
static int s_claim(const ob_zap_t *self, const char *domain)
{
    for (size_t i = 0; i < s_shared.claim_count; i++)
        if (strcmp(s_shared.claims[i].name, domain) == 0)
            return s_shared.claims[i].owner == self ? 0 : -1;
    if (s_shared.claim_count == OB_ZAP_DOMAINS_MAX || strlen(domain) >= OB_ZAP_DOMAIN_MAX)
        return -2;
    snprintf(s_shared.claims[s_shared.claim_count].name, OB_ZAP_DOMAIN_MAX, "%s", domain);
    s_shared.claims[s_shared.claim_count++].owner = self;
    return 0;
}

/* A command on one of this handle's domains: 0 done, 1 refused, -1 no
   answer, -2 the domain is another handle's. */
static int s_domain_command(const ob_zap_t *self, const char *command, const char *domain,
                            const char *key)
{
    pthread_mutex_lock(&s_shared.lock);
    int claim = s_claim(self, domain);
    int status = claim == -1 ? -2 : claim == -2 ? 1 : s_command(command, domain, key);
    pthread_mutex_unlock(&s_shared.lock);
    return status;
}

int ob_zap_allow(ob_zap_t *self, const char *domain, const char *z85_key, ob_why_t *why)
{
    int status = s_domain_command(self, "ALLOW", domain, z85_key);
    if (status == -2)
        return ob_why(why, "zap: domain '%s' is another part of this process's", domain);
    if (status < 0)
        return ob_why(why, "zap: cannot allow '%s' in domain '%s': the ZAP handler did not answer",
                      z85_key, domain);
    if (status > 0)
        return ob_why(why,
                      "zap: cannot allow '%s' in domain '%s': not a Z85 CURVE key, or the "
                      "list is full (%d keys, %d domains at most)",
                      z85_key, domain, OB_ZAP_KEYS_MAX, OB_ZAP_DOMAINS_MAX);
    return 0;
}

int ob_zap_curve_domain(ob_zap_t *self, const char *domain, ob_why_t *why)
{
    int status = s_domain_command(self, "CURVE", domain, NULL);
    if (status == -2)
        return ob_why(why, "zap: domain '%s' is another part of this process's", domain);
    if (status < 0)
        return ob_why(why, "zap: cannot make domain '%s': the ZAP handler did not answer", domain);
    if (status > 0)
        return ob_why(why, "zap: cannot make domain '%s' (%d domains at most)", domain,
                      OB_ZAP_DOMAINS_MAX);
    return 0;
}

int ob_zap_allow_folder(ob_zap_t *self, const char *domain, const char *what, const char *folder,
                        size_t *count, ob_why_t *why)
{
    *count = 0;
    zdir_t *dir = zdir_new(folder, NULL);
    if (!dir)
        return ob_why(why, "%s %s: not a readable folder", what, folder);
    zfile_t **files = (zfile_t **)zdir_flatten(dir);
    int rc = ob_zap_curve_domain(self, domain, why);
    for (size_t i = 0; rc == 0 && files && files[i]; i++) {
        const char *name = zfile_filename(files[i], NULL);
        size_t len = strlen(name);
        if (len >= 7 && strcmp(name + len - 7, "_secret") == 0)
            continue; /* a certificate's secret half: its public half is listed */
        zcert_t *cert = zcert_load(name);
        if (cert) {
            rc = ob_zap_allow(self, domain, zcert_public_txt(cert), why);
            (*count)++;
        }
        zcert_destroy(&cert);
    }
    zdir_flatten_free(&files);
    zdir_destroy(&dir);
    if (rc == 0 && *count == 0)
        rc = ob_why(why, "%s %s: holds no CURVE certificate", what, folder);
    return rc;
}

ob_zap_stats_t ob_zap_stats(ob_zap_t *self)
{
    assert(self);
    ob_zap_stats_t stats = {0};
    pthread_mutex_lock(&s_shared.lock);
    if (s_shared.broken || zstr_send(s_shared.actor, "STATS") != 0 ||
        zsock_recv(s_shared.actor, "888", &stats.allowed, &stats.denied, &stats.malformed) != 0) {
        s_shared.broken = true;
        stats = (ob_zap_stats_t){0};
    }
    pthread_mutex_unlock(&s_shared.lock);
    return stats;
}

/* A draft option of libzmq 4.3 that Debian's build serves. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

int ob_zap_enforce(zsock_t *sock, const char *domain, ob_why_t *why)
{
    zsock_set_zap_domain(sock, domain);
    int on = 1;
    if (zmq_setsockopt(zsock_resolve(sock), ZMQ_ZAP_ENFORCE_DOMAIN, &on, sizeof on) != 0)
        return ob_why(why,
                      "zap: this libzmq cannot refuse connections when no ZAP handler answers "
                      "(ZMQ_ZAP_ENFORCE_DOMAIN: %s); refusing to serve domain '%s' without it",
                      zmq_strerror(zmq_errno()), domain);
    return 0;
}
