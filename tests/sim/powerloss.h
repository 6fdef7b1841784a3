/*  A SQLite VFS that can cut the power (issue 12, item 5), for the
    simulator and the tests: SIGKILL tests only crashes of processes, whose
    writes the kernel keeps; a power cut loses every write not yet synced.

    It wraps the default VFS ("unix") and keeps, for each file it opened by
    name, the image of its bytes as of its last xSync (a file that existed
    before counts as synced as found). Writes go to the real file as usual;
    at a sync the ranges written since are copied into the image.

    A cut is of one path prefix (a node's files), in two steps:
    - ob_powerloss_cut_begin(prefix): from now on, writes, truncations,
      syncs and deletions of those files are dropped, as the machine is
      going down: the caller then closes every connection to them (SQLite
      would otherwise checkpoint and delete the WAL on the last close);
    - ob_powerloss_cut_end(prefix): each file is put back to its image, its
      shared-memory index (-shm, never durable) removed, and writes pass
      again: what a restarted machine finds on its disk.
    A file deleted outside a cut is gone for good (its folder's sync is not
    modelled). Not thread-safe: the simulator is one thread. */
#ifndef OB_POWERLOSS_H
#define OB_POWERLOSS_H

#include <stdint.h>

typedef struct {
    uint64_t syncs;           /* xSync calls that made writes durable */
    uint64_t cuts;            /* cuts ended */
    uint64_t bytes_discarded; /* written and not synced when a cut came */
    uint64_t writes_dropped;  /* writes, truncations and syncs during a cut */
} ob_powerloss_stats_t;

/* Registers the VFS as SQLite's default: every connection opened after
   this goes through it. 0, or -1. Safe to call again. */
int ob_powerloss_install(void);

void ob_powerloss_cut_begin(const char *prefix);
/* 0, or -1 if a file could not be put back (errno says why). */
int ob_powerloss_cut_end(const char *prefix);

ob_powerloss_stats_t ob_powerloss_stats(void);

#endif
