/*  The manifest and the node config: a valid pair loads with every value,
    and every kind of bad input is refused with a message that names the
    file and the setting. */
#include "testutil.h"

#include "config.h"

#include <zmq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[128];
    ob_crypto_t *crypto;
    char keys[5][65];
    char curve[5][41];
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/obcast-config-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    fx->crypto = ob_crypto_new();
    for (int i = 0; i < 4; i++)
        snprintf(fx->keys[i], sizeof fx->keys[i], "%s", tv_validators[i].public_key);
    snprintf(fx->keys[4], sizeof fx->keys[4], "%s", tv_validators[0].public_key);
    for (int i = 0; i < 5; i++) {
        char secret[41];
        if (zmq_curve_keypair(fx->curve[i], secret) != 0)
            return -1;
    }
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    ob_crypto_destroy(&fx->crypto);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static void s_write(s_fixture_t *fx, const char *name, const char *text)
{
    snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, name);
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A manifest of four nodes and two epochs; `extra` is spliced in at the
   end of the `obcast` section, `node_override` replaces node0's key. */
static void s_manifest(s_fixture_t *fx, const char *key0, const char *epochs, const char *extra)
{
    char text[8192];
    int n = snprintf(text, sizeof text,
                     "obcast\n    namespace = \"obcast-test\"\n"
                     "    max_payload = 65536\n");
    for (int i = 0; i < 4; i++)
        n += snprintf(text + n, sizeof text - (size_t)n,
                      "    node\n        name = \"node%d\"\n        key = \"%s\"\n"
                      "        endpoint = \"tcp://127.0.0.1:%d\"\n        curve_key = \"%s\"\n",
                      i, i == 0 && key0 ? key0 : fx->keys[i], 7100 + i, fx->curve[i]);
    n += snprintf(text + n, sizeof text - (size_t)n, "%s%s",
                  epochs ? epochs
                         : "    epoch\n        number = 1\n        validators = \"node0 node1 "
                           "node2 node3\"\n        sequencers = \"node0 node1\"\n"
                           "    epoch\n        number = 5\n        validators = \"node1 node2 "
                           "node3\"\n        sequencers = \"node3\"\n",
                  extra ? extra : "");
    s_write(fx, "manifest.zpl", text);
}

static void s_refused(s_fixture_t *fx, const char *want)
{
    ob_why_t why = {{0}};
    ob_manifest_t *m = ob_manifest_load(fx->crypto, fx->path, &why);
    if (m || !strstr(why.text, fx->path) || !strstr(why.text, want))
        fail_msg("manifest should be refused naming %s and \"%s\"; got \"%s\"", fx->path, want,
                 m ? "(loaded)" : why.text);
}

static void test_manifest_loads(void **state)
{
    s_fixture_t *fx = *state;
    s_manifest(fx, NULL, NULL, NULL);
    ob_why_t why = {{0}};
    ob_manifest_t *m = ob_manifest_load(fx->crypto, fx->path, &why);
    if (!m)
        fail_msg("%s", why.text);
    assert_int_equal(ob_manifest_node_count(m), 4);
    assert_int_equal(ob_manifest_max_payload(m), 65536);
    assert_int_equal(ob_manifest_namespace(m)->len, strlen("obcast-test"));
    const ob_epochs_t *epochs = ob_manifest_epochs(m);
    assert_int_equal(ob_epochs_count(epochs), 2);
    assert_int_equal(ob_keyset_size(ob_epochs_validators(epochs, 1)), 4);
    assert_int_equal(ob_keyset_size(ob_epochs_sequencers(epochs, 1)), 2);
    assert_int_equal(ob_keyset_size(ob_epochs_validators(epochs, 5)), 3);
    assert_null(ob_epochs_validators(epochs, 2));
    const ob_manifest_node_t *n2 = ob_manifest_node_named(m, "node2");
    assert_non_null(n2);
    assert_string_equal(n2->endpoint, "tcp://127.0.0.1:7102");
    assert_string_equal(n2->curve_key, fx->curve[2]);
    assert_ptr_equal(ob_manifest_node_with_key(m, n2->key), n2);
    assert_null(ob_manifest_node_named(m, "node9"));
    ob_manifest_destroy(&m);
    assert_null(m);
    ob_manifest_destroy(&m);
}

