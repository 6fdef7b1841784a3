/*  libobcast-client against a fake net: a real ROUTER socket in the test
    that reads each submit and answers as the node would (queued, assigned,
    locked, refused), and then as a broken node would (garbage, wrong
    kinds, wrong tags, wrong digests): those are ERROR events, never a
    crash, and the client keeps working after them. */
#include "testutil.h"

#include "batch.h"

#include "imsg.h"
#include "obcast_client.h"
#include "submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C_WAIT 5000 /* ms: generous; the answers are local */

typedef struct {
    char dir[64];
    char endpoint[128];
    zsock_t *router;
    obcast_client_t *client;
    zframe_t *peer; /* the client's routing id, from its last submit */
    ob_crypto_t *crypto;
} c_fixture_t;

static int s_setup(void **state)
{
    c_fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/obcast-client-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->endpoint, sizeof f->endpoint, "ipc://%s/submit", f->dir);
    f->router = zsock_new(ZMQ_ROUTER);
    if (!f->router || zsock_bind(f->router, "%s", f->endpoint) != 0)
        return -1;
    f->crypto = ob_crypto_new();
    return f->crypto ? 0 : -1;
}

static int s_teardown(void **state)
{
    c_fixture_t *f = *state;
    obcast_client_destroy(&f->client);
    zframe_destroy(&f->peer);
    zsock_destroy(&f->router);
    ob_crypto_destroy(&f->crypto);
    char path[128];
    snprintf(path, sizeof path, "%s/submit", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void s_connect_with(c_fixture_t *f, uint32_t max_outstanding, int32_t resend_ms)
{
    obcast_client_options_t options = {.max_outstanding = max_outstanding, .resend_ms = resend_ms};
    char error[256] = "";
    f->client = obcast_client_new(f->endpoint, &options, error, sizeof error);
    if (!f->client)
        fail_msg("client: %s", error);
}

/* Resends off: the tests that script every answer hear no resends. */
static void s_connect(c_fixture_t *f, uint32_t max_outstanding)
{
    s_connect_with(f, max_outstanding, -1);
}

/* The fake net reads one message; its frame goes to `frame` (NULL after
   `wait_ms` of silence), the sender's routing id to f->peer. */
static zframe_t *s_read_frame(c_fixture_t *f, int wait_ms, ob_imsg_t *decoded)
{
    zsock_set_rcvtimeo(f->router, wait_ms);
    zmsg_t *msg = zmsg_recv(f->router);
    if (!msg)
        return NULL;
    assert_int_equal(zmsg_size(msg), 2);
    zframe_destroy(&f->peer);
    f->peer = zmsg_pop(msg);
    zframe_t *frame = zmsg_pop(msg);
    zmsg_destroy(&msg);
    assert_int_equal(ob_imsg_decode(decoded, zframe_data(frame), zframe_size(frame)), OB_OK);
    return frame;
}

/* The fake net reads one submit: its tag, and its data into `data`. */
static uint64_t s_read_submit(c_fixture_t *f, uint8_t *data, size_t cap, size_t *len)
{
    ob_imsg_t decoded;
    zframe_t *frame = s_read_frame(f, C_WAIT, &decoded);
    assert_non_null(frame);
    assert_int_equal(decoded.type, OB_IMSG_SUBMIT);
    assert_true(decoded.u.submit.data.len <= cap);
    memcpy(data, decoded.u.submit.data.data, decoded.u.submit.data.len);
    *len = decoded.u.submit.data.len;
    uint64_t tag = decoded.u.submit.tag;
    zframe_destroy(&frame);
    return tag;
}

static void s_send_raw(c_fixture_t *f, const void *bytes, size_t len)
{
    zmsg_t *msg = zmsg_new();
    zmsg_append(msg, &(zframe_t *){zframe_dup(f->peer)});
    zmsg_addmem(msg, bytes, len);
    assert_int_equal(zmsg_send(&msg, f->router), 0);
}

static void s_send(c_fixture_t *f, const ob_imsg_t *answer)
{
    size_t len = ob_imsg_encoded_len(answer), written = 0;
    uint8_t *bytes = malloc(len);
    assert_non_null(bytes);
    assert_int_equal(ob_imsg_encode(answer, bytes, len, &written), 0);
    s_send_raw(f, bytes, written);
    free(bytes);
}

static obcast_client_event_t s_next(c_fixture_t *f, obcast_client_event_kind_t kind)
{
    obcast_client_event_t event;
    int rc = obcast_client_next(f->client, C_WAIT, &event);
    if (rc != 1)
        fail_msg("next: %d (%s)", rc, obcast_client_error(f->client));
    if (event.kind != kind)
        fail_msg("a %s event, not %s: %s", obcast_client_event_name(event.kind),
                 obcast_client_event_name(kind), event.error);
    return event;
}

static uint64_t s_submit(c_fixture_t *f, const char *text)
{
    uint64_t tag = 0;
    assert_int_equal(obcast_client_submit(f->client, text, strlen(text), &tag), 0);
    return tag;
}

static void s_queued(c_fixture_t *f, uint64_t tag)
{
    ob_imsg_t answer = {.type = OB_IMSG_SUBMIT_QUEUED};
    answer.u.submit_queued.tag = tag;
    s_send(f, &answer);
}

static void s_assigned_at(c_fixture_t *f, uint64_t tag, const uint8_t sequencer[32],
                          uint64_t height, uint32_t index, const uint8_t digest[32])
{
    ob_imsg_t answer = {.type = OB_IMSG_SUBMIT_ASSIGNED};
    answer.u.submit_assigned.tag = tag;
    memcpy(answer.u.submit_assigned.sequencer, sequencer, 32);
    answer.u.submit_assigned.height = height;
    answer.u.submit_assigned.index = index;
    memcpy(answer.u.submit_assigned.payload, digest, 32);
    s_send(f, &answer);
}

static void s_assigned(c_fixture_t *f, uint64_t tag, const uint8_t sequencer[32], uint64_t height,
                       const uint8_t digest[32])
{
    s_assigned_at(f, tag, sequencer, height, 0, digest);
}

static size_t s_lock(const ob_chunk_t *chunk, uint64_t epoch, uint8_t *out, size_t cap)
{
    uint8_t entries[3 * OB_CERT_ENTRY_LEN];
    uint8_t signature[64];
    for (uint16_t i = 0; i < 3; i++) {
        memset(signature, 0x30 + i, sizeof signature);
        ob_cert_entry_write(entries + OB_CERT_ENTRY_LEN * i, (uint16_t)(2 * i), signature);
    }
    ob_lock_t lock = {.chunk = *chunk, .epoch = epoch, .cert = {.count = 3, .entries = entries}};
    size_t written = 0;
    assert_int_equal(ob_lock_encode(&lock, out, cap, &written), 0);
    return written;
}

static void s_locked_at(c_fixture_t *f, uint64_t tag, uint32_t index, const uint8_t *lock,
                        size_t len)
{
    ob_imsg_t answer = {.type = OB_IMSG_SUBMIT_LOCKED};
    answer.u.submit_locked.tag = tag;
    answer.u.submit_locked.index = index;
    answer.u.submit_locked.lock = (ob_blob_t){lock, (uint32_t)len};
    s_send(f, &answer);
}

static void s_locked(c_fixture_t *f, uint64_t tag, const uint8_t *lock, size_t len)
{
    s_locked_at(f, tag, 0, lock, len);
}

static ob_chunk_t s_chunk(c_fixture_t *f, uint8_t sequencer_byte, uint64_t height,
                          const void *payload, size_t len)
{
    ob_chunk_t chunk;
    memset(chunk.sequencer, sequencer_byte, 32);
    chunk.height = height;
    ob_sha256(f->crypto, payload, len, chunk.payload);
    return chunk;
}

/* ======================================================================= */

static void test_client_queued_assigned_locked(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    uint64_t tag = s_submit(f, "hello, node");
    assert_int_equal(tag, 1);
    assert_int_equal(obcast_client_outstanding(f->client), 1);
    uint8_t data[64];
    size_t len = 0;
    assert_int_equal(s_read_submit(f, data, sizeof data, &len), tag);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "hello, node", 11);

    s_queued(f, tag);
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_QUEUED);
    assert_int_equal(event.tag, tag);

    ob_chunk_t chunk = s_chunk(f, 0xab, 17, "hello, node", 11);
    s_assigned(f, tag, chunk.sequencer, 17, chunk.payload);
    event = s_next(f, OBCAST_EVENT_ASSIGNED);
    assert_int_equal(event.tag, tag);
    assert_int_equal(event.height, 17);
    assert_memory_equal(event.sequencer, chunk.sequencer, 32);
    assert_string_equal(event.sequencer_hex,
                        "abababababababababababababababababababababababababababababababab");
    assert_memory_equal(event.digest, chunk.payload, 32);
    assert_int_equal(obcast_client_outstanding(f->client), 1);

    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, 3, lock, sizeof lock);
    s_locked(f, tag, lock, lock_len);
    event = s_next(f, OBCAST_EVENT_LOCKED);
    assert_int_equal(event.tag, tag);
    assert_int_equal(event.height, 17);
    assert_int_equal(event.epoch, 3);
    assert_int_equal(event.signers, 3);
    assert_int_equal(event.lock_len, lock_len);
    assert_memory_equal(event.lock, lock, lock_len);
    assert_int_equal(obcast_client_outstanding(f->client), 0);

    /* Nothing more: a timeout. */
    assert_int_equal(obcast_client_next(f->client, 20, &event), 0);
}

