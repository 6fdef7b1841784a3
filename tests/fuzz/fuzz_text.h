/*  Shared by the targets of the file loaders (manifest, config): the
    input is written to one file in a folder of this process's own, and
    the loader reads it from there as it reads any file. */
#ifndef OB_FUZZ_TEXT_H
#define OB_FUZZ_TEXT_H

#include "fuzz_common.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_text_dir[64], fuzz_text_file[PATH_MAX];

/* At exit (the end of a run; a crash leaves the folder for its input). */
static void fuzz_text_remove(void)
{
    unlink(fuzz_text_file);
    rmdir(fuzz_text_dir);
}

/* The file's path: `name` in a fresh folder (on /dev/shm when there is
   one, so that a write costs no disk), made once and removed at exit. */
static inline const char *fuzz_text_path(const char *name)
{
    if (fuzz_text_file[0])
        return fuzz_text_file;
    snprintf(fuzz_text_dir, sizeof fuzz_text_dir, "%s/obcast-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    FUZZ_CHECK(mkdtemp(fuzz_text_dir) != NULL);
    snprintf(fuzz_text_file, sizeof fuzz_text_file, "%s/%s", fuzz_text_dir, name);
    FUZZ_CHECK(atexit(fuzz_text_remove) == 0);
    return fuzz_text_file;
}

/* Writes the input to the file. */
static inline const char *fuzz_text_write(const char *name, const uint8_t *data, size_t size)
{
    const char *path = fuzz_text_path(name);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    return path;
}

/* A loader's error names the file: "KIND PATH: ...". */
static inline void fuzz_text_check_why(const char *why, const char *kind, const char *path)
{
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s %s: ", kind, path);
    FUZZ_CHECK(strncmp(why, want, strlen(want)) == 0);
    FUZZ_CHECK(strlen(why) > strlen(want));
}

#endif
