/*  libFuzzer target: what net does with the frames of its application and
    submit sockets (actors/net/net_app.c: ob_net_on_app, ob_net_on_client,
    and the journal's client_answer in ob_net_on_client_answer), each
    decoded by the imsg codec (proto/app.csv). Two nets per input, on a
    fresh arena of 8 slots: one with `application = external` (none
    attached at first) and one `builtin`.

    Input layout (make_corpus.py writes its seeds the same way): records of
    kind(u8) ‖ length(u16 BE) ‖ bytes; a short last record takes what is
    left. kind & 7: 0 an application frame to the external net, 1 a client
    frame to the builtin net, 2 a client_answer (bytes: the answers' batch)
    to the builtin net, 3 a client frame to the external net, 4 and 5 a
    message from the journal (bytes: its encoding) to the external and the
    builtin net: one of those net_app.c handles (app_propose, app_verify,
    report_tip, report_lock, report_evidence, fetch_answer), anything else
    is skipped; 6 and 7 as 0 and 1. Bit 3: the application frame comes
    from another connection; bits 4-5 pick the client's routing id: 2
    bytes, none, OB_CLIENT_ID_MAX, one too many; bit 6: a journal
    message's payload handle is kept as it is, else it is replaced by a
    slot the journal holds with "hello, obcast 0" (the payload of the
    vectors' Lock and chunk 0). Each record is 1 s after the one before
    (so an application silent for 3 records is detached).

    A crypto context costs 1.3 ms to make, a hundred inputs' worth: the
    nets share one, made once (the link wraps ob_crypto_new and
    ob_crypto_destroy, tests/fuzz/meson.build); the outbox is made once and
    emptied before each record.

    Checks, after each record: everything net sends decodes, and goes
    where proto/app.csv and proto/imsg.csv allow (an app_* message to the
    application, a submit or fetch answer to that client, internal messages to an
    actor that takes them from net, nothing to a peer); a client with a
    usable routing id always hears an answer or the journal hears of it
    (but for a submit_follow under external, which nothing answers). */
#include "fuzz_common.h"

#include "crypto.h"
#include "epochs.h"
#include "imsg.h"
#include "keyset.h"
#include "log.h"
#include "net.h"
#include "outbox.h"

#define S_MAX_RECORDS 64
#define S_SLOTS       8
#define S_SLOT_SIZE   4096
#define S_APP         "localhost:1000:1000:4242"
#define S_OTHER       "localhost:1000:1000:4343"

static ob_crypto_t *s_crypto;
static ob_outbox_t *s_out;
static ob_namespace_t s_ns;
static ob_epochs_t *s_epochs;
static uint8_t s_self[32];

ob_crypto_t *__real_ob_crypto_new(void);
ob_crypto_t *__wrap_ob_crypto_new(void);
void __wrap_ob_crypto_destroy(ob_crypto_t **self_p);

ob_crypto_t *__wrap_ob_crypto_new(void)
{
    if (!s_crypto)
        s_crypto = __real_ob_crypto_new();
    return s_crypto;
}

