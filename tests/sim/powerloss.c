#include "powerloss.h"

#include <sqlite3.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounds: the simulator's nodes open a few files each. */
#define S_FILES_MAX  512
#define S_RANGES_MAX (1 << 20)

typedef struct {
    int64_t offset, len;
} s_range_t;

/* One file by name: its durable image and what was written since. */
typedef struct {
    char *path;
    uint8_t *image;
    int64_t image_len, image_cap;
    s_range_t *pending;
    size_t pending_count, pending_cap;
    int64_t truncated_to; /* the lowest size a truncation left since the last sync; -1 none */
    int opens;
} s_entry_t;

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct, szOsFile of the real VFS */
    s_entry_t *entry;   /* NULL: a temporary file without a name */
} s_file_t;

static sqlite3_vfs *s_real;
static sqlite3_vfs s_vfs;
static s_entry_t s_entries[S_FILES_MAX];
static size_t s_entry_count;
static char *s_cut_prefix; /* the prefix whose power is going down; NULL none */
static ob_powerloss_stats_t s_stats;

static bool s_cut(const s_entry_t *e)
{
    return e && s_cut_prefix && strncmp(e->path, s_cut_prefix, strlen(s_cut_prefix)) == 0;
}

static bool s_cut_path(const char *path)
{
    return path && s_cut_prefix && strncmp(path, s_cut_prefix, strlen(s_cut_prefix)) == 0;
}

static s_entry_t *s_find(const char *path)
{
    for (size_t i = 0; i < s_entry_count; i++)
        if (s_entries[i].path && strcmp(s_entries[i].path, path) == 0)
            return &s_entries[i];
    return NULL;
}

static int s_reserve(s_entry_t *e, int64_t len)
{
    if (len <= e->image_cap)
        return 0;
    int64_t cap = e->image_cap ? e->image_cap : 65536;
    while (cap < len)
        cap *= 2;
    uint8_t *grown = realloc(e->image, (size_t)cap);
    if (!grown)
        return -1;
    memset(grown + e->image_cap, 0, (size_t)(cap - e->image_cap));
    e->image = grown;
    e->image_cap = cap;
    return 0;
}

/* The real file's bytes [offset, offset + len) into the image. */
static int s_copy_in(s_entry_t *e, sqlite3_file *real, int64_t offset, int64_t len)
{
    if (len <= 0)
        return SQLITE_OK;
    if (s_reserve(e, offset + len) != 0)
        return SQLITE_NOMEM;
    int rc = real->pMethods->xRead(real, e->image + offset, (int)len, offset);
    /* A short read zero-fills: the file ends there, as the image will. */
    return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_OK : rc;
}

/* --- the file methods: the real file's, but for what a cut drops --------- */

static int s_close(sqlite3_file *f)
{
    s_file_t *p = (s_file_t *)f;
    int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
    if (p->entry)
        p->entry->opens--;
    return rc;
}

static int s_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xRead(p->real, buf, amt, off);
}

static int s_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    s_file_t *p = (s_file_t *)f;
    if (s_cut(p->entry)) {
        s_stats.writes_dropped++;
        return SQLITE_OK;
    }
    int rc = p->real->pMethods->xWrite(p->real, buf, amt, off);
    s_entry_t *e = p->entry;
    if (rc == SQLITE_OK && e) {
        if (e->pending_count == e->pending_cap) {
            size_t cap = e->pending_cap ? e->pending_cap * 2 : 64;
            s_range_t *grown =
                cap <= S_RANGES_MAX ? realloc(e->pending, cap * sizeof *grown) : NULL;
            if (!grown)
                return SQLITE_NOMEM;
            e->pending = grown;
            e->pending_cap = cap;
        }
        e->pending[e->pending_count++] = (s_range_t){off, amt};
    }
    return rc;
}

static int s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    s_file_t *p = (s_file_t *)f;
    if (s_cut(p->entry)) {
        s_stats.writes_dropped++;
        return SQLITE_OK;
    }
    int rc = p->real->pMethods->xTruncate(p->real, size);
    if (rc == SQLITE_OK && p->entry &&
        (p->entry->truncated_to < 0 || size < p->entry->truncated_to))
        p->entry->truncated_to = size;
    return rc;
}

