#include "keyfile.h"

#include "hex.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_KEYFILE_LEN (2 * OB_SECRET_LEN + 1)

static int s_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t done = write(fd, p, len);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += done;
        len -= (size_t)done;
    }
    return 0;
}

static int s_fsync_parent(const char *path)
{
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return -1;
    int dir = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    int rc = fsync(dir);
    close(dir);
    return rc;
}

int ob_keyfile_write(ob_crypto_t *crypto, const char *path, const ob_keypair_t *pair, ob_why_t *why)
{
    /* Written whole under a temporary name, then linked into place: link()
       refuses an existing target, so no key is ever overwritten, and the
       final name never holds a partial key. */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ob_why(why, "key file %s: path too long", path);
    uint8_t secret[OB_SECRET_LEN];
    char text[S_KEYFILE_LEN + 1];
    ob_keypair_secret(crypto, pair, secret);
    ob_hex_encode(secret, sizeof secret, text);
    OPENSSL_cleanse(secret, sizeof secret);
    text[2 * OB_SECRET_LEN] = '\n';

    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ob_why(why, "key file %s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || s_write_all(fd, text, S_KEYFILE_LEN) != 0 || fsync(fd) != 0) {
        ob_why(why, "key file %s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (link(tmp, path) != 0) {
        ob_why(why, "key file %s: %s", path,
               errno == EEXIST ? "already exists; refusing to overwrite a key" : strerror(errno));
        unlink(tmp);
        goto out;
    }
    unlink(tmp);
    if (s_fsync_parent(path) != 0) {
        ob_why(why, "key file %s: cannot sync its directory: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

int ob_keyfile_generate(ob_crypto_t *crypto, const char *path, ob_keypair_t *out, ob_why_t *why)
{
    uint8_t secret[OB_SECRET_LEN];
    if (ob_keypair_generate(crypto, out, secret) != 0)
        return ob_why(why, "key file %s: cannot draw randomness for a key", path);
    OPENSSL_cleanse(secret, sizeof secret);
    if (ob_keyfile_write(crypto, path, out, why) != 0) {
        ob_keypair_wipe(out);
        return -1;
    }
    return 0;
}

int ob_keyfile_load(ob_crypto_t *crypto, const char *path, ob_keypair_t *out, ob_why_t *why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ob_why(why, "key file %s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return ob_why(why, "key file %s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ob_why(why, "key file %s: not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return ob_why(why,
                      "key file %s: readable or writable by group or others (mode %04o); "
                      "run chmod 600 %s",
                      path, (unsigned)(st.st_mode & 07777), path);
    }
    /* One byte more than a key file can hold, to notice a longer file. */
    char text[S_KEYFILE_LEN + 2];
    size_t len = 0;
    while (len < sizeof text) {
        ssize_t got = read(fd, text + len, sizeof text - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int err = errno;
            close(fd);
            OPENSSL_cleanse(text, sizeof text);
            return ob_why(why, "key file %s: cannot read: %s", path, strerror(err));
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (len == S_KEYFILE_LEN && text[len - 1] == '\n')
        len--;
    uint8_t secret[OB_SECRET_LEN];
    int rc = 0;
    if (len != 2 * OB_SECRET_LEN ||
        ob_hex_decode(text, len, secret, sizeof secret) != OB_SECRET_LEN)
        rc = ob_why(why, "key file %s: expected 64 hex digits and a newline", path);
    else if (ob_keypair_from_secret(crypto, secret, out) != 0)
        rc = ob_why(why, "key file %s: not a valid secp256k1 secret key", path);
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}
