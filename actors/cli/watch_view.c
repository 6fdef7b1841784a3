#include "watch_view.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX       64
#define S_SEQUENCERS_MAX 256
#define S_ACTORS_MAX     64
#define S_PEERS_MAX      256
#define S_DROPS_MAX      64
#define S_SAMPLES        12 /* rate samples, one a second: the window and a spare */
#define S_SNAPSHOTS      12 /* latency histograms, one a heartbeat */
#define S_BUCKETS_MAX    512
#define S_WINDOW_MS      10000
/* Actors publish metrics each second: three missed is worth showing. */
#define S_SILENT_MS 3000

typedef struct {
    uint64_t at_ms, height;
} s_sample_t;

typedef struct {
    char name[S_NAME_MAX];
    uint64_t height, lock_ms;
    s_sample_t samples[S_SAMPLES];
    size_t sample_count, sample_next;
} s_sequencer_t;

typedef struct {
    char name[S_NAME_MAX];
    uint32_t instance;
    bool heard;
    uint64_t heartbeat_ms;
    char event[16]; /* the supervisor's last word on it: spawn, exit, ... */
    uint64_t event_ms;
    uint64_t restarts;
} s_actor_t;

typedef struct {
    char name[S_NAME_MAX];
    bool connected;
} s_peer_t;

typedef struct {
    char error[S_NAME_MAX];
    uint64_t count;
} s_drop_t;

typedef struct {
    uint64_t at_ms;
    size_t count;
    uint64_t value[S_BUCKETS_MAX], n[S_BUCKETS_MAX];
} s_snapshot_t;

struct _ob_watch_view_t {
    char node[S_NAME_MAX];
    uint64_t epoch;
    uint64_t events, malformed, not_stored;
    bool heard;
    uint64_t last_event_ms;
    s_sequencer_t sequencers[S_SEQUENCERS_MAX];
    size_t sequencer_count;
    s_actor_t actors[S_ACTORS_MAX];
    size_t actor_count;
    s_peer_t peers[S_PEERS_MAX];
    size_t peer_count;
    s_drop_t drops[S_DROPS_MAX];
    size_t drop_count;
    s_snapshot_t snapshots[S_SNAPSHOTS];
    size_t snapshot_count, snapshot_next;
};

ob_watch_view_t *ob_watch_view_new(const char *node)
{
    ob_watch_view_t *self = calloc(1, sizeof *self);
    if (self && node)
        snprintf(self->node, sizeof self->node, "%s", node);
    return self;
}

void ob_watch_view_destroy(ob_watch_view_t **self_p)
{
    assert(self_p);
    free(*self_p);
    *self_p = NULL;
}

/* --- reading events ---------------------------------------------------------------- */

static const char *s_string(json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));
    return value && strlen(value) < S_NAME_MAX ? value : NULL;
}

static bool s_u64(json_t *object, const char *key, uint64_t *out)
{
    json_t *value = json_object_get(object, key);
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return false;
    *out = (uint64_t)json_integer_value(value);
    return true;
}

/* The row named `name` of a table of `count` rows of `size` bytes whose
   first member is the name; made if missing and there is room, else NULL
   (counted). */
static void *s_row(ob_watch_view_t *self, void *rows, size_t *count, size_t cap, size_t size,
                   const char *name)
{
    for (size_t i = 0; i < *count; i++) {
        char *row = (char *)rows + i * size;
        if (strcmp(row, name) == 0)
            return row;
    }
    if (*count == cap) {
        self->not_stored++;
        return NULL;
    }
    char *row = (char *)rows + (*count)++ * size;
    memset(row, 0, size);
    snprintf(row, S_NAME_MAX, "%s", name);
    return row;
}

static s_actor_t *s_actor(ob_watch_view_t *self, const char *name, uint32_t instance)
{
    for (size_t i = 0; i < self->actor_count; i++)
        if (strcmp(self->actors[i].name, name) == 0 && self->actors[i].instance == instance)
            return &self->actors[i];
    if (self->actor_count == S_ACTORS_MAX) {
        self->not_stored++;
        return NULL;
    }
    s_actor_t *actor = &self->actors[self->actor_count++];
    memset(actor, 0, sizeof *actor);
    snprintf(actor->name, sizeof actor->name, "%s", name);
    actor->instance = instance;
    return actor;
}

static void s_on_lock(ob_watch_view_t *self, json_t *event, uint64_t now_ms)
{
    const char *name = s_string(event, "sequencer_name");
    uint64_t height;
    if (!name || !s_u64(event, "height", &height))
        return;
    s_sequencer_t *s =
        s_row(self, self->sequencers, &self->sequencer_count, S_SEQUENCERS_MAX, sizeof *s, name);
    if (!s)
        return;
    if (height + 1 > s->height)
        s->height = height + 1; /* heights certified: 0..height */
    s->lock_ms = now_ms;
}