static void test_manifest_refusals(void **state)
{
    s_fixture_t *fx = *state;
    snprintf(fx->path, sizeof fx->path, "%s/missing.zpl", fx->dir);
    s_refused(fx, "cannot open");

    s_write(fx, "bad.zpl", "obcast\n    a = 1\n      b = 2\n");
    s_refused(fx, "line 3");

    s_write(fx, "nul.zpl", "obcast\n");
    FILE *f = fopen(fx->path, "a");
    fputc('\0', f);
    fclose(f);
    s_refused(fx, "holds a NUL byte");

    s_write(fx, "other.zpl", "something\n    a = 1\n");
    s_refused(fx, "obcast: missing");

    s_manifest(fx, NULL, NULL, "    colour = \"red\"\n");
    s_refused(fx, "unknown setting 'colour'");

    s_manifest(fx, "zz", NULL, NULL);
    s_refused(fx, "node node0: key must be 64 hex digits");

    s_manifest(fx, "0000000000000000000000000000000000000000000000000000000000000000", NULL, NULL);
    s_refused(fx, "is not a valid x-only public key");

    s_manifest(fx, fx->keys[1], NULL, NULL);
    s_refused(fx, "node node1: its key is also node node0's");

    s_manifest(fx, NULL,
               "    epoch\n        number = 1\n        validators = \"node0 node9\"\n"
               "        sequencers = \"node0\"\n",
               NULL);
    s_refused(fx, "epoch 1/validators: no node named 'node9'");

    s_manifest(fx, NULL,
               "    epoch\n        number = 3\n        validators = \"node0\"\n"
               "        sequencers = \"node0\"\n    epoch\n        number = 3\n"
               "        validators = \"node0\"\n        sequencers = \"node0\"\n",
               NULL);
    s_refused(fx, "epochs must increase");

    s_manifest(fx, NULL,
               "    epoch\n        number = 1\n        validators = \"node0 node0\"\n"
               "        sequencers = \"node0\"\n",
               NULL);
    s_refused(fx, "'node0' is listed twice");

    s_manifest(fx, NULL,
               "    epoch\n        number = 1\n        validators = \"\"\n"
               "        sequencers = \"node0\"\n",
               NULL);
    s_refused(fx, "epoch 1/validators: empty");

    s_manifest(fx, NULL, "    epoch\n        number = x\n", NULL);
    s_refused(fx, "epoch 1/number: not a whole number: 'x'");

    s_manifest(fx, NULL, "", NULL);
    s_refused(fx, "lists no epoch");

    s_write(fx, "ns.zpl", "obcast\n    max_payload = 10\n");
    s_refused(fx, "obcast/namespace");

    s_write(fx, "big.zpl", "obcast\n    namespace = \"n\"\n    max_payload = 999999999999\n");
    s_refused(fx, "obcast/max_payload: 999999999999 is out of range");
}

static void s_config(s_fixture_t *fx, const char *node_extra, const char *tunables)
{
    char text[4096];
    snprintf(text, sizeof text,
             "node\n    name = \"node1\"\n    manifest = \"manifest.zpl\"\n"
             "    key_file = \"keys/node1.key\"\n    curve_secret_file = \"keys/node1.curve\"\n"
             "    data_dir = \"data\"\n    runtime_dir = \"/run/obcast-node1\"\n"
             "    peer_bind = \"tcp://127.0.0.1:7101\"\n%s%s",
             node_extra ? node_extra : "", tunables ? tunables : "");
    s_write(fx, "node1.zpl", text);
}

static void s_config_refused(s_fixture_t *fx, const char *want)
{
    ob_node_config_t cfg;
    ob_why_t why = {{0}};
    int rc = ob_node_config_load(fx->path, &cfg, &why);
    if (rc == 0 || !strstr(why.text, fx->path) || !strstr(why.text, want))
        fail_msg("config should be refused naming %s and \"%s\"; got \"%s\"", fx->path, want,
                 rc == 0 ? "(loaded)" : why.text);
}

