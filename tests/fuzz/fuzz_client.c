/*  libFuzzer target: the client library's answer decoder
    (common/obcast_client.c, s_on_frame: ob_imsg_decode and s_on_answer),
    frame by frame, on a client with three things outstanding: tag 1 the
    payload "hello, obcast 0" (the payload of the vectors' Lock), tag 2
    another payload, tag 3 a fetch of the Lock's chunk (its sequencer,
    height 0). The library is compiled into the target (it is included)
    so that its static decoder is reached without a socket; the client is
    a real one, connected to a ROUTER of this process over inproc.

    Input layout (make_corpus.py writes its seeds the same way): records of
    kind(u8) ‖ length(u16 BE) ‖ frame; a kind with bit 0 set first lets
    every resend fall due (the client sends to the ROUTER, which drops
    it). A short last record takes what is left.

    Checks: every answer is one event or none; an event has a known kind
    and a bounded error text; LOCKED and FETCHED view a Lock inside the
    frame that decodes, FETCHED bytes that hash to its payload; an answer
    that ends a tag (LOCKED, REFUSED, FETCHED, FETCH_FAILED) leaves it no
    longer outstanding, one that moves it on (QUEUED, ASSIGNED) keeps it. */
#include "fuzz_common.h"

#include "../../common/obcast_client.c"

#define S_ENDPOINT   "inproc://fuzz-client"
#define S_MAX_FRAMES 64

static const uint8_t s_sequencer[32] = {
    0x6a, 0xaa, 0x8f, 0xa0, 0x15, 0xda, 0x7c, 0x3f, 0xf7, 0x45, 0xb7, 0x5a, 0x5a, 0x45, 0x04, 0x95,
    0xe2, 0x26, 0x8c, 0xc2, 0x03, 0x7d, 0xd5, 0x0b, 0x99, 0xda, 0x52, 0x96, 0xfd, 0x13, 0xd1, 0xd5};

static zsock_t *s_router;
static obcast_client_t *s_client;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    zsys_init();
    zsys_set_logstream(NULL);
    s_router = zsock_new_router(S_ENDPOINT);
    FUZZ_CHECK(s_router != NULL);
    char error[OBCAST_CLIENT_ERROR_LEN];
    obcast_client_options_t options = {.max_outstanding = 4, .resend_ms = 1};
    s_client = obcast_client_new(S_ENDPOINT, &options, error, sizeof error);
    if (!s_client)
        fprintf(stderr, "fuzz_client: %s\n", error);
    FUZZ_CHECK(s_client != NULL);
    return 0;
}

/* Whatever the client sent, dropped: the ROUTER's queue stays bounded. */
static void s_drain(void)
{
    void *handle = zsock_resolve(s_router);
    for (int i = 0; i < 10000; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int rc = zmq_msg_recv(&msg, handle, ZMQ_DONTWAIT);
        zmq_msg_close(&msg);
        if (rc < 0)
            return;
    }
}

/* The same three outstanding before each input, tags 1 to 3. */
static void s_reset(obcast_client_t *self)
{
    for (uint32_t i = 0; i < self->max_outstanding; i++)
        if (self->pending[i].used)
            s_remove(self, &self->pending[i]);
    FUZZ_CHECK(self->outstanding == 0);
    self->next_tag = 1;
    self->moved_ms = 0;
    self->moved_tag = 0;
    self->next_due_ms = INT64_MAX;
    uint64_t tag = 0;
    FUZZ_CHECK(obcast_client_submit(self, "hello, obcast 0", 15, &tag) == 0 && tag == 1);
    FUZZ_CHECK(obcast_client_submit(self, "another payload", 15, &tag) == 0 && tag == 2);
    FUZZ_CHECK(obcast_client_fetch(self, s_sequencer, 0, &tag) == 0 && tag == 3);
    s_drain();
}

static void s_check_event(obcast_client_t *self, int rc, const obcast_client_event_t *event,
                          const uint8_t *frame, size_t len)
{
    FUZZ_CHECK(rc == 0 || rc == 1);
    uint32_t used = 0;
    for (uint32_t i = 0; i < self->max_outstanding; i++)
        used += self->pending[i].used;
    FUZZ_CHECK(used == self->outstanding && used <= 3);
    if (rc == 0)
        return;
    FUZZ_CHECK(strcmp(obcast_client_event_name(event->kind), "unknown") != 0);
    FUZZ_CHECK(strnlen(event->error, sizeof event->error) < sizeof event->error);
    bool outstanding = s_find(self, event->tag) != NULL;
    switch (event->kind) {
    case OBCAST_EVENT_QUEUED:
    case OBCAST_EVENT_ASSIGNED:
        FUZZ_CHECK(outstanding);
        break;
    case OBCAST_EVENT_REFUSED:
    case OBCAST_EVENT_FETCH_FAILED:
        FUZZ_CHECK(!outstanding && event->reason_name != NULL);
        break;
    case OBCAST_EVENT_LOCKED:
    case OBCAST_EVENT_FETCHED: {
        FUZZ_CHECK(!outstanding);
        FUZZ_CHECK(event->lock >= frame && event->lock + event->lock_len <= frame + len);
        ob_lock_t lock;
        ob_epoch_lookup_t any = {.size_of = s_any_epoch, .ctx = NULL};
        FUZZ_CHECK(ob_lock_decode(&lock, event->lock, event->lock_len, &any) == OB_OK);
        FUZZ_CHECK(lock.chunk.height == event->height && lock.epoch == event->epoch);
        FUZZ_CHECK(memcmp(lock.chunk.sequencer, event->sequencer, 32) == 0);
        if (event->kind == OBCAST_EVENT_FETCHED) {
            uint8_t digest[32];
            FUZZ_CHECK(event->data >= frame && event->data + event->data_len <= frame + len);
            FUZZ_CHECK(s_sha256(event->data, event->data_len, digest) == 0);
            FUZZ_CHECK(memcmp(digest, lock.chunk.payload, 32) == 0);
            FUZZ_CHECK(memcmp(lock.chunk.sequencer, s_sequencer, 32) == 0);
        }
        break;
    }
    case OBCAST_EVENT_ERROR:
        FUZZ_CHECK(event->error[0] != '\0');
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    obcast_client_t *self = s_client;
    s_reset(self);
    size_t at = 0, len = 0;
    uint8_t kind = 0;
    const uint8_t *record = NULL;
    for (int n = 0; n < S_MAX_FRAMES && fuzz_next_record(data, size, &at, &kind, &record, &len);
         n++) {
        if (kind & 1)
            s_resend(self, INT64_MAX / 2);
        uint8_t *frame = fuzz_dup(record, len);
        obcast_client_event_t event;
        memset(&event, 0, sizeof event);
        int rc = s_on_frame(self, frame, len, &event);
        s_check_event(self, rc, &event, frame, len);
        free(frame);
    }
    s_drain();
    return 0;
}
