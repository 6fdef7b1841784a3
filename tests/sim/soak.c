/*  scripts/sim-soak: random seeds of the scenarios unclean_shutdown,
    byzantine, sequencer_gone, lossy_contiguous and fetch_byzantine, in turn, for a number
    of seconds of wall time. Prints every failing seed with its trace, and
    a summary line. Exit 1 if any seed violated an invariant or missed its
    goal. */
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

typedef enum {
    S_UNCLEAN_SHUTDOWN,
    S_BYZANTINE,
    S_SEQUENCER_GONE,
    S_LOSSY_CONTIGUOUS,
    S_FETCH_BYZANTINE,
    S_KINDS
} s_kind_t;

static const char *const s_kind_names[S_KINDS] = {"unclean_shutdown", "byzantine", "sequencer_gone",
                                                  "lossy_contiguous", "fetch_byzantine"};

typedef struct {
    uint32_t sequencers, except;
    uint64_t height;
} s_goal_except_t;

static bool s_reached_goal_except(sim_t *sim, void *ctx)
{
    const s_goal_except_t *goal = ctx;
    return sim_events(sim) % 64 == 0 &&
           sim_all_reached(sim, goal->sequencers, goal->except, goal->height);
}

typedef struct {
    s_goal_except_t locks;
    int late, gone;
} s_whole_t;

/* The Locks, and then every payload at the late validator: the payloads
   come in answers of their own (a first request can go to the sequencer
   that is gone, and waits for its retry), so a run that stopped at the
   Locks would judge too early. The payloads are read from its file: not at
   every event. */
static bool s_learned_whole(sim_t *sim, void *ctx)
{
    const s_whole_t *w = ctx;
    return sim_events(sim) % 1024 == 0 &&
           sim_all_reached(sim, w->locks.sequencers, w->locks.except, w->locks.height) &&
           sim_certified_payloads(sim, w->late, w->gone, 0, w->locks.height) == w->locks.height + 1;
}

/* sequencer_gone: a sequencer (the seed picks which) certifies to
   `height` and leaves for good; a validator that was down throughout
   (another one) comes back and must learn the whole chain, payloads too,
   by fetching. */
static bool s_sequencer_gone(sim_t *sim, int gone, int late, uint64_t height)
{
    s_goal_except_t first = {1u << gone, 1u << late, height};
    if (!sim_run(sim, 300000, s_reached_goal_except, &first))
        return false;
    int witness = 0; /* a node that was up throughout */
    while (witness == gone || witness == late)
        witness++;
    int64_t top = sim_max_lock_height(sim, witness, gone);
    sim_crash_node(sim, gone, 1000000000);
    sim_start_node(sim, late);
    s_whole_t back = {{1u << gone, 1u << gone, (uint64_t)top}, late, gone};
    bool learned = sim_run(sim, sim_now_ms(sim) + 120000, s_learned_whole, &back);
    uint64_t payloads = sim_certified_payloads(sim, late, gone, 0, (uint64_t)top);
    if (!learned || payloads != (uint64_t)top + 1)
        fprintf(stderr,
                "sim-soak: sequencer_gone (sequencer %d, late validator %d): chain certified to "
                "%lld; the late validator holds Locks 0..%lld contiguous, %llu payloads\n",
                gone, late, (long long)top, (long long)sim_contiguous_height(sim, late, gone),
                (unsigned long long)payloads);
    if (!learned || payloads != (uint64_t)top + 1) {
        for (int r = 0; r < 4; r++)
            fprintf(stderr, "  reporter %d: Locks contiguous to %lld, highest %lld\n", r,
                    (long long)sim_contiguous_height(sim, r, gone),
                    (long long)sim_max_lock_height(sim, r, gone));
        for (uint64_t h = 0; h <= (uint64_t)top; h++)
            if (sim_certified_payloads(sim, late, gone, h, h) != 1)
                fprintf(stderr, "  the late validator lacks the payload at height %llu\n",
                        (unsigned long long)h);
    }
    return learned && payloads == (uint64_t)top + 1;
}

/* One seed: 0 if clean and the goal was met. */
static int s_run(uint64_t seed, s_kind_t kind, uint64_t height)
{
    sim_config_t c = sim_config_default(seed, 4);
    s_goal_t goal = {0xf, height};
    int gone = (int)(seed / S_KINDS % 4), late = (gone + 1 + (int)(seed / 16 % 3)) % 4;
    switch (kind) {
    case S_BYZANTINE:
        c.byzantine = 1u << (seed / S_KINDS % 4);
        goal.sequencers = 0xf & ~c.byzantine;
        c.loss = 0.02;
        break;
    case S_UNCLEAN_SHUTDOWN:
        c.crash_every_us = 200000 + seed % 800000;
        c.loss = (seed % 3 == 0) ? 0.0 : 0.01;
        /* One seed in two: whole-node crashes are power cuts (powerloss.h),
           under durability power or process in turn. */
        if (seed / S_KINDS % 2 == 1) {
            c.power_loss = true;
            c.durability = seed / S_KINDS % 4 == 1 ? SIM_DURABILITY_POWER : SIM_DURABILITY_PROCESS;
        }
        break;
    case S_SEQUENCER_GONE:
        c.offline = 1u << late;
        break;
    case S_LOSSY_CONTIGUOUS:
        c.latency_us = 50000;
        c.jitter_us = 40000;
        c.loss = 0.5;
        break;
    case S_FETCH_BYZANTINE:
        /* The fetch liar as node 3: forged and wrong answers, floods; the
           honest chains must get through. */
        c.byzantine = 1u << 3;
        c.liar = SIM_LIAR_FETCH;
        c.loss = 0.1;
        c.block_ms = 2000;
        goal.sequencers = 0x7;
        break;
    case S_KINDS:
        return 1; /* not a kind */
    }
    sim_t *sim = sim_new(&c);
    bool ok = kind == S_SEQUENCER_GONE
                  ? s_sequencer_gone(sim, gone, late, height)
                  : sim_run(sim, kind == S_LOSSY_CONTIGUOUS ? 1200000 : 600000, s_reached, &goal);
    int rc = 0;
    if (!ok || sim_violations(sim) > 0) {
        fprintf(stderr, "sim-soak: seed %llu (%s) FAILED: %s\n", (unsigned long long)seed,
                s_kind_names[kind],
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
    uint64_t runs = 0, failures = 0, first = seed, by_kind[S_KINDS] = {0};
    while (s_wall() - start < seconds) {
        s_kind_t kind = (s_kind_t)(seed % S_KINDS);
        failures += (uint64_t)s_run(seed, kind, height);
        by_kind[kind]++;
        runs++;
        seed++;
    }
    printf("sim-soak: %llu seeds run (%llu to %llu: %llu unclean_shutdown, %llu byzantine, %llu "
           "sequencer_gone, %llu lossy_contiguous, %llu fetch_byzantine), %llu violations or "
           "stalls, %.0f s\n",
           (unsigned long long)runs, (unsigned long long)first, (unsigned long long)(seed - 1),
           (unsigned long long)by_kind[S_UNCLEAN_SHUTDOWN],
           (unsigned long long)by_kind[S_BYZANTINE], (unsigned long long)by_kind[S_SEQUENCER_GONE],
           (unsigned long long)by_kind[S_LOSSY_CONTIGUOUS],
           (unsigned long long)by_kind[S_FETCH_BYZANTINE], (unsigned long long)failures,
           s_wall() - start);
    return failures ? 1 : 0;
}