void __wrap_ob_crypto_destroy(ob_crypto_t **self_p)
{
    *self_p = NULL; /* the shared one lives as long as the process */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ob_log_set_level(OB_LOG_ERROR);
    FUZZ_CHECK(ob_crypto_new() != NULL);
    s_out = ob_outbox_new(256, 1u << 20);
    FUZZ_CHECK(s_out != NULL);
    FUZZ_CHECK(ob_namespace_init(&s_ns, s_crypto, "fuzz-app", 8, NULL) == 0);
    uint8_t keys[4][32];
    for (int k = 0; k < 4; k++) {
        char name[32];
        uint8_t secret[32];
        ob_keypair_t pair;
        snprintf(name, sizeof name, "fuzz-app-%d", k);
        ob_sha256(s_crypto, name, strlen(name), secret);
        FUZZ_CHECK(ob_keypair_from_secret(s_crypto, secret, &pair) == 0);
        memcpy(keys[k], pair.pub.bytes, 32);
        ob_keypair_wipe(&pair);
    }
    memcpy(s_self, keys[0], 32);
    s_epochs = ob_epochs_new();
    FUZZ_CHECK(s_epochs != NULL);
    /* Epoch 7 has 4 validators, as the vectors' Lock needs. */
    for (uint64_t epoch = 1; epoch <= 7; epoch += 6) {
        ob_keyset_t *validators = ob_keyset_new(s_crypto, (const uint8_t(*)[32])keys, 4, NULL);
        ob_keyset_t *sequencers = ob_keyset_new(s_crypto, (const uint8_t(*)[32])keys, 4, NULL);
        FUZZ_CHECK(validators && sequencers);
        FUZZ_CHECK(ob_epochs_add(s_epochs, epoch, &validators, &sequencers, NULL) == 0);
    }
    return 0;
}

static ob_net_t *s_net(ob_arena_t *arena, ob_net_application_t application)
{
    ob_net_config_t config = {.application = application};
    config.env.ns = &s_ns;
    config.env.epochs = s_epochs;
    config.env.params = OB_PARAMS_DEFAULT;
    config.env.params.max_payload = S_SLOT_SIZE;
    config.env.arena = arena;
    memcpy(config.env.self_key, s_self, 32);
    ob_why_t why = {{0}};
    ob_net_t *net = ob_net_new(&config, &why);
    if (!net)
        fprintf(stderr, "fuzz_app: net: %s\n", why.text);
    FUZZ_CHECK(net != NULL);
    return net;
}

/* Everything in `out` decodes and goes where it may; `client` (or NULL)
   is the one client that may hear anything. Returns the envelopes. */
static size_t s_check_out(const ob_outbox_t *out, const ob_client_id_t *client)
{
    ob_client_id_t none = {.len = 0};
    if (!client)
        client = &none; /* no routing id is empty: nobody hears */
    size_t count = ob_outbox_count(out);
    for (size_t i = 0; i < count; i++) {
        const ob_envelope_t *e = ob_outbox_at(out, i);
        ob_imsg_t msg;
        FUZZ_CHECK(ob_imsg_decode(&msg, ob_outbox_bytes(out, e), e->len) == OB_OK);
        ob_net_to_app_t to_app;
        ob_net_to_client_t to_client;
        switch (e->kind) {
        case OB_DEST_ACTOR:
            FUZZ_CHECK(ob_imsg_allowed(OB_PARTY_NET, (ob_party_t)e->actor, msg.type));
            break;
        case OB_DEST_APP:
            FUZZ_CHECK(ob_net_to_app(msg.type, &to_app) == 0);
            break;
        case OB_DEST_CLIENT:
            FUZZ_CHECK(ob_net_to_client(msg.type, &to_client) == 0);
            FUZZ_CHECK(e->client.len == client->len &&
                       memcmp(e->client.id, client->id, client->len) == 0);
            break;
        case OB_DEST_PEER:
            FUZZ_CHECK(!"net sent a peer message for an application or client frame");
            break;
        }
    }
    return count;
}

/* A message of the journal's to `net` (see the layout above); `*client`
   gets the client a fetch_answer names. */