static void s_on_latency(ob_watch_view_t *self, json_t *histogram, uint64_t now_ms)
{
    json_t *buckets = json_object_get(histogram, "buckets");
    if (!json_is_array(buckets))
        return;
    s_snapshot_t *snap = &self->snapshots[self->snapshot_next];
    self->snapshot_next = (self->snapshot_next + 1) % S_SNAPSHOTS;
    if (self->snapshot_count < S_SNAPSHOTS)
        self->snapshot_count++;
    snap->at_ms = now_ms;
    snap->count = 0;
    size_t index;
    json_t *bucket;
    json_array_foreach(buckets, index, bucket)
    {
        json_t *value = json_array_get(bucket, 0), *n = json_array_get(bucket, 1);
        if (snap->count == S_BUCKETS_MAX || !json_is_integer(value) || !json_is_integer(n) ||
            json_integer_value(value) < 0 || json_integer_value(n) < 0)
            continue;
        snap->value[snap->count] = (uint64_t)json_integer_value(value);
        snap->n[snap->count++] = (uint64_t)json_integer_value(n);
    }
}

static void s_on_metrics(ob_watch_view_t *self, json_t *event, uint64_t now_ms)
{
    const char *actor_name = s_string(event, "actor");
    uint64_t instance = 0;
    s_u64(event, "instance", &instance);
    if (!actor_name || instance > UINT32_MAX)
        return;
    s_actor_t *actor = s_actor(self, actor_name, (uint32_t)instance);
    if (actor) {
        actor->heard = true;
        actor->heartbeat_ms = now_ms;
    }
    if (strcmp(actor_name, "journal") == 0) {
        s_u64(event, "epoch", &self->epoch);
        json_t *latency = json_object_get(event, "proposal_to_certificate_latency");
        if (json_is_object(latency))
            s_on_latency(self, latency, now_ms);
    } else if (strcmp(actor_name, "net") == 0) {
        const char *name;
        json_t *peer;
        json_object_foreach(json_object_get(event, "peers"), name, peer)
        {
            uint64_t connected;
            s_peer_t *p =
                strlen(name) < S_NAME_MAX && s_u64(peer, "connected", &connected)
                    ? s_row(self, self->peers, &self->peer_count, S_PEERS_MAX, sizeof *p, name)
                    : NULL;
            if (p)
                p->connected = connected != 0;
        }
    }
}

static void s_on_actor(ob_watch_view_t *self, json_t *event, uint64_t now_ms)
{
    const char *name = s_string(event, "actor"), *what = s_string(event, "event");
    uint64_t instance = 0;
    s_u64(event, "instance", &instance);
    s_actor_t *actor =
        name && what && instance <= UINT32_MAX ? s_actor(self, name, (uint32_t)instance) : NULL;
    if (!actor)
        return;
    snprintf(actor->event, sizeof actor->event, "%s", what);
    actor->event_ms = now_ms;
    if (strcmp(what, "restart") == 0)
        actor->restarts++;
}

static void s_on_peer(ob_watch_view_t *self, json_t *event)
{
    const char *name = s_string(event, "peer"), *what = s_string(event, "event");
    if (!name || !what)
        return;
    bool up = strcmp(what, "connected") == 0, down = strcmp(what, "disconnected") == 0;
    s_peer_t *p = up || down
                      ? s_row(self, self->peers, &self->peer_count, S_PEERS_MAX, sizeof *p, name)
                      : NULL;
    if (p)
        p->connected = up;
}

static void s_on_drop(ob_watch_view_t *self, json_t *event)
{
    const char *error = s_string(event, "error");
    uint64_t count = 1;
    s_u64(event, "count", &count);
    s_drop_t *d =
        error ? s_row(self, self->drops, &self->drop_count, S_DROPS_MAX, sizeof *d, error) : NULL;
    if (d)
        d->count += count;
}

int ob_watch_view_feed(ob_watch_view_t *self, const char *topic, const char *json, uint64_t now_ms)
{
    assert(self && topic && json);
    json_t *event = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(event)) {
        json_decref(event);
        self->malformed++;
        return -1;
    }
    self->events++;
    self->heard = true;
    self->last_event_ms = now_ms;
    const char *node = s_string(event, "node");
    if (node)
        snprintf(self->node, sizeof self->node, "%s", node);
    if (strcmp(topic, "lock") == 0)
        s_on_lock(self, event, now_ms);
    else if (strcmp(topic, "metrics") == 0)
        s_on_metrics(self, event, now_ms);
    else if (strcmp(topic, "actor") == 0)
        s_on_actor(self, event, now_ms);
    else if (strcmp(topic, "peer") == 0)
        s_on_peer(self, event);
    else if (strcmp(topic, "drop") == 0)
        s_on_drop(self, event);
    json_decref(event);
    return 0;
}