static void test_client_locked_without_assigned(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    uint64_t tag = s_submit(f, "straight to the lock");
    uint8_t data[64];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    ob_chunk_t chunk = s_chunk(f, 1, 0, data, len);
    uint8_t lock[512];
    s_locked(f, tag, lock, s_lock(&chunk, 1, lock, sizeof lock));
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_LOCKED);
    assert_int_equal(event.height, 0);
    assert_memory_equal(event.sequencer, chunk.sequencer, 32);
}

static void test_client_refused(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    uint64_t tags[5];
    for (int i = 0; i < 5; i++)
        tags[i] = s_submit(f, "refuse me");
    for (int i = 0; i < 5; i++) {
        uint8_t data[64];
        size_t len = 0;
        assert_int_equal(s_read_submit(f, data, sizeof data, &len), tags[i]);
        ob_imsg_t answer = {.type = OB_IMSG_SUBMIT_REFUSED};
        answer.u.submit_refused.tag = tags[i];
        answer.u.submit_refused.reason = (uint8_t)(i + 1);
        s_send(f, &answer);
    }
    const char *names[5] = {"too_large", "queue_full", "not_sequencer", "app_attached",
                            "malformed"};
    for (int i = 0; i < 5; i++) {
        obcast_client_event_t event = s_next(f, OBCAST_EVENT_REFUSED);
        assert_int_equal(event.tag, tags[i]);
        assert_int_equal(event.reason, i + 1);
        assert_string_equal(event.reason_name, names[i]);
    }
    assert_int_equal(obcast_client_outstanding(f->client), 0);

    /* A reason this client does not know is still told. */
    uint64_t tag = s_submit(f, "again");
    uint8_t data[64];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    ob_imsg_t answer = {.type = OB_IMSG_SUBMIT_REFUSED};
    answer.u.submit_refused.tag = tag;
    answer.u.submit_refused.reason = 200;
    s_send(f, &answer);
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_REFUSED);
    assert_string_equal(event.reason_name, "unknown");
}