static void s_from_journal(ob_net_t *net, ob_arena_t *arena, uint8_t kind, const uint8_t *bytes,
                           size_t len, ob_client_id_t *client, ob_outbox_t *out)
{
    ob_imsg_t msg;
    if (ob_imsg_decode(&msg, bytes, len) != OB_OK)
        return;
    ob_handle_t *handle = NULL;
    if (msg.type == OB_IMSG_APP_VERIFY) {
        handle = &msg.u.app_verify.payload;
    } else if (msg.type == OB_IMSG_FETCH_ANSWER) {
        handle = &msg.u.fetch_answer.payload;
        const ob_blob_t *id = &msg.u.fetch_answer.client;
        client->len = (uint8_t)(id->len <= OB_CLIENT_ID_MAX ? id->len : 0);
        memcpy(client->id, id->data, client->len);
    } else if (msg.type != OB_IMSG_APP_PROPOSE && msg.type != OB_IMSG_REPORT_TIP &&
               msg.type != OB_IMSG_REPORT_LOCK && msg.type != OB_IMSG_REPORT_EVIDENCE) {
        return; /* net.c's (peers), or not the journal's to send */
    }
    /* A slot as the journal sends one (net takes it over); with the arena
       full, the input's handle stays. */
    if (handle && !(kind & 0x40))
        (void)ob_arena_put(arena, s_crypto, OB_ACTOR_JOURNAL, "hello, obcast 0", 15, handle);
    ob_net_handle(net, OB_PARTY_JOURNAL, &msg, out);
}

static bool s_is_follow(const uint8_t *frame, size_t len)
{
    ob_imsg_t msg;
    return ob_imsg_decode(&msg, frame, len) == OB_OK && msg.type == OB_IMSG_SUBMIT_FOLLOW;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_arena_t *arena = ob_arena_new_heap(S_SLOTS, S_SLOT_SIZE, NULL);
    ob_outbox_t *out = s_out;
    FUZZ_CHECK(arena != NULL);
    ob_net_t *external = s_net(arena, OB_NET_APP_EXTERNAL);
    ob_net_t *builtin = s_net(arena, OB_NET_APP_BUILTIN);
    uint64_t now_ms = 1000;
    size_t at = 0, len = 0;
    uint8_t kind = 0;
    const uint8_t *record = NULL;
    for (int n = 0; n < S_MAX_RECORDS && fuzz_next_record(data, size, &at, &kind, &record, &len);
         n++) {
        uint8_t *bytes = fuzz_dup(record, len);
        now_ms += 1000;

        static const uint8_t id_lens[4] = {2, 0, OB_CLIENT_ID_MAX, OB_CLIENT_ID_MAX + 1};
        ob_client_id_t client = {.len = id_lens[(kind >> 4) & 3]};
        memset(client.id, 'c', sizeof client.id);
        bool usable = client.len >= 1 && client.len <= OB_CLIENT_ID_MAX;
        const char *who = kind & 8 ? S_OTHER : S_APP;
        ob_outbox_clear(out);
        switch (kind & 7) {
        case 0:
        case 6:
            ob_net_on_app(external, now_ms, who, bytes, len, out);
            s_check_out(out, NULL);
            break;
        case 1:
        case 7:
            ob_net_on_client(builtin, &client, bytes, len, out);
            FUZZ_CHECK(s_check_out(out, &client) >= 1 || !usable);
            break;
        case 2: {
            ob_imsg_t answer = {.type = OB_IMSG_CLIENT_ANSWER};
            answer.u.client_answer.client = (ob_blob_t){client.id, client.len};
            answer.u.client_answer.answers = (ob_blob_t){bytes, (uint32_t)len};
            ob_net_handle(builtin, OB_PARTY_JOURNAL, &answer, out);
            s_check_out(out, &client);
            break;
        }
        case 3:
            /* Under external nothing was assigned: a submit_follow is the
               one frame that gets no answer (proto/app.csv). */
            ob_net_on_client(external, &client, bytes, len, out);
            FUZZ_CHECK(s_check_out(out, &client) >= 1 || !usable || s_is_follow(bytes, len));
            break;
        case 4:
        case 5:
            client.len = 0;
            s_from_journal(kind & 1 ? builtin : external, arena, kind, bytes, len, &client, out);
            s_check_out(out, &client);
            break;
        }
        ob_net_tick(external, now_ms, out);
        free(bytes);
    }
    ob_net_destroy(&external);
    ob_net_destroy(&builtin);
    ob_outbox_clear(out);
    ob_arena_destroy(&arena);
    return 0;
}