static void test_node_config_loads(void **state)
{
    s_fixture_t *fx = *state;
    s_config(fx, "    durability = \"process\"\n    verifiers = 3\n",
             "tunables\n    height_bound = 5\n    rebroadcast_timeout_ms = 250\n");
    ob_node_config_t cfg;
    ob_why_t why = {{0}};
    if (ob_node_config_load(fx->path, &cfg, &why) != 0)
        fail_msg("%s", why.text);
    assert_string_equal(cfg.name, "node1");
    char expect[256];
    snprintf(expect, sizeof expect, "%s/manifest.zpl", fx->dir);
    assert_string_equal(cfg.manifest, expect);
    snprintf(expect, sizeof expect, "%s/keys/node1.key", fx->dir);
    assert_string_equal(cfg.key_file, expect);
    assert_string_equal(cfg.runtime_dir, "/run/obcast-node1");
    assert_string_equal(cfg.app_endpoint, "ipc:///run/obcast-node1/app");
    assert_string_equal(cfg.monitor_endpoint, "ipc:///run/obcast-node1/monitor");
    assert_int_equal(cfg.journal_sync, OB_DB_SYNC_NORMAL);
    assert_int_equal(cfg.verifiers, 3);
    assert_int_equal(cfg.params.height_bound, 5);
    assert_int_equal(cfg.params.rebroadcast_timeout_ms, 250);
    /* Defaults of SPEC §3 where unset. */
    assert_int_equal(cfg.params.propose_timeout_ms, 1000);
    assert_int_equal(cfg.params.epoch_bounds_lo, 1);
    assert_int_equal(cfg.params.epoch_bounds_hi, 1);
    assert_int_equal(cfg.arena_slots, 256);
}

static void test_node_config_refusals(void **state)
{
    s_fixture_t *fx = *state;
    snprintf(fx->path, sizeof fx->path, "%s/none.zpl", fx->dir);
    s_config_refused(fx, "cannot open");
    s_config(fx, "    durability = \"maybe\"\n", NULL);
    s_config_refused(fx, "node/durability: must be 'power' or 'process', not 'maybe'");
    s_config(fx, "    colour = 1\n", NULL);
    s_config_refused(fx, "node: unknown setting 'colour'");
    s_config(fx, NULL, "tunables\n    height_bound = -1\n");
    s_config_refused(fx, "tunables/height_bound: not a whole number: '-1'");
    s_config(fx, NULL, "tunables\n    speed = 3\n");
    s_config_refused(fx, "tunables: unknown setting 'speed'");
    s_config(fx, NULL, "tunables\n    propose_timeout_ms = 0\n");
    s_config_refused(fx, "tunables/propose_timeout_ms: 0 is out of range");
    s_config(fx, "    log_level = \"loud\"\n", NULL);
    s_config_refused(fx, "node/log_level");
    s_config(fx, "    verifiers = 100\n", NULL);
    s_config_refused(fx, "node/verifiers: 100 is out of range");
    s_write(fx, "nonode.zpl", "tunables\n    height_bound = 2\n");
    s_config_refused(fx, "node: missing");
    s_write(fx, "noname.zpl", "node\n    manifest = \"m\"\n");
    s_config_refused(fx, "node/name: missing or empty");
    s_write(fx, "extra.zpl", "node\n    name = \"a\"\nbogus\n    x = 1\n");
    s_config_refused(fx, "top level: unknown setting 'bogus'");
}

/* Issues 9 (defects 4 and 9): node/application, and one allowlist per
   local socket: a TCP endpoint needs its own list. */
static void test_node_config_application_and_lists(void **state)
{
    s_fixture_t *fx = *state;
    ob_node_config_t cfg;
    ob_why_t why = {{0}};
    s_config(fx, NULL, NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.application, OB_APPLICATION_BUILTIN);
    assert_string_equal(cfg.app_keys, "");
    assert_string_equal(cfg.operator_keys, "");
    s_config(fx,
             "    application = \"external\"\n    app_keys = \"apps\"\n"
             "    client_keys = \"clients\"\n    operator_keys = \"ops\"\n"
             "    app_endpoint = \"tcp://127.0.0.1:7200\"\n"
             "    submit_endpoint = \"tcp://127.0.0.1:7201\"\n"
             "    control_endpoint = \"tcp://127.0.0.1:7202\"\n",
             NULL);
    if (ob_node_config_load(fx->path, &cfg, &why) != 0)
        fail_msg("%s", why.text);
    assert_int_equal(cfg.application, OB_APPLICATION_EXTERNAL);
    char expect[256];
    snprintf(expect, sizeof expect, "%s/apps", fx->dir);
    assert_string_equal(cfg.app_keys, expect);
    snprintf(expect, sizeof expect, "%s/ops", fx->dir);
    assert_string_equal(cfg.operator_keys, expect);

    s_config(fx, "    application = \"maybe\"\n", NULL);
    s_config_refused(fx, "node/application: must be 'builtin'");
    s_config(fx, "    application = \"maybe\"\n", NULL);
    s_config_refused(fx, "not 'maybe'");
    /* Another socket's list does not do. */
    s_config(fx, "    client_keys = \"clients\"\n    app_endpoint = \"tcp://127.0.0.1:7200\"\n",
             NULL);
    s_config_refused(fx, "node/app_endpoint: a TCP endpoint needs node/app_keys");
    s_config(fx, "    app_keys = \"apps\"\n    submit_endpoint = \"tcp://127.0.0.1:7200\"\n", NULL);
    s_config_refused(fx, "node/submit_endpoint: a TCP endpoint needs node/client_keys");
    s_config(fx, "    client_keys = \"c\"\n    monitor_endpoint = \"tcp://127.0.0.1:7200\"\n",
             NULL);
    s_config_refused(fx, "node/monitor_endpoint: a TCP endpoint needs node/operator_keys");
    s_config(fx, "    app_keys = \"c\"\n    control_endpoint = \"tcp://127.0.0.1:7200\"\n", NULL);
    s_config_refused(fx, "node/control_endpoint: a TCP endpoint needs node/operator_keys");
}