/* --- drawing ----------------------------------------------------------------------- */

typedef struct {
    char *out;
    size_t cap, len;
} s_screen_t;

__attribute__((format(printf, 2, 3))) static void s_put(s_screen_t *screen, const char *fmt, ...)
{
    if (screen->len + 1 >= screen->cap)
        return;
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(screen->out + screen->len, screen->cap - screen->len, fmt, args);
    va_end(args);
    if (n > 0)
        screen->len +=
            (size_t)n < screen->cap - screen->len ? (size_t)n : screen->cap - screen->len - 1;
}

static void s_age(char *out, size_t cap, uint64_t now_ms, uint64_t then_ms)
{
    uint64_t ms = now_ms > then_ms ? now_ms - then_ms : 0;
    snprintf(out, cap, "%llu.%llu s ago", (unsigned long long)(ms / 1000),
             (unsigned long long)(ms % 1000 / 100));
}

static void s_sample(s_sequencer_t *s, uint64_t now_ms)
{
    size_t last = (s->sample_next + S_SAMPLES - 1) % S_SAMPLES;
    if (s->sample_count && now_ms < s->samples[last].at_ms + 1000)
        return;
    s->samples[s->sample_next] = (s_sample_t){now_ms, s->height};
    s->sample_next = (s->sample_next + 1) % S_SAMPLES;
    if (s->sample_count < S_SAMPLES)
        s->sample_count++;
}

/* Heights a second over the window: from the oldest sample inside it.
   -1 until two samples are half a second apart. */
static double s_rate(const s_sequencer_t *s, uint64_t now_ms)
{
    const s_sample_t *newest = &s->samples[(s->sample_next + S_SAMPLES - 1) % S_SAMPLES];
    const s_sample_t *oldest = NULL;
    for (size_t i = 0; i < s->sample_count; i++) {
        const s_sample_t *x = &s->samples[(s->sample_next + S_SAMPLES - 1 - i) % S_SAMPLES];
        if (x->at_ms + S_WINDOW_MS + 500 < now_ms)
            break;
        oldest = x;
    }
    if (!oldest || newest->at_ms < oldest->at_ms + 500)
        return -1;
    return (double)(newest->height - oldest->height) * 1000.0 /
           (double)(newest->at_ms - oldest->at_ms);
}

/* The q-quantile of the newest histogram less the one about a window
   before it (or of the newest alone), in µs; its count in *n. */
static uint64_t s_quantile(const ob_watch_view_t *self, double q, uint64_t *n)
{
    *n = 0;
    if (self->snapshot_count == 0)
        return 0;
    const s_snapshot_t *newest =
        &self->snapshots[(self->snapshot_next + S_SNAPSHOTS - 1) % S_SNAPSHOTS];
    const s_snapshot_t *base = NULL;
    for (size_t i = 1; i < self->snapshot_count; i++) {
        const s_snapshot_t *x =
            &self->snapshots[(self->snapshot_next + S_SNAPSHOTS - 1 - i) % S_SNAPSHOTS];
        base = x;
        if (x->at_ms + S_WINDOW_MS <= newest->at_ms)
            break;
    }
    uint64_t delta[S_BUCKETS_MAX];
    for (size_t i = 0; i < newest->count; i++) {
        uint64_t before = 0;
        for (size_t j = 0; base && j < base->count; j++)
            if (base->value[j] == newest->value[i])
                before = base->n[j];
        delta[i] = newest->n[i] > before ? newest->n[i] - before : 0;
        *n += delta[i];
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < newest->count; i++) {
        seen += delta[i];
        if (*n && (double)seen >= q * (double)*n)
            return newest->value[i];
    }
    return 0;
}