static void test_client_malformed_answers(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    uint64_t tag = s_submit(f, "the real one");
    uint8_t data[64];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);

    s_send_raw(f, "\x01", 1); /* too short for a header */
    s_next(f, OBCAST_EVENT_ERROR);
    s_send_raw(f, "garbage!garbage!", 16);
    s_next(f, OBCAST_EVENT_ERROR);

    /* Two frames for one answer. */
    zmsg_t *two = zmsg_new();
    zmsg_append(two, &(zframe_t *){zframe_dup(f->peer)});
    zmsg_addmem(two, "a", 1);
    zmsg_addmem(two, "b", 1);
    assert_int_equal(zmsg_send(&two, f->router), 0);
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "2 frames"));

    /* Not an answer to a submit. */
    ob_imsg_t attach = {.type = OB_IMSG_APP_ATTACH};
    s_send(f, &attach);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "app_attach"));
    ob_imsg_t submit = {.type = OB_IMSG_SUBMIT};
    submit.u.submit.tag = tag;
    s_send(f, &submit);
    s_next(f, OBCAST_EVENT_ERROR);

    /* A tag never submitted. */
    s_queued(f, tag + 100);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_int_equal(event.tag, tag + 100);
    assert_non_null(strstr(event.error, "not outstanding"));

    /* A truncated answer, and one with a trailing byte. */
    ob_imsg_t queued = {.type = OB_IMSG_SUBMIT_QUEUED};
    queued.u.submit_queued.tag = tag;
    uint8_t bytes[3 + 8 + 1];
    size_t written = 0;
    assert_int_equal(ob_imsg_encode(&queued, bytes, sizeof bytes, &written), 0);
    s_send_raw(f, bytes, written - 1);
    s_next(f, OBCAST_EVENT_ERROR);
    bytes[written] = 0;
    s_send_raw(f, bytes, written + 1);
    s_next(f, OBCAST_EVENT_ERROR);

    /* A chunk whose payload is the payload itself holds it as entry 0
       only. */
    ob_chunk_t right = s_chunk(f, 2, 4, data, len);
    s_assigned_at(f, tag, right.sequencer, 4, 1, right.payload);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_int_equal(event.tag, tag);
    uint8_t lock[512];
    s_locked_at(f, tag, 2, lock, s_lock(&right, 1, lock, sizeof lock));
    s_next(f, OBCAST_EVENT_ERROR);

    /* A Lock that does not decode: cut short, and indices out of order. */
    size_t lock_len = s_lock(&right, 1, lock, sizeof lock);
    s_locked(f, tag, lock, lock_len - 1);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "short"));
    uint8_t swapped[512];
    memcpy(swapped, lock, lock_len);
    size_t first = OB_CHUNK_LEN + 8 + 2;
    memcpy(swapped + first, lock + first + OB_CERT_ENTRY_LEN, OB_CERT_ENTRY_LEN);
    memcpy(swapped + first + OB_CERT_ENTRY_LEN, lock + first, OB_CERT_ENTRY_LEN);
    s_locked(f, tag, swapped, lock_len);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "cert_order"));

    /* Assigned here, then a Lock at another height. */
    s_assigned(f, tag, right.sequencer, 4, right.payload);
    s_next(f, OBCAST_EVENT_ASSIGNED);
    ob_chunk_t higher = right;
    higher.height = 5;
    s_locked(f, tag, lock, s_lock(&higher, 1, lock, sizeof lock));
    s_next(f, OBCAST_EVENT_ERROR);
    /* ... or on another chunk at that height. */
    ob_chunk_t wrong = s_chunk(f, 2, 4, "another payload", 15);
    s_locked(f, tag, lock, s_lock(&wrong, 1, lock, sizeof lock));
    s_next(f, OBCAST_EVENT_ERROR);

    /* Through all that the payload stayed outstanding, and its true Lock
       still lands. */
    assert_int_equal(obcast_client_outstanding(f->client), 1);
    s_locked(f, tag, lock, s_lock(&right, 1, lock, sizeof lock));
    event = s_next(f, OBCAST_EVENT_LOCKED);
    assert_int_equal(event.tag, tag);
    assert_int_equal(obcast_client_outstanding(f->client), 0);
}

/* Batched: the payload is entry `index` of a chunk whose payload is a
   batch (another digest than its own). ASSIGNED and LOCKED name the
   index; a Lock with another index is an error; a follow names it too;
   and the library checks inclusion against the batch's bytes. */
static void test_client_batched_and_inclusion(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    uint64_t tag = s_submit(f, "mine");
    uint8_t data[16];
    size_t data_len = 0;
    s_read_submit(f, data, sizeof data, &data_len);
    assert_int_equal(data_len, 4);
    const char *entries[3] = {"theirs", "mine", "more"};
    uint8_t batch[64];
    ob_batch_put_header(batch, 3);
    size_t batch_len = OB_BATCH_HEADER_LEN;
    for (int i = 0; i < 3; i++)
        ob_batch_put_entry(batch, &batch_len, (const uint8_t *)entries[i],
                           (uint32_t)strlen(entries[i]));
    ob_chunk_t chunk = s_chunk(f, 2, 6, batch, batch_len);
    s_assigned_at(f, tag, chunk.sequencer, 6, 1, chunk.payload);
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_ASSIGNED);
    assert_int_equal(event.index, 1);
    assert_int_equal(event.height, 6);
    assert_memory_equal(event.digest, chunk.payload, 32);
    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, 1, lock, sizeof lock);
    s_locked_at(f, tag, 2, lock, lock_len);
    s_next(f, OBCAST_EVENT_ERROR);
    s_locked_at(f, tag, 1, lock, lock_len);
    event = s_next(f, OBCAST_EVENT_LOCKED);
    assert_int_equal(event.index, 1);

    char error[OBCAST_CLIENT_ERROR_LEN];
    assert_int_equal(obcast_client_check_inclusion(event.lock, event.lock_len, batch, batch_len, 1,
                                                   "mine", 4, error, sizeof error),
                     0);
    assert_int_equal(obcast_client_check_inclusion(lock, lock_len, batch, batch_len, 0, "mine", 4,
                                                   error, sizeof error),
                     -1);
    assert_non_null(strstr(error, "entry 0"));
    assert_int_equal(obcast_client_check_inclusion(lock, lock_len, batch, batch_len, 3, "mine", 4,
                                                   error, sizeof error),
                     -1);
    assert_non_null(strstr(error, "no entry 3"));
    batch[batch_len - 1] ^= 1;
    assert_int_equal(obcast_client_check_inclusion(lock, lock_len, batch, batch_len, 1, "mine", 4,
                                                   error, sizeof error),
                     -1);
    assert_non_null(strstr(error, "not the Lock's payload"));
    batch[batch_len - 1] ^= 1;
    assert_int_equal(obcast_client_check_inclusion(lock, lock_len - 1, batch, batch_len, 1, "mine",
                                                   4, error, sizeof error),
                     -1);
    assert_non_null(strstr(error, "does not decode"));
    /* A chunk of one payload, batching off: the payload itself. */
    ob_chunk_t own = s_chunk(f, 2, 7, "solo", 4);
    lock_len = s_lock(&own, 1, lock, sizeof lock);
    assert_int_equal(obcast_client_check_inclusion(lock, lock_len, (const uint8_t *)"solo", 4, 0,
                                                   "solo", 4, NULL, 0),
                     0);
    assert_int_equal(obcast_client_check_inclusion(lock, lock_len, (const uint8_t *)"solo", 4, 1,
                                                   "solo", 4, error, sizeof error),
                     -1);
}

