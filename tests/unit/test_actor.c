/*  What every actor process shares (common/actor.c): the supervisor's
    saturating durations, and the guard a child runs between fork and exec
    so that it never outlives its supervisor. */
#include "testutil.h"

#include "actor.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_elapsed_saturates(void **state)
{
    (void)state;
    assert_int_equal(ob_actor_elapsed_ms(1500, 1000), 500);
    assert_int_equal(ob_actor_elapsed_ms(1000, 1000), 0);
    /* A child started after the loop read the clock: `since` is later.
       Plain uint64 subtraction gave 18446744073709551615 ms ("hung"). */
    assert_int_equal(ob_actor_elapsed_ms(1000, 1001), 0);
    assert_int_equal(ob_actor_elapsed_ms(0, UINT64_MAX), 0);
    assert_true(ob_actor_elapsed_ms(UINT64_MAX, 0) == UINT64_MAX);
    assert_true(ob_actor_elapsed_ms(UINT64_MAX, 1) == UINT64_MAX - 1);
}

/* The test process adopts orphans, so that it can wait for a grandchild
   whose parent died. */
static int s_subreaper(void **state)
{
    (void)state;
    return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0 ? 0 : -1;
}

/* A child whose supervisor lives: armed with SIGKILL, and told to go on. */
static void test_guard_with_its_supervisor(void **state)
{
    (void)state;
    pid_t supervisor = getpid();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int armed = 0;
        int rc = ob_actor_spawn_guard(supervisor);
        prctl(PR_GET_PDEATHSIG, &armed);
        _exit(rc == 0 && armed == SIGKILL ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A "supervisor" process forks a child that runs `child_body(supervisor
   pid, pipe)`, and exits when `dies_after_child_wrote` says: at once, or
   once the child wrote a byte. Returns the child's wait status (the
   orphan is ours: subreaper). */
static int s_orphan_status(void (*child_body)(pid_t, int[2]), bool dies_after_child_wrote)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t supervisor = fork();
    assert_true(supervisor >= 0);
    if (supervisor == 0) {
        pid_t me = getpid();
        pid_t child = fork();
        if (child < 0)
            _exit(2);
        if (child == 0)
            child_body(me, ready);
        char byte;
        if (dies_after_child_wrote && read(ready[0], &byte, 1) != 1)
            _exit(5);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(supervisor, &status, 0), supervisor);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(ready[1]); /* a child waiting for the supervisor's end goes on */
    pid_t orphan = wait(&status);
    close(ready[0]);
    assert_true(orphan > 0);
    return status;
}

/* Runs the guard only once its supervisor is gone. */
static void s_guard_late(pid_t supervisor, int ready[2])
{
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) > 0) {
    }
    for (int i = 0; i < 500 && getppid() == supervisor; i++)
        usleep(2000);
    _exit(ob_actor_spawn_guard(supervisor) == -1 ? 0 : 1);
}

/* Guarded, then waits, deaf to SIGTERM. */
static void s_guard_and_wait(pid_t supervisor, int ready[2])
{
    if (ob_actor_spawn_guard(supervisor) != 0)
        _exit(3);
    signal(SIGTERM, SIG_IGN);
    if (write(ready[1], "g", 1) != 1)
        _exit(4);
    sleep(20); /* bounded: without the death signal the test fails, not hangs */
    _exit(6);
}

/* The supervisor died between fork and the guard: the child is told to
   exit (its parent is no longer the supervisor it was forked by). */
static void test_guard_after_its_supervisor_died(void **state)
{
    (void)state;
    int status = s_orphan_status(s_guard_late, false);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Once guarded, a child dies with its supervisor, at once and whatever it
   does (SIGKILL cannot be caught or put off). */
static void test_guarded_child_dies_with_its_supervisor(void **state)
{
    (void)state;
    int status = s_orphan_status(s_guard_and_wait, true);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elapsed_saturates),
        cmocka_unit_test(test_guard_with_its_supervisor),
        cmocka_unit_test(test_guard_after_its_supervisor_died),
        cmocka_unit_test(test_guarded_child_dies_with_its_supervisor),
    };
    return cmocka_run_group_tests_name("actor", tests, s_subreaper, NULL);
}
