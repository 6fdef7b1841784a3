/*  scripts/sim-soak: random seeds of unclean_shutdown and byzantine for a
    number of seconds of wall time. Prints every failing seed with its
    trace, and a summary line. Exit 1 if any seed violated an invariant or
    missed its goal. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double s_wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct {
    uint32_t sequencers;
    uint64_t height;
} s_goal_t;

static bool s_reached(sim_t *sim, void *ctx)
{
    const s_goal_t *goal = ctx;
    return sim_events(sim) % 64 == 0 && sim_all_reached(sim, goal->sequencers, 0, goal->height);
}

/* One seed: 0 if clean and the goal was met. */
static int s_run(uint64_t seed, bool byzantine, uint64_t height)
{
    sim_config_t c = sim_config_default(seed, 4);
    s_goal_t goal = {0xf, height};
    if (byzantine) {
        c.byzantine = 1u << (seed % 4);
        goal.sequencers = 0xf & ~c.byzantine;
        c.loss = 0.02;
    } else {
        c.crash_every_us = 200000 + seed % 800000;
        c.loss = (seed % 3 == 0) ? 0.0 : 0.01;
    }
    sim_t *sim = sim_new(&c);
    bool ok = sim_run(sim, 600000, s_reached, &goal);
    int rc = 0;
    if (!ok || sim_violations(sim) > 0) {
        fprintf(stderr, "sim-soak: seed %llu (%s) FAILED: %s\n", (unsigned long long)seed,
                byzantine ? "byzantine" : "unclean_shutdown",
                sim_violations(sim) ? sim_violation(sim) : "goal not reached by the deadline");
        sim_print_trace(sim);
        rc = 1;
    }
    sim_destroy(&sim);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: sim_soak SECONDS [FIRST_SEED] [HEIGHT]\n");
        return 2;
    }
    char *end = NULL;
    double seconds = strtod(argv[1], &end);
    if (!end || *end || seconds <= 0) {
        fprintf(stderr, "sim_soak: SECONDS must be a positive number, not '%s'\n", argv[1]);
        return 2;
    }
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : (uint64_t)time(NULL) * 1000;
    uint64_t height = argc > 3 ? strtoull(argv[3], NULL, 10) : 30;
    double start = s_wall();
    uint64_t runs = 0, failures = 0, first = seed;
    while (s_wall() - start < seconds) {
        failures += (uint64_t)s_run(seed, seed % 2 == 1, height);
        runs++;
        seed++;
    }
    printf("sim-soak: %llu seeds run (%llu to %llu), %llu violations or stalls, %.0f s\n",
           (unsigned long long)runs, (unsigned long long)first, (unsigned long long)(seed - 1),
           (unsigned long long)failures, s_wall() - start);
    return failures ? 1 : 0;
}