static void test_client_outstanding_cap(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 2);
    uint64_t a = s_submit(f, "a");
    uint64_t b = s_submit(f, "b");
    uint64_t tag = 0;
    assert_int_equal(obcast_client_submit(f->client, "c", 1, &tag), -1);
    assert_non_null(strstr(obcast_client_error(f->client), "outstanding"));
    assert_int_equal(obcast_client_outstanding(f->client), 2);

    /* Queued is not the end: only a refusal, a Lock or forgetting frees. */
    uint8_t data[8];
    size_t len = 0;
    assert_int_equal(s_read_submit(f, data, sizeof data, &len), a);
    s_queued(f, a);
    s_next(f, OBCAST_EVENT_QUEUED);
    assert_int_equal(obcast_client_submit(f->client, "c", 1, &tag), -1);

    assert_int_equal(obcast_client_forget(f->client, a), 0);
    assert_int_equal(obcast_client_forget(f->client, a), -1);
    uint64_t c = s_submit(f, "c");
    assert_int_equal(c, b + 1);
    assert_int_equal(obcast_client_outstanding(f->client), 2);
    assert_int_equal(s_read_submit(f, data, sizeof data, &len), b);
    assert_int_equal(s_read_submit(f, data, sizeof data, &len), c);
    assert_memory_equal(data, "c", 1);

    /* An answer for the forgotten one is an error now. */
    s_queued(f, a);
    s_next(f, OBCAST_EVENT_ERROR);
}

static void test_client_poll_fd(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    assert_true(obcast_client_fd(f->client) >= 0);
    assert_non_null(obcast_client_socket(f->client));
    assert_string_equal(obcast_client_endpoint(f->client), f->endpoint);
    uint64_t tag = s_submit(f, "polled");
    uint8_t data[16];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    s_queued(f, tag);
    zpoller_t *poller = zpoller_new(obcast_client_socket(f->client), NULL);
    assert_non_null(poller);
    assert_ptr_equal(zpoller_wait(poller, C_WAIT), obcast_client_socket(f->client));
    zpoller_destroy(&poller);
    obcast_client_event_t event;
    assert_int_equal(obcast_client_next(f->client, 0, &event), 1);
    assert_int_equal(event.kind, OBCAST_EVENT_QUEUED);
    assert_int_equal(obcast_client_next(f->client, 0, &event), 0);
}

/* --- resends: net restarts and forgets ---------------------------------- */

/* The fake net drops the first submit, as a net that crashed would; the
   client, hearing nothing for resend_ms, sends the same submit again
   under the same routing id, and goes on after the fake net itself
   restarts (a new ROUTER on the same endpoint). */
static void test_client_resends_after_silence(void **state)
{
    c_fixture_t *f = *state;
    s_connect_with(f, 0, 100);
    uint64_t tag = s_submit(f, "lost in a crash");
    uint8_t data[64];
    size_t len = 0;
    assert_int_equal(s_read_submit(f, data, sizeof data, &len), tag); /* dropped */
    zframe_t *first_id = zframe_dup(f->peer);
    assert_int_equal(zframe_size(first_id), 16);
    assert_true(zframe_data(first_id)[0] != 0);

    obcast_client_event_t event;
    assert_int_equal(obcast_client_next(f->client, 250, &event), 0); /* silence: it resends */
    assert_true(obcast_client_stats(f->client)->resubmits >= 1);
    assert_int_equal(obcast_client_stats(f->client)->submitted, 1);
    memset(data, 0, sizeof data);
    assert_int_equal(s_read_submit(f, data, sizeof data, &len), tag);
    assert_int_equal(len, 15);
    assert_memory_equal(data, "lost in a crash", 15);
    assert_true(zframe_eq(f->peer, first_id));

    /* The fake net restarts: its queue is gone, the client's id is not. */
    zsock_destroy(&f->router);
    f->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(f->router);
    assert_int_equal(zsock_bind(f->router, "%s", f->endpoint), 0);
    ob_imsg_t msg;
    zframe_t *frame = NULL;
    for (int i = 0; i < 50 && !frame; i++) {
        obcast_client_next(f->client, 100, &event); /* resends, with a growing wait */
        frame = s_read_frame(f, 0, &msg);
    }
    assert_non_null(frame);
    zframe_destroy(&frame);
    assert_int_equal(msg.type, OB_IMSG_SUBMIT);
    assert_int_equal(msg.u.submit.tag, tag);
    assert_true(zframe_eq(f->peer, first_id));
    zframe_destroy(&first_id);

    /* Heard at last; an answer to a later resend is no news, and no event. */
    s_queued(f, tag);
    event = s_next(f, OBCAST_EVENT_QUEUED);
    assert_int_equal(event.tag, tag);
    s_queued(f, tag);
    assert_int_equal(obcast_client_next(f->client, 50, &event), 0);
    assert_int_equal(obcast_client_outstanding(f->client), 1);
}

/* Assigned and then silent: the client asks net to follow it to its Lock
   (submit_follow), not to queue it again. */