/* node/metrics_http: off by default; ADDRESS:PORT, each part checked. */
static void test_node_config_metrics_http(void **state)
{
    s_fixture_t *fx = *state;
    ob_node_config_t cfg;
    ob_why_t why = {{0}};
    s_config(fx, NULL, NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.metrics_http_port, 0);
    s_config(fx, "    metrics_http = \"127.0.0.1:9464\"\n", NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_string_equal(cfg.metrics_http_host, "127.0.0.1");
    assert_int_equal(cfg.metrics_http_port, 9464);
    s_config(fx, "    metrics_http = \"9464\"\n", NULL);
    s_config_refused(fx, "node/metrics_http: must be ADDRESS:PORT");
    s_config(fx, "    metrics_http = \"localhost:9464\"\n", NULL);
    s_config_refused(fx, "node/metrics_http: 'localhost' in 'localhost:9464' is not an IPv4");
    s_config(fx, "    metrics_http = \"127.0.0.1:0\"\n", NULL);
    s_config_refused(fx, "node/metrics_http: the port in '127.0.0.1:0' must be 1 to 65535");
    s_config(fx, "    metrics_http = \"127.0.0.1:70000\"\n", NULL);
    s_config_refused(fx, "must be 1 to 65535");
    s_config(fx, "    metrics_http = \"127.0.0.1:94x\"\n", NULL);
    s_config_refused(fx, "must be 1 to 65535");
}

/* node/batch and node/batch_bytes: on by default, off either way. */
static void test_node_config_batch(void **state)
{
    s_fixture_t *fx = *state;
    ob_node_config_t cfg;
    ob_why_t why = {{0}};
    s_config(fx, NULL, NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_bytes, OB_MAX_PAYLOAD_LIMIT);
    s_config(fx, "    batch_bytes = 4096\n", NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_bytes, 4096);
    s_config(fx, "    batch_bytes = 0\n", NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_bytes, 0);
    s_config(fx, "    batch = \"off\"\n    batch_bytes = 4096\n", NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_bytes, 0);
    s_config(fx, "    batch = \"maybe\"\n", NULL);
    s_config_refused(fx, "node/batch: must be 'on'");
    s_config(fx, "    batch_bytes = 99999999999\n", NULL);
    s_config_refused(fx, "node/batch_bytes");
    s_config(fx, "    batch_bytes = -1\n", NULL);
    s_config_refused(fx, "node/batch_bytes");

    /* node/batch_slow_ms: the adaptive bound's threshold, 0 to 60 s */
    s_config(fx, NULL, NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_slow_ms, OB_BATCH_SLOW_MS);
    s_config(fx, "    batch_slow_ms = 0\n", NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_slow_ms, 0);
    s_config(fx, "    batch_slow_ms = 60000\n", NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.batch_slow_ms, 60000);
    s_config(fx, "    batch_slow_ms = 60001\n", NULL);
    s_config_refused(fx, "node/batch_slow_ms");
    s_config(fx, "    batch_slow_ms = \"fast\"\n", NULL);
    s_config_refused(fx, "node/batch_slow_ms");
}

/* Issue 12: the peer links' heartbeats and reconnects, defaults and bounds. */
static void test_node_config_peer_links(void **state)
{
    s_fixture_t *fx = *state;
    ob_node_config_t cfg;
    ob_why_t why = {{0}};
    s_config(fx, NULL, NULL);
    assert_int_equal(ob_node_config_load(fx->path, &cfg, &why), 0);
    assert_int_equal(cfg.peer_heartbeat_ms, OB_PEER_HEARTBEAT_MS);
    assert_int_equal(cfg.peer_heartbeat_timeout_ms, OB_PEER_HEARTBEAT_TIMEOUT_MS);
    assert_int_equal(cfg.peer_connect_timeout_ms, OB_PEER_CONNECT_TIMEOUT_MS);
    assert_int_equal(cfg.peer_reconnect_max_ms, OB_PEER_RECONNECT_MAX_MS);
    assert_int_equal(cfg.peer_rto_max_ms, OB_PEER_RTO_MAX_MS);
    assert_int_equal(cfg.peer_rto_min_ms, OB_PEER_RTO_MIN_MS);
    assert_int_equal(OB_PEER_RTO_MIN_MS, 10);
    s_config(fx,
             "    peer_heartbeat_ms = 0\n    peer_heartbeat_timeout_ms = 10\n"
             "    peer_connect_timeout_ms = 0\n    peer_reconnect_max_ms = 5000\n"
             "    peer_rto_max_ms = 0\n    peer_rto_min_ms = 0\n",
             NULL);
    if (ob_node_config_load(fx->path, &cfg, &why) != 0)
        fail_msg("%s", why.text);
    assert_int_equal(cfg.peer_heartbeat_ms, 0);
    assert_int_equal(cfg.peer_heartbeat_timeout_ms, 10);
    assert_int_equal(cfg.peer_connect_timeout_ms, 0);
    assert_int_equal(cfg.peer_reconnect_max_ms, 5000);
    assert_int_equal(cfg.peer_rto_max_ms, 0);
    assert_int_equal(cfg.peer_rto_min_ms, 0);
    for (unsigned ms = 5; ms <= 200; ms += 195) { /* both ends the kernel takes */
        char line[64];
        snprintf(line, sizeof line, "    peer_rto_min_ms = %u\n", ms);
        s_config(fx, line, NULL);
        if (ob_node_config_load(fx->path, &cfg, &why) != 0)
            fail_msg("%s", why.text);
        assert_int_equal(cfg.peer_rto_min_ms, ms);
    }
    s_config(fx, "    peer_rto_min_ms = 4\n", NULL);
    s_config_refused(fx, "node/peer_rto_min_ms: 4: the kernel takes 5 to 200 ms");
    s_config(fx, "    peer_rto_min_ms = 201\n", NULL);
    s_config_refused(fx, "node/peer_rto_min_ms: 201 is out of range");
    s_config(fx, "    peer_rto_max_ms = 999\n", NULL);
    s_config_refused(fx, "node/peer_rto_max_ms: 999: the kernel takes 1000 to 120000 ms");
    s_config(fx, "    peer_rto_max_ms = 120001\n", NULL);
    s_config_refused(fx, "node/peer_rto_max_ms: 120001 is out of range");
    s_config(fx, "    peer_heartbeat_ms = 1000\n    peer_heartbeat_timeout_ms = 1999\n", NULL);
    s_config_refused(fx, "node/peer_heartbeat_timeout_ms: 1999 is less than two heartbeats");
    /* The default timeout is checked against a longer heartbeat too. */
    s_config(fx, "    peer_heartbeat_ms = 6000\n", NULL);
    s_config_refused(fx, "node/peer_heartbeat_timeout_ms: 10000 is less than two heartbeats");
    s_config(fx, "    peer_heartbeat_ms = 60001\n", NULL);
    s_config_refused(fx, "node/peer_heartbeat_ms: 60001 is out of range");
    s_config(fx, "    peer_reconnect_max_ms = 99\n", NULL);
    s_config_refused(fx, "node/peer_reconnect_max_ms: 99 is out of range");
    s_config(fx, "    peer_connect_timeout_ms = fast\n", NULL);
    s_config_refused(fx, "node/peer_connect_timeout_ms: not a whole number: 'fast'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_manifest_loads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_manifest_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_node_config_loads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_node_config_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_node_config_application_and_lists, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_node_config_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_node_config_metrics_http, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_node_config_peer_links, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