static int s_sync(sqlite3_file *f, int flags)
{
    s_file_t *p = (s_file_t *)f;
    s_entry_t *e = p->entry;
    if (s_cut(e)) {
        s_stats.writes_dropped++;
        return SQLITE_OK;
    }
    int rc = p->real->pMethods->xSync(p->real, flags);
    if (rc != SQLITE_OK || !e)
        return rc;
    sqlite3_int64 size = 0;
    if ((rc = p->real->pMethods->xFileSize(p->real, &size)) != SQLITE_OK)
        return rc;
    if (e->truncated_to >= 0 && e->truncated_to < e->image_len)
        memset(e->image + e->truncated_to, 0, (size_t)(e->image_len - e->truncated_to));
    for (size_t i = 0; i < e->pending_count && rc == SQLITE_OK; i++) {
        s_range_t r = e->pending[i];
        if (r.offset >= size)
            continue;
        if (r.offset + r.len > size)
            r.len = size - r.offset;
        rc = s_copy_in(e, p->real, r.offset, r.len);
    }
    if (rc == SQLITE_OK && s_reserve(e, size) != 0)
        rc = SQLITE_NOMEM;
    if (rc != SQLITE_OK)
        return rc;
    if (size < e->image_len)
        memset(e->image + size, 0, (size_t)(e->image_len - size));
    e->image_len = size;
    e->pending_count = 0;
    e->truncated_to = -1;
    s_stats.syncs++;
    return SQLITE_OK;
}

static int s_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xFileSize(p->real, size);
}

static int s_lock(sqlite3_file *f, int level)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xLock(p->real, level);
}

static int s_unlock(sqlite3_file *f, int level)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xUnlock(p->real, level);
}

static int s_check_lock(sqlite3_file *f, int *out)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int s_control(sqlite3_file *f, int op, void *arg)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int s_sector(sqlite3_file *f)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xSectorSize(p->real);
}

static int s_device(sqlite3_file *f)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int s_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xShmMap(p->real, page, size, extend, out);
}

static int s_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void s_shm_barrier(sqlite3_file *f)
{
    s_file_t *p = (s_file_t *)f;
    p->real->pMethods->xShmBarrier(p->real);
}

static int s_shm_unmap(sqlite3_file *f, int delete_flag)
{
    s_file_t *p = (s_file_t *)f;
    return p->real->pMethods->xShmUnmap(p->real, delete_flag);
}

static const sqlite3_io_methods s_io = {
    .iVersion = 2, /* WAL's shared memory; no xFetch: SQLite reads with xRead */
    .xClose = s_close,
    .xRead = s_read,
    .xWrite = s_write,
    .xTruncate = s_truncate,
    .xSync = s_sync,
    .xFileSize = s_file_size,
    .xLock = s_lock,
    .xUnlock = s_unlock,
    .xCheckReservedLock = s_check_lock,
    .xFileControl = s_control,
    .xSectorSize = s_sector,
    .xDeviceCharacteristics = s_device,
    .xShmMap = s_shm_map,
    .xShmLock = s_shm_lock,
    .xShmBarrier = s_shm_barrier,
    .xShmUnmap = s_shm_unmap,
};

/* --- the VFS ------------------------------------------------------------- */

static s_entry_t *s_entry_for(const char *path)
{
    s_entry_t *e = s_find(path);
    if (e)
        return e;
    if (s_entry_count == S_FILES_MAX)
        return NULL;
    e = &s_entries[s_entry_count];
    memset(e, 0, sizeof *e);
    e->path = strdup(path);
    if (!e->path)
        return NULL;
    e->truncated_to = -1;
    s_entry_count++;
    return e;
}