static void test_client_follows_after_assigned(void **state)
{
    c_fixture_t *f = *state;
    s_connect_with(f, 0, 100);
    uint64_t tag = s_submit(f, "assigned, then silence");
    uint8_t data[64];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    ob_chunk_t chunk = s_chunk(f, 0xcd, 21, data, len);
    s_queued(f, tag);
    s_assigned(f, tag, chunk.sequencer, 21, chunk.payload);
    s_next(f, OBCAST_EVENT_QUEUED);
    s_next(f, OBCAST_EVENT_ASSIGNED);
    s_assigned(f, tag, chunk.sequencer, 21, chunk.payload); /* told again: no event */

    obcast_client_event_t event;
    ob_imsg_t msg;
    zframe_t *frame = NULL;
    for (int i = 0; i < 50 && !frame; i++) {
        assert_int_equal(obcast_client_next(f->client, 100, &event), 0);
        frame = s_read_frame(f, 0, &msg);
    }
    assert_non_null(frame);
    zframe_destroy(&frame);
    assert_int_equal(msg.type, OB_IMSG_SUBMIT_FOLLOW);
    assert_int_equal(msg.u.submit_follow.tag, tag);
    assert_int_equal(msg.u.submit_follow.height, 21);
    assert_int_equal(msg.u.submit_follow.index, 0);
    assert_memory_equal(msg.u.submit_follow.payload, chunk.payload, 32);
    assert_true(obcast_client_stats(f->client)->follows >= 1);
    assert_int_equal(obcast_client_stats(f->client)->resubmits, 0);

    uint8_t lock[512];
    s_locked(f, tag, lock, s_lock(&chunk, 2, lock, sizeof lock));
    event = s_next(f, OBCAST_EVENT_LOCKED);
    assert_int_equal(event.tag, tag);
    assert_int_equal(obcast_client_outstanding(f->client), 0);
    assert_int_equal(obcast_client_resend_in(f->client), -1); /* nothing left to resend */
}

/* A payload submitted after one that just moved waits on: the queue ahead
   of it moves. Resends off send nothing, ever. */
static void test_client_resend_timing(void **state)
{
    c_fixture_t *f = *state;
    s_connect_with(f, 0, 400);
    uint64_t a = s_submit(f, "ahead");
    uint64_t b = s_submit(f, "behind");
    uint8_t data[16];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    s_read_submit(f, data, sizeof data, &len);
    s_queued(f, a);
    s_queued(f, b);
    s_next(f, OBCAST_EVENT_QUEUED);
    s_next(f, OBCAST_EVENT_QUEUED);
    int in = obcast_client_resend_in(f->client);
    assert_true(in > 0 && in <= 400);
    /* "ahead" moves at 200 and 400 ms: at 600 ms, 200 ms past its own
       silence, "behind" still waits its turn, unresent. */
    ob_chunk_t chunk = s_chunk(f, 1, 1, "ahead", 5);
    obcast_client_event_t event;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(obcast_client_next(f->client, 200, &event), 0);
        if (i == 0) {
            s_assigned(f, a, chunk.sequencer, 1, chunk.payload);
            s_next(f, OBCAST_EVENT_ASSIGNED);
        }
        if (i == 1) {
            uint8_t lock[512];
            s_locked(f, a, lock, s_lock(&chunk, 1, lock, sizeof lock));
            s_next(f, OBCAST_EVENT_LOCKED);
        }
    }
    ob_imsg_t msg;
    assert_null(s_read_frame(f, 0, &msg));
    assert_int_equal(obcast_client_stats(f->client)->resubmits, 0);
    /* Then silence: "behind" is sent again. */
    zframe_t *frame = NULL;
    for (int i = 0; i < 50 && !frame; i++) {
        obcast_client_next(f->client, 100, &event);
        frame = s_read_frame(f, 0, &msg);
    }
    assert_non_null(frame);
    zframe_destroy(&frame);
    assert_int_equal(msg.u.submit.tag, b);

    obcast_client_destroy(&f->client);
    s_connect(f, 0);
    s_submit(f, "never again");
    s_read_submit(f, data, sizeof data, &len);
    assert_int_equal(obcast_client_next(f->client, 300, &event), 0);
    assert_null(s_read_frame(f, 0, &msg));
    assert_int_equal(obcast_client_resend_in(f->client), -1);
    assert_int_equal(obcast_client_stats(f->client)->resubmits, 0);
}

/* --- fetching ---------------------------------------------------------------- */

/* The fake net reads one fetch: its tag; it must ask (`sequencer`, `height`). */
static uint64_t s_read_fetch(c_fixture_t *f, const uint8_t sequencer[32], uint64_t height)
{
    ob_imsg_t decoded;
    zframe_t *frame = s_read_frame(f, C_WAIT, &decoded);
    assert_non_null(frame);
    zframe_destroy(&frame);
    assert_int_equal(decoded.type, OB_IMSG_FETCH);
    assert_memory_equal(decoded.u.fetch.sequencer, sequencer, 32);
    assert_int_equal(decoded.u.fetch.height, height);
    return decoded.u.fetch.tag;
}

static void s_fetch_found(c_fixture_t *f, uint64_t tag, const uint8_t *lock, size_t lock_len,
                          const void *data, size_t len)
{
    ob_imsg_t answer = {.type = OB_IMSG_FETCH_FOUND};
    answer.u.fetch_found.tag = tag;
    answer.u.fetch_found.lock = (ob_blob_t){lock, (uint32_t)lock_len};
    answer.u.fetch_found.data = (ob_blob_t){data, (uint32_t)len};
    s_send(f, &answer);
}

static void s_fetch_failed(c_fixture_t *f, uint64_t tag, uint8_t reason)
{
    ob_imsg_t answer = {.type = OB_IMSG_FETCH_FAILED};
    answer.u.fetch_failed.tag = tag;
    answer.u.fetch_failed.reason = reason;
    s_send(f, &answer);
}

static uint64_t s_ask(c_fixture_t *f, const uint8_t sequencer[32], uint64_t height)
{
    uint64_t tag = 0;
    assert_int_equal(obcast_client_fetch(f->client, sequencer, height, &tag), 0);
    assert_int_equal(s_read_fetch(f, sequencer, height), tag);
    return tag;
}

