/*  Key files: written whole with mode 0600, never overwritten, and refused
    with an error naming the file when their mode, type or content is
    wrong. */
#include "testutil.h"

#include "keyfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[128];
    ob_crypto_t *crypto;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/obcast-keyfile-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/node.key", fx->dir);
    fx->crypto = ob_crypto_new();
    *state = fx;
    return fx->crypto ? 0 : -1;
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

static void s_write_raw(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void s_expect_refusal(s_fixture_t *fx, const char *want)
{
    ob_keypair_t pair;
    ob_why_t why;
    memset(&why, 0, sizeof why);
    assert_int_equal(ob_keyfile_load(fx->crypto, fx->path, &pair, &why), -1);
    if (!strstr(why.text, fx->path) || !strstr(why.text, want))
        fail_msg("error \"%s\" should name %s and say \"%s\"", why.text, fx->path, want);
}

static void test_generate_then_load(void **state)
{
    s_fixture_t *fx = *state;
    ob_keypair_t made, loaded;
    assert_int_equal(ob_keyfile_generate(fx->crypto, fx->path, &made, NULL), 0);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(ob_keyfile_load(fx->crypto, fx->path, &loaded, NULL), 0);
    assert_memory_equal(made.pub.bytes, loaded.pub.bytes, 32);
    /* No temporary file is left behind. */
    char listing[256];
    snprintf(listing, sizeof listing, "test $(ls -A '%s' | wc -l) -eq 1", fx->dir);
    assert_int_equal(system(listing), 0);
    unlink(fx->path);
}

static void test_vector_key_round_trip(void **state)
{
    s_fixture_t *fx = *state;
    uint8_t secret[32];
    tu_hex(tv_validators[2].secret_key, secret, 32);
    ob_keypair_t pair, loaded;
    assert_int_equal(ob_keypair_from_secret(fx->crypto, secret, &pair), 0);
    assert_int_equal(ob_keyfile_write(fx->crypto, fx->path, &pair, NULL), 0);
    FILE *f = fopen(fx->path, "r");
    char text[80] = {0};
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    char expect[80];
    snprintf(expect, sizeof expect, "%s\n", tv_validators[2].secret_key);
    assert_string_equal(text, expect);
    assert_int_equal(ob_keyfile_load(fx->crypto, fx->path, &loaded, NULL), 0);
    uint8_t pub[32];
    tu_hex(tv_validators[2].public_key, pub, 32);
    assert_memory_equal(loaded.pub.bytes, pub, 32);
    /* Without the final newline, and in upper case, it still loads. */
    char upper[80];
    for (size_t i = 0; i < 64; i++)
        upper[i] =
            (char)(tv_validators[2].secret_key[i] >= 'a' ? tv_validators[2].secret_key[i] - 32
                                                         : tv_validators[2].secret_key[i]);
    upper[64] = '\0';
    s_write_raw(fx->path, upper, 0600);
    assert_int_equal(ob_keyfile_load(fx->crypto, fx->path, &loaded, NULL), 0);
    assert_memory_equal(loaded.pub.bytes, pub, 32);
    unlink(fx->path);
}

static void test_never_overwrites(void **state)
{
    s_fixture_t *fx = *state;
    ob_keypair_t first, second, loaded;
    ob_why_t why;
    assert_int_equal(ob_keyfile_generate(fx->crypto, fx->path, &first, NULL), 0);
    assert_int_equal(ob_keyfile_generate(fx->crypto, fx->path, &second, &why), -1);
    assert_non_null(strstr(why.text, "already exists"));
    assert_non_null(strstr(why.text, fx->path));
    assert_int_equal(ob_keyfile_load(fx->crypto, fx->path, &loaded, NULL), 0);
    assert_memory_equal(first.pub.bytes, loaded.pub.bytes, 32);
    unlink(fx->path);
}

static void test_refuses_loose_permissions(void **state)
{
    s_fixture_t *fx = *state;
    char text[80];
    snprintf(text, sizeof text, "%s\n", tv_validators[0].secret_key);
    const mode_t loose[] = {0644, 0640, 0604, 0660, 0602, 0620, 0666, 0700 | 0004};
    for (size_t i = 0; i < sizeof loose / sizeof *loose; i++) {
        s_write_raw(fx->path, text, loose[i]);
        s_expect_refusal(fx, "readable or writable by group or others");
    }
    /* 0400 (owner read only) is fine. */
    s_write_raw(fx->path, text, 0400);
    ob_keypair_t pair;
    assert_int_equal(ob_keyfile_load(fx->crypto, fx->path, &pair, NULL), 0);
    unlink(fx->path);
}

static void test_refuses_bad_content(void **state)
{
    s_fixture_t *fx = *state;
    const char *key = tv_validators[0].secret_key;
    char text[200];
    /* Each case is prefix ‖ the first key_chars of a valid key ‖ suffix. */
    struct {
        const char *prefix;
        int key_chars;
        const char *suffix;
        const char *want;
    } cases[] = {
        {"", 0, "", "expected 64 hex digits"},
        {"", 63, "\n", "expected 64 hex digits"},
        {"", 64, "0\n", "expected 64 hex digits"},
        {"", 64, "\n\n", "expected 64 hex digits"},
        {" ", 64, "\n", "expected 64 hex digits"},
        {"", 62, "zz\n", "expected 64 hex digits"},
        {"", 64, "\nextra", "expected 64 hex digits"},
        {"0000000000000000000000000000000000000000000000000000000000000000\n", 0, "",
         "not a valid secp256k1 secret key"},
        {"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n", 0, "",
         "not a valid secp256k1 secret key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, "%s%.*s%s", cases[i].prefix, cases[i].key_chars, key,
                 cases[i].suffix);
        s_write_raw(fx->path, text, 0600);
        s_expect_refusal(fx, cases[i].want);
    }
    unlink(fx->path);
}

static void test_refuses_missing_dirs_and_links(void **state)
{
    s_fixture_t *fx = *state;
    s_expect_refusal(fx, "cannot open");
    assert_int_equal(mkdir(fx->path, 0700), 0);
    s_expect_refusal(fx, "not a regular file");
    rmdir(fx->path);
    /* A symbolic link is not followed: a key must be where it is named. */
    char target[160];
    snprintf(target, sizeof target, "%s/real.key", fx->dir);
    ob_keypair_t pair;
    assert_int_equal(ob_keyfile_generate(fx->crypto, target, &pair, NULL), 0);
    assert_int_equal(symlink(target, fx->path), 0);
    s_expect_refusal(fx, "cannot open");
    unlink(fx->path);
    unlink(target);
    /* Writing into a directory that does not exist names the path. */
    char nowhere[160];
    snprintf(nowhere, sizeof nowhere, "%s/missing/dir/k.key", fx->dir);
    ob_why_t why;
    assert_int_equal(ob_keyfile_generate(fx->crypto, nowhere, &pair, &why), -1);
    assert_non_null(strstr(why.text, nowhere));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_then_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_vector_key_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_never_overwrites, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_loose_permissions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_bad_content, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_missing_dirs_and_links, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("keyfile", tests, NULL, NULL);
}
