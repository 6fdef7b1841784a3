/*  libFuzzer target: the ZPL node config loader, ob_node_config_load
    (common/config.c), on the input written to a file. A config that loads
    has every required setting, every path absolute or under the config's
    folder, every local endpoint set (ipc:// in runtime_dir by default),
    a TCP local endpoint only with its allowlist folder, and every value in
    its range. One that does not load says why, naming the file. */
#include "fuzz_text.h"

#include "config.h"

#include <libgen.h>

static void s_check_path(const char *path, const char *base)
{
    FUZZ_CHECK(path[0] != '\0');
    FUZZ_CHECK(path[0] == '/' || strncmp(path, base, strlen(base)) == 0);
}

static void s_check_local(const char *endpoint, const char *keys)
{
    FUZZ_CHECK(endpoint[0] != '\0' && strlen(endpoint) < OB_ENDPOINT_MAX);
    if (strncmp(endpoint, "tcp://", 6) == 0)
        FUZZ_CHECK(keys[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_text_write("node.zpl", data, size);
    ob_why_t why = {{0}};
    static ob_node_config_t config; /* large: PATH_MAX paths */
    if (ob_node_config_load(path, &config, &why) != 0) {
        fuzz_text_check_why(why.text, "config", path);
        return 0;
    }
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *base = dirname(copy);
    FUZZ_CHECK(strcmp(config.path, path) == 0);
    FUZZ_CHECK(config.name[0] != '\0');
    s_check_path(config.manifest, base);
    s_check_path(config.key_file, base);
    s_check_path(config.curve_secret_file, base);
    s_check_path(config.data_dir, base);
    s_check_path(config.runtime_dir, base);
    FUZZ_CHECK(config.peer_bind[0] != '\0');
    s_check_local(config.app_endpoint, config.app_keys);
    s_check_local(config.submit_endpoint, config.client_keys);
    s_check_local(config.control_endpoint, config.operator_keys);
    s_check_local(config.monitor_endpoint, config.operator_keys);
    FUZZ_CHECK(config.application == OB_APPLICATION_BUILTIN ||
               config.application == OB_APPLICATION_EXTERNAL);
    FUZZ_CHECK(config.batch_bytes <= OB_MAX_PAYLOAD_LIMIT);
    FUZZ_CHECK(config.journal_sync == OB_DB_SYNC_FULL || config.journal_sync == OB_DB_SYNC_NORMAL);
    FUZZ_CHECK(config.arena_slots >= 4 && config.arena_slots <= 65536);
    FUZZ_CHECK(config.verifiers >= 1 && config.verifiers <= 64);
    FUZZ_CHECK(config.max_restarts <= 10000);
    FUZZ_CHECK(config.restart_window_ms >= 1000 && config.restart_window_ms <= 86400000);
    FUZZ_CHECK(config.params.fetch_outstanding >= 1 && config.params.fetch_outstanding <= 1024);
    return 0;
}