static void test_client_fetch_found(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    ob_chunk_t chunk = s_chunk(f, 0xcd, 41, "certified bytes", 15);
    uint64_t tag = s_ask(f, chunk.sequencer, 41);
    assert_int_equal(tag, 1);
    assert_int_equal(obcast_client_outstanding(f->client), 1);
    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, 2, lock, sizeof lock);
    s_fetch_found(f, tag, lock, lock_len, "certified bytes", 15);
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_FETCHED);
    assert_int_equal(event.tag, tag);
    assert_memory_equal(event.sequencer, chunk.sequencer, 32);
    assert_int_equal(event.height, 41);
    assert_int_equal(event.epoch, 2);
    assert_int_equal(event.signers, 3);
    assert_memory_equal(event.digest, chunk.payload, 32);
    assert_int_equal(event.lock_len, lock_len);
    assert_memory_equal(event.lock, lock, lock_len);
    assert_int_equal(event.data_len, 15);
    assert_memory_equal(event.data, "certified bytes", 15);
    assert_int_equal(obcast_client_outstanding(f->client), 0);
    assert_string_equal(obcast_client_event_name(event.kind), "fetched");

    /* Fetches and submits share one sequence of tags. */
    assert_int_equal(s_submit(f, "a payload"), 2);
    assert_int_equal(obcast_client_stats(f->client)->fetches, 1);
}

static void test_client_fetch_failed(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    uint8_t sequencer[32];
    memset(sequencer, 7, 32);
    const char *names[] = {"not_found", "busy", "malformed"};
    for (uint8_t reason = OB_FETCH_NOT_FOUND; reason <= OB_FETCH_MALFORMED; reason++) {
        uint64_t tag = s_ask(f, sequencer, 1000 + reason);
        s_fetch_failed(f, tag, reason);
        obcast_client_event_t event = s_next(f, OBCAST_EVENT_FETCH_FAILED);
        assert_int_equal(event.tag, tag);
        assert_int_equal(event.reason, reason);
        assert_string_equal(event.reason_name, names[reason - 1]);
    }
    assert_int_equal(obcast_client_outstanding(f->client), 0);
    /* A reason it does not know is still told; "found" is no failure. */
    uint64_t tag = s_ask(f, sequencer, 5);
    s_fetch_failed(f, tag, OB_FETCH_FOUND);
    s_next(f, OBCAST_EVENT_ERROR);
    s_fetch_failed(f, tag, 77);
    assert_string_equal(s_next(f, OBCAST_EVENT_FETCH_FAILED).reason_name, "unknown");
}

/* Unanswered, a fetch is asked again after resend_ms, the same tag, the
   wait doubling; an answer ends it. */
static void test_client_fetch_resent_after_silence(void **state)
{
    c_fixture_t *f = *state;
    s_connect_with(f, 0, 100);
    ob_chunk_t chunk = s_chunk(f, 3, 8, "late", 4);
    uint64_t tag = s_ask(f, chunk.sequencer, 8); /* the fake net says nothing */
    obcast_client_event_t event;
    int64_t start = zclock_mono();
    assert_int_equal(obcast_client_next(f->client, 150, &event), 0);
    assert_int_equal(s_read_fetch(f, chunk.sequencer, 8), tag);
    assert_int_equal(obcast_client_stats(f->client)->fetch_resends, 1);
    /* The next one waits 200 ms, not 100. */
    ob_imsg_t msg;
    assert_int_equal(obcast_client_next(f->client, 120, &event), 0);
    assert_null(s_read_frame(f, 0, &msg));
    assert_int_equal(obcast_client_next(f->client, 150, &event), 0);
    assert_int_equal(s_read_fetch(f, chunk.sequencer, 8), tag);
    assert_true(zclock_mono() - start >= 300);
    assert_int_equal(obcast_client_stats(f->client)->fetch_resends, 2);
    assert_int_equal(obcast_client_stats(f->client)->fetches, 1);

    uint8_t lock[512];
    s_fetch_found(f, tag, lock, s_lock(&chunk, 1, lock, sizeof lock), "late", 4);
    s_next(f, OBCAST_EVENT_FETCHED);
    assert_int_equal(obcast_client_resend_in(f->client), -1);
}

/* What a node may get wrong: bytes that are not the Lock's payload, a
   Lock of another height or sequencer, a Lock that does not decode, an
   answer of the wrong kind for the tag. Each is an ERROR; the fetch stays
   outstanding, and the true answer still lands. */
