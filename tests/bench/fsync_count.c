/*  fsync_count: an LD_PRELOAD shim that counts a process's fsync and
    fdatasync calls (SQLite's among them) and, at exit, writes them to
    $OB_FSYNC_COUNT_DIR/<pid> as "fsync N\nfdatasync M\n". scripts/bench
    preloads it into every node process: strace stops the tracee at each
    call and, on a loaded machine, cut throughput five times over; this
    costs one atomic add a call.

    Counts reach the file only on a normal exit (exit(), a return from
    main): a node stopped by SIGTERM exits so. Not for production. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int fsync(int fd);
int fdatasync(int fd);

static atomic_ulong s_fsyncs, s_fdatasyncs;

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    atomic_fetch_add(&s_fsyncs, 1);
    return real ? real(fd) : -1;
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    atomic_fetch_add(&s_fdatasyncs, 1);
    return real ? real(fd) : -1;
}

/* A forked child starts from zero: its parent reports what came before. */
static void s_forked(void)
{
    atomic_store(&s_fsyncs, 0);
    atomic_store(&s_fdatasyncs, 0);
}

__attribute__((constructor)) static void s_start(void)
{
    pthread_atfork(NULL, NULL, s_forked);
}

__attribute__((destructor)) static void s_report(void)
{
    const char *dir = getenv("OB_FSYNC_COUNT_DIR");
    if (!dir || (atomic_load(&s_fsyncs) == 0 && atomic_load(&s_fdatasyncs) == 0))
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%ld", dir, (long)getpid());
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "fsync %lu\nfdatasync %lu\n", atomic_load(&s_fsyncs), atomic_load(&s_fdatasyncs));
    fclose(f);
}