static int s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    s_file_t *p = (s_file_t *)f;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)&p[1];
    int rc = s_real->xOpen(s_real, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        p->base.pMethods = NULL;
        return rc;
    }
    p->base.pMethods = &s_io;
    if (!name)
        return SQLITE_OK;
    bool known = s_find(name) != NULL;
    p->entry = s_entry_for(name);
    if (!p->entry)
        return SQLITE_OK; /* over the bound: passed through, never cut */
    p->entry->opens++;
    if (!known) {
        /* What a file held before we saw it counts as on the disk. */
        sqlite3_int64 size = 0;
        rc = p->real->pMethods->xFileSize(p->real, &size);
        if (rc == SQLITE_OK)
            rc = s_copy_in(p->entry, p->real, 0, size);
        p->entry->image_len = size;
    }
    return rc;
}

static int s_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    if (s_cut_path(name)) {
        s_stats.writes_dropped++;
        return SQLITE_OK;
    }
    s_entry_t *e = s_find(name);
    if (e) {
        e->image_len = 0;
        e->pending_count = 0;
        e->truncated_to = -1;
    }
    return s_real->xDelete(s_real, name, sync_dir);
}

static int s_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return s_real->xAccess(s_real, name, flags, out);
}

static int s_full_path(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return s_real->xFullPathname(s_real, name, n, out);
}

static int s_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_real->xRandomness(s_real, n, out);
}

static int s_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return s_real->xSleep(s_real, us);
}

static int s_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return s_real->xCurrentTime(s_real, out);
}

static int s_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return s_real->xGetLastError(s_real, n, out);
}

int ob_powerloss_install(void)
{
    if (s_real)
        return 0;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return -1;
    s_vfs = (sqlite3_vfs){
        .iVersion = 1,
        .szOsFile = (int)sizeof(s_file_t) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = "obcast-powerloss",
        .xOpen = s_open,
        .xDelete = s_delete,
        .xAccess = s_access,
        .xFullPathname = s_full_path,
        .xDlOpen = NULL,
        .xRandomness = s_randomness,
        .xSleep = s_sleep,
        .xCurrentTime = s_current_time,
        .xGetLastError = s_last_error,
    };
    s_real = real;
    if (sqlite3_vfs_register(&s_vfs, 1) != SQLITE_OK) {
        s_real = NULL;
        return -1;
    }
    return 0;
}

void ob_powerloss_cut_begin(const char *prefix)
{
    assert(s_real && !s_cut_prefix);
    s_cut_prefix = strdup(prefix);
    assert(s_cut_prefix);
    for (size_t i = 0; i < s_entry_count; i++) {
        s_entry_t *e = &s_entries[i];
        if (!s_cut(e))
            continue;
        for (size_t k = 0; k < e->pending_count; k++)
            s_stats.bytes_discarded += (uint64_t)e->pending[k].len;
    }
}

int ob_powerloss_cut_end(const char *prefix)
{
    assert(s_cut_prefix && strcmp(prefix, s_cut_prefix) == 0);
    int result = 0;
    for (size_t i = 0; i < s_entry_count; i++) {
        s_entry_t *e = &s_entries[i];
        if (!s_cut(e))
            continue;
        assert(e->opens == 0); /* the caller closed every connection first */
        int fd = open(e->path, O_WRONLY | O_CREAT, 0600);
        bool ok = fd >= 0;
        for (int64_t done = 0; ok && done < e->image_len;) {
            ssize_t n = pwrite(fd, e->image + done, (size_t)(e->image_len - done), done);
            ok = n > 0;
            done += ok ? n : 0;
        }
        ok = ok && ftruncate(fd, e->image_len) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok)
            result = -1;
        e->pending_count = 0;
        e->truncated_to = -1;
        /* The WAL index lives in shared memory, gone with the power. */
        size_t len = strlen(e->path);
        if (len > 4 && strcmp(e->path + len - 4, "-wal") == 0) {
            char shm[4096];
            snprintf(shm, sizeof shm, "%.*s-shm", (int)(len - 4), e->path);
            unlink(shm);
        }
    }
    free(s_cut_prefix);
    s_cut_prefix = NULL;
    s_stats.cuts++;
    return result;
}

ob_powerloss_stats_t ob_powerloss_stats(void)
{
    return s_stats;
}