static void test_client_fetch_wrong_answers(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0);
    ob_chunk_t chunk = s_chunk(f, 0x11, 6, "the bytes", 9);
    uint64_t tag = s_ask(f, chunk.sequencer, 6);
    uint8_t lock[512];
    size_t lock_len = s_lock(&chunk, 1, lock, sizeof lock);

    s_fetch_found(f, tag, lock, lock_len, "the bytez", 9);
    obcast_client_event_t event = s_next(f, OBCAST_EVENT_ERROR);
    assert_int_equal(event.tag, tag);
    assert_non_null(strstr(event.error, "not the Lock's payload"));
    s_fetch_found(f, tag, lock, lock_len, "the bytes", 8);
    s_next(f, OBCAST_EVENT_ERROR);

    ob_chunk_t higher = chunk;
    higher.height = 7;
    uint8_t other[512];
    s_fetch_found(f, tag, other, s_lock(&higher, 1, other, sizeof other), "the bytes", 9);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "height 7, not the one asked"));
    ob_chunk_t elsewhere = s_chunk(f, 0x12, 6, "the bytes", 9);
    s_fetch_found(f, tag, other, s_lock(&elsewhere, 1, other, sizeof other), "the bytes", 9);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "sequencer 1212"));

    s_fetch_found(f, tag, lock, lock_len - 1, "the bytes", 9);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "does not decode: short"));
    s_fetch_found(f, tag, lock, 0, "the bytes", 9);
    s_next(f, OBCAST_EVENT_ERROR);

    /* An answer about a payload for a fetch's tag, and the reverse. */
    s_queued(f, tag);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "a fetch, not a payload"));
    uint64_t submitted = s_submit(f, "a payload");
    uint8_t data[16];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    s_fetch_failed(f, submitted, OB_FETCH_NOT_FOUND);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "a payload, not a fetch"));

    /* A fetch_found cut short, or with a byte too many. */
    ob_imsg_t found = {.type = OB_IMSG_FETCH_FOUND};
    found.u.fetch_found.tag = tag;
    found.u.fetch_found.lock = (ob_blob_t){lock, (uint32_t)lock_len};
    found.u.fetch_found.data = (ob_blob_t){(const uint8_t *)"the bytes", 9};
    uint8_t bytes[1024];
    size_t written = 0;
    assert_int_equal(ob_imsg_encode(&found, bytes, sizeof bytes - 1, &written), 0);
    s_send_raw(f, bytes, written - 1);
    s_next(f, OBCAST_EVENT_ERROR);
    bytes[written] = 0;
    s_send_raw(f, bytes, written + 1);
    s_next(f, OBCAST_EVENT_ERROR);

    assert_int_equal(obcast_client_outstanding(f->client), 2);
    s_fetch_found(f, tag, lock, lock_len, "the bytes", 9);
    event = s_next(f, OBCAST_EVENT_FETCHED);
    assert_int_equal(event.tag, tag);

    /* A late duplicate is about no outstanding fetch. */
    s_fetch_found(f, tag, lock, lock_len, "the bytes", 9);
    event = s_next(f, OBCAST_EVENT_ERROR);
    assert_non_null(strstr(event.error, "not outstanding"));
}

static void test_client_fetch_outstanding_cap(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 2);
    uint8_t sequencer[32] = {1};
    uint64_t tag = 0;
    assert_int_equal(obcast_client_fetch(f->client, sequencer, 1, &tag), 0);
    s_submit(f, "one");
    assert_int_equal(obcast_client_fetch(f->client, sequencer, 2, &tag), -1);
    assert_non_null(strstr(obcast_client_error(f->client), "outstanding already"));
    assert_int_equal(obcast_client_forget(f->client, 1), 0);
    assert_int_equal(obcast_client_fetch(f->client, sequencer, 2, &tag), 0);
    assert_int_equal(tag, 3);
}

/* The node says its built-in application restarted (submit_forgotten):
   everything outstanding goes again at once, whatever silence it had
   backed off to, and even with resends after a silence off. A queued
   payload is submitted again with its bytes, an assigned one followed,
   a fetch asked again. */
static void test_client_sends_again_what_the_node_forgot(void **state)
{
    c_fixture_t *f = *state;
    s_connect(f, 0); /* resends after a silence off: only the notice sends */
    uint64_t queued = s_submit(f, "queued, then forgotten");
    uint64_t assigned = s_submit(f, "assigned, then forgotten");
    uint8_t data[64];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    s_read_submit(f, data, sizeof data, &len);
    ob_chunk_t chunk = s_chunk(f, 0xcd, 7, data, len);
    uint8_t sequencer[32];
    memset(sequencer, 0x5e, 32);
    uint64_t fetch = s_ask(f, sequencer, 3);
    s_queued(f, queued);
    s_queued(f, assigned);
    s_assigned(f, assigned, chunk.sequencer, 7, chunk.payload);
    s_next(f, OBCAST_EVENT_QUEUED);
    s_next(f, OBCAST_EVENT_QUEUED);
    s_next(f, OBCAST_EVENT_ASSIGNED);
    ob_imsg_t msg;
    assert_null(s_read_frame(f, 100, &msg)); /* nothing sent on its own */

    ob_imsg_t forgotten = {.type = OB_IMSG_SUBMIT_FORGOTTEN};
    s_send(f, &forgotten);
    obcast_client_event_t event;
    assert_int_equal(obcast_client_next(f->client, C_WAIT, &event), 0); /* no event of its own */
    assert_int_equal(obcast_client_stats(f->client)->forgotten, 1);
    bool saw_submit = false, saw_follow = false, saw_fetch = false;
    for (int i = 0; i < 3; i++) {
        zframe_t *frame = s_read_frame(f, C_WAIT, &msg);
        assert_non_null(frame);
        if (msg.type == OB_IMSG_SUBMIT) {
            assert_int_equal(msg.u.submit.tag, queued);
            assert_int_equal(msg.u.submit.data.len, strlen("queued, then forgotten"));
            assert_memory_equal(msg.u.submit.data.data, "queued, then forgotten",
                                msg.u.submit.data.len);
            saw_submit = true;
        } else if (msg.type == OB_IMSG_SUBMIT_FOLLOW) {
            assert_int_equal(msg.u.submit_follow.tag, assigned);
            assert_int_equal(msg.u.submit_follow.height, 7);
            assert_memory_equal(msg.u.submit_follow.payload, chunk.payload, 32);
            saw_follow = true;
        } else {
            assert_int_equal(msg.type, OB_IMSG_FETCH);
            assert_int_equal(msg.u.fetch.tag, fetch);
            assert_int_equal(msg.u.fetch.height, 3);
            saw_fetch = true;
        }
        zframe_destroy(&frame);
    }
    assert_true(saw_submit && saw_follow && saw_fetch);
    assert_null(s_read_frame(f, 100, &msg)); /* each once */
    assert_int_equal(obcast_client_outstanding(f->client), 3);

    /* The new journal's answers move them on as before. */
    s_queued(f, queued);
    assert_int_equal(obcast_client_next(f->client, C_WAIT, &event), 0); /* queued already */
    uint8_t lock[512];
    s_locked(f, assigned, lock, s_lock(&chunk, 2, lock, sizeof lock));
    event = s_next(f, OBCAST_EVENT_LOCKED);
    assert_int_equal(event.tag, assigned);
}

/* A notice with nothing outstanding sends nothing and is no error; one
   that does not decode (a field where none belongs) is an error event. */