static const char *s_actor_state(const s_actor_t *a, uint64_t now_ms, char *buf, size_t cap)
{
    bool said_since = a->event[0] && (!a->heard || a->event_ms >= a->heartbeat_ms);
    if (said_since && strcmp(a->event, "spawn") != 0)
        return strcmp(a->event, "exit") == 0      ? "exited"
               : strcmp(a->event, "restart") == 0 ? "restarting"
               : strcmp(a->event, "give-up") == 0 ? "given up"
               : strcmp(a->event, "hung") == 0    ? "hung"
                                                  : a->event;
    if (!a->heard)
        return "starting";
    if (now_ms > a->heartbeat_ms + S_SILENT_MS) {
        snprintf(buf, cap, "silent %llu s",
                 (unsigned long long)((now_ms - a->heartbeat_ms) / 1000));
        return buf;
    }
    return "up";
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static int s_by_actor(const void *a, const void *b)
{
    const s_actor_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->instance > y->instance) - (x->instance < y->instance);
}

size_t ob_watch_view_render(ob_watch_view_t *self, uint64_t now_ms, char *out, size_t cap)
{
    assert(self && out && cap > 0);
    s_screen_t screen = {out, cap, 0};
    out[0] = '\0';
    char age[32], state[32];
    if (!self->heard) {
        s_put(&screen, "obcast watch: node %s: waiting for its first event\n",
              self->node[0] ? self->node : "?");
        return screen.len;
    }
    s_age(age, sizeof age, now_ms, self->last_event_ms);
    s_put(&screen, "obcast watch: node %s, epoch %llu, %llu events (last %s)   q quits\n\n",
          self->node[0] ? self->node : "?", (unsigned long long)self->epoch,
          (unsigned long long)self->events, age);

    qsort(self->sequencers, self->sequencer_count, sizeof self->sequencers[0], s_by_name);
    s_put(&screen, "%-20s %12s %10s  %s\n", "SEQUENCER", "CERTIFIED", "RATE/S", "LAST LOCK");
    if (self->sequencer_count == 0)
        s_put(&screen, "(no lock yet)\n");
    for (size_t i = 0; i < self->sequencer_count; i++) {
        s_sequencer_t *s = &self->sequencers[i];
        s_sample(s, now_ms);
        double rate = s_rate(s, now_ms);
        char rate_text[24] = "-";
        if (rate >= 0)
            snprintf(rate_text, sizeof rate_text, "%.1f", rate);
        s_age(age, sizeof age, now_ms, s->lock_ms);
        s_put(&screen, "%-20s %12llu %10s  %s\n", s->name, (unsigned long long)s->height, rate_text,
              age);
    }

    uint64_t n = 0, p50 = s_quantile(self, 0.50, &n), p99 = s_quantile(self, 0.99, &n);
    if (n)
        s_put(&screen,
              "\nLATENCY proposal to certificate, own chain, last 10 s: p50 %.2f ms  "
              "p99 %.2f ms  (%llu chunks)\n",
              (double)p50 / 1000.0, (double)p99 / 1000.0, (unsigned long long)n);
    else
        s_put(&screen, "\nLATENCY proposal to certificate, own chain, last 10 s: none certified\n");

    qsort(self->actors, self->actor_count, sizeof self->actors[0], s_by_actor);
    s_put(&screen, "\n%-14s %-14s %9s  %s\n", "ACTOR", "STATE", "RESTARTS", "HEARTBEAT");
    for (size_t i = 0; i < self->actor_count; i++) {
        const s_actor_t *a = &self->actors[i];
        char name[S_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s %u", a->name, a->instance);
        if (a->heard)
            s_age(age, sizeof age, now_ms, a->heartbeat_ms);
        else
            snprintf(age, sizeof age, "-");
        s_put(&screen, "%-14s %-14s %9llu  %s\n", name,
              s_actor_state(a, now_ms, state, sizeof state), (unsigned long long)a->restarts, age);
    }

    qsort(self->peers, self->peer_count, sizeof self->peers[0], s_by_name);
    s_put(&screen, "\n%-20s %s\n", "PEER", "STATE");
    if (self->peer_count == 0)
        s_put(&screen, "(none reported yet)\n");
    for (size_t i = 0; i < self->peer_count; i++)
        s_put(&screen, "%-20s %s\n", self->peers[i].name,
              self->peers[i].connected ? "connected" : "DISCONNECTED");

    qsort(self->drops, self->drop_count, sizeof self->drops[0], s_by_name);
    s_put(&screen, "\n%-28s %s\n", "DROPS (since watch began)", "COUNT");
    if (self->drop_count == 0)
        s_put(&screen, "(none)\n");
    for (size_t i = 0; i < self->drop_count; i++)
        s_put(&screen, "%-28s %llu\n", self->drops[i].error,
              (unsigned long long)self->drops[i].count);
    if (self->malformed || self->not_stored)
        s_put(&screen, "\n%llu events were not JSON objects; %llu rows did not fit\n",
              (unsigned long long)self->malformed, (unsigned long long)self->not_stored);
    return screen.len;
}