static void test_client_forgotten_with_nothing_outstanding(void **state)
{
    c_fixture_t *f = *state;
    s_connect_with(f, 0, 100);
    uint64_t tag = s_submit(f, "locked before the restart");
    uint8_t data[64];
    size_t len = 0;
    s_read_submit(f, data, sizeof data, &len);
    ob_chunk_t chunk = s_chunk(f, 0xcd, 1, data, len);
    uint8_t lock[512];
    s_locked(f, tag, lock, s_lock(&chunk, 2, lock, sizeof lock));
    s_next(f, OBCAST_EVENT_LOCKED);
    ob_imsg_t forgotten = {.type = OB_IMSG_SUBMIT_FORGOTTEN};
    s_send(f, &forgotten);
    obcast_client_event_t event;
    assert_int_equal(obcast_client_next(f->client, C_WAIT, &event), 0);
    ob_imsg_t msg;
    assert_null(s_read_frame(f, 300, &msg));
    assert_int_equal(obcast_client_stats(f->client)->forgotten, 1);
    assert_int_equal(obcast_client_stats(f->client)->resubmits, 0);

    uint8_t bad[4];
    size_t written = 0;
    assert_int_equal(ob_imsg_encode(&forgotten, bad, sizeof bad, &written), 0);
    bad[written] = 0x01; /* a trailing byte */
    s_send_raw(f, bad, written + 1);
    assert_int_equal(obcast_client_next(f->client, C_WAIT, &event), 1);
    assert_int_equal(event.kind, OBCAST_EVENT_ERROR);
    assert_int_equal(obcast_client_stats(f->client)->forgotten, 1);
}

static void test_client_new_errors(void **state)
{
    (void)state;
    char error[256];
    assert_null(obcast_client_new("", NULL, error, sizeof error));
    assert_null(obcast_client_new("udp://1.2.3.4:5", NULL, error, sizeof error));
    assert_non_null(strstr(error, "udp://1.2.3.4:5"));
    assert_null(obcast_client_new("tcp://127.0.0.1:1", NULL, error, sizeof error));
    assert_non_null(strstr(error, "CURVE public key"));
    obcast_client_options_t options = {.server_key = "not a z85 key, but forty characters long"};
    assert_null(obcast_client_new("tcp://127.0.0.1:1", &options, error, sizeof error));
    zcert_t *server = zcert_new();
    assert_non_null(server);
    options.server_key = zcert_public_txt(server);
    assert_null(obcast_client_new("tcp://127.0.0.1:1", &options, error, sizeof error));
    assert_non_null(strstr(error, "certificate"));
    options.cert_file = "/nonexistent/cert";
    assert_null(obcast_client_new("tcp://127.0.0.1:1", &options, error, sizeof error));
    assert_non_null(strstr(error, "/nonexistent/cert"));
    assert_null(obcast_client_new("ipc://", NULL, NULL, 0)); /* no room for the reason: fine */
    zcert_destroy(&server);
}

/* Over TCP the client is a CURVE client of the node's key. */
static void test_client_curve(void **state)
{
    c_fixture_t *f = *state;
    zcert_t *server = zcert_new();
    zcert_t *mine = zcert_new();
    assert_non_null(server);
    assert_non_null(mine);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    zcert_apply(server, router);
    zsock_set_curve_server(router, 1);
    int port = zsock_bind(router, "tcp://127.0.0.1:*[50000-60000]");
    assert_true(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    obcast_client_options_t options = {.server_key = zcert_public_txt(server), .cert = mine};
    char error[256] = "";
    obcast_client_t *client = obcast_client_new(endpoint, &options, error, sizeof error);
    if (!client)
        fail_msg("%s", error);
    assert_int_equal(obcast_client_submit(client, "secret", 6, NULL), 0);
    zsock_set_rcvtimeo(router, C_WAIT);
    zmsg_t *msg = zmsg_recv(router);
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 2);
    zframe_t *id = zmsg_pop(msg);
    zframe_t *frame = zmsg_first(msg);
    ob_imsg_t submit;
    assert_int_equal(ob_imsg_decode(&submit, zframe_data(frame), zframe_size(frame)), OB_OK);
    assert_int_equal(submit.type, OB_IMSG_SUBMIT);
    assert_memory_equal(submit.u.submit.data.data, "secret", 6);
    ob_imsg_t answer = {.type = OB_IMSG_SUBMIT_QUEUED};
    answer.u.submit_queued.tag = 1;
    uint8_t bytes[16];
    size_t written = 0;
    assert_int_equal(ob_imsg_encode(&answer, bytes, sizeof bytes, &written), 0);
    zmsg_t *reply = zmsg_new();
    zmsg_append(reply, &id);
    zmsg_addmem(reply, bytes, written);
    assert_int_equal(zmsg_send(&reply, router), 0);
    obcast_client_event_t event;
    assert_int_equal(obcast_client_next(client, C_WAIT, &event), 1);
    assert_int_equal(event.kind, OBCAST_EVENT_QUEUED);
    zmsg_destroy(&msg);
    obcast_client_destroy(&client);
    assert_null(client);
    zsock_destroy(&router);
    zcert_destroy(&server);
    zcert_destroy(&mine);
    (void)f;
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_client_queued_assigned_locked),
        T(test_client_locked_without_assigned),
        T(test_client_refused),
        T(test_client_malformed_answers),
        T(test_client_outstanding_cap),
        T(test_client_poll_fd),
        T(test_client_resends_after_silence),
        T(test_client_follows_after_assigned),
        T(test_client_batched_and_inclusion),
        T(test_client_resend_timing),
        T(test_client_fetch_found),
        T(test_client_fetch_failed),
        T(test_client_fetch_resent_after_silence),
        T(test_client_fetch_wrong_answers),
        T(test_client_fetch_outstanding_cap),
        T(test_client_sends_again_what_the_node_forgot),
        T(test_client_forgotten_with_nothing_outstanding),
        T(test_client_new_errors),
        T(test_client_curve),
    };
#undef T
    int rc = cmocka_run_group_tests_name("client", tests, NULL, NULL);
    zsys_shutdown();
    return rc;
}
