/*  obcast watch: a live view of one node, redrawn each second from its
    monitoring socket (watch_view.c holds the model and the drawing). */
#include "args.h"
#include "cli.h"
#include "operator.h"
#include "watch_view.h"

#include <czmq.h>
#include <getopt.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define s_usage_error(...) ob_args_usage_error(stderr, "obcast watch", __VA_ARGS__)
/* Events read between two looks at the clock and the keyboard. */
#define S_EVENT_BUDGET 4096
#define S_SCREEN_MAX   (64 * 1024)

static const char *s_usage =
    "usage: obcast watch (--config NODE.zpl | --endpoint EP) [--server-key Z85]\n"
    "                    [--curve CERT] [--interval MS] [--frames N]\n"
    "A live view of the node from its monitoring socket, redrawn every second:\n"
    "every sequencer's certified height and rate, latency p50 and p99, actors with\n"
    "their state and restarts, peers with their connection state, drops by error.\n"
    "q quits (or Ctrl-C).\n" OB_OPERATOR_HELP
    "  --interval MS       redraw every MS milliseconds (default 1000, 100 to 60000)\n"
    "  --frames N          quit after N screens (for scripts; default: until q)\n"
    "Not on a terminal, it prints each screen plainly, one after the other.\n"
    "exit status: 0 quit, 1 the config could not be read or the socket not made,\n"
    "2 bad usage\n";

static struct termios s_saved;
static bool s_raw;

/* Keys without Enter and without echo, while the view runs. */
static void s_terminal_raw(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &s_saved) != 0)
        return;
    struct termios raw = s_saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    s_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void s_terminal_restore(void)
{
    if (s_raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &s_saved);
    s_raw = false;
}

/* Whether a key asks to quit; reads what is waiting, never blocks. */
static bool s_quit_key(void)
{
    char keys[64];
    ssize_t n = read(STDIN_FILENO, keys, sizeof keys);
    for (ssize_t i = 0; i < n; i++)
        if (keys[i] == 'q' || keys[i] == 'Q')
            return true;
    return false;
}

static void s_draw(const char *screen, size_t len, bool tty)
{
    if (!tty) {
        fwrite(screen, 1, len, stdout);
        fputs("\n", stdout);
        fflush(stdout);
        return;
    }
    /* Home, each line cleared to its end, the rest below cleared: no
       flicker from clearing the whole screen first. */
    fputs("\033[H", stdout);
    for (const char *line = screen; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        fwrite(line, 1, n, stdout);
        fputs("\033[K\n", stdout);
        line += n + (end ? 1 : 0);
    }
    fputs("\033[J", stdout);
    fflush(stdout);
}

int ob_cli_watch(int argc, char **argv)
{
    static const struct option options[] = {OB_OPERATOR_OPTIONS,
                                            {"interval", required_argument, NULL, 'i'},
                                            {"frames", required_argument, NULL, 'f'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    ob_operator_target_t target = {0};
    ob_why_t why = {{0}};
    uint64_t interval_ms = 1000, frames = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        int taken = ob_operator_option(&target, c, optarg ? optarg : "", &why);
        if (taken < 0)
            return s_usage_error("%s", why.text);
        if (taken > 0)
            continue;
        switch (c) {
        case 'i':
            if (ob_args_u64(optarg, 100, 60000, &interval_ms) != 0)
                return s_usage_error("--interval must be 100 to 60000 ms, not '%s'", optarg);
            break;
        case 'f':
            if (ob_args_u64(optarg, 1, UINT32_MAX, &frames) != 0)
                return s_usage_error("--frames must be a whole number >= 1, not '%s'", optarg);
            break;
        case 'h':
            fputs(s_usage, stdout);
            return OB_EXIT_OK;
        default:
            return ob_cli_option_error("obcast watch", c, argv);
        }
    }
    if (optind < argc)
        return s_usage_error("unexpected argument '%s'", argv[optind]);
    zsock_t *sub = NULL;
    int rc = ob_operator_open(&target, "obcast watch", "monitor", ZMQ_SUB, &sub);
    if (rc != OB_EXIT_OK)
        return rc;
    static ob_node_config_t config;
    const char *node =
        target.config_path && ob_node_config_load(target.config_path, &config, &why) == 0
            ? config.name
            : target.endpoint;
    ob_watch_view_t *view = ob_watch_view_new(node);
    char *screen = view ? malloc(S_SCREEN_MAX) : NULL;
    if (!screen) {
        fprintf(stderr, "obcast watch: out of memory\n");
        free(screen);
        ob_watch_view_destroy(&view);
        zsock_destroy(&sub);
        return OB_EXIT_FAILED;
    }
    zsock_set_subscribe(sub, "");
    bool tty = isatty(STDOUT_FILENO);
    s_terminal_raw();
    if (tty)
        fputs("\033[?1049h\033[?25l", stdout); /* the alternate screen, no cursor */
    /* zmq_poll rather than zpoller: the keyboard is a file descriptor. */
    zmq_pollitem_t items[2] = {{zsock_resolve(sub), 0, ZMQ_POLLIN, 0},
                               {NULL, STDIN_FILENO, ZMQ_POLLIN, 0}};
    int item_count = s_raw ? 2 : 1;
    int64_t next_draw = zclock_mono();
    uint64_t drawn = 0;
    bool quit = false;
    while (!quit && !zsys_interrupted && (frames == 0 || drawn < frames)) {
        int64_t now = zclock_mono();
        if (now >= next_draw) {
            size_t len = ob_watch_view_render(view, (uint64_t)now, screen, S_SCREEN_MAX);
            s_draw(screen, len, tty);
            drawn++;
            next_draw = now + (int64_t)interval_ms;
            continue;
        }
        if (zmq_poll(items, item_count, (long)(next_draw - now)) <= 0)
            continue;
        if (item_count == 2 && (items[1].revents & ZMQ_POLLIN))
            quit = s_quit_key();
        for (int budget = 0; budget < S_EVENT_BUDGET && (zsock_events(sub) & ZMQ_POLLIN);
             budget++) {
            zmsg_t *msg = zmsg_recv(sub);
            char *topic = msg ? zmsg_popstr(msg) : NULL;
            char *json = msg ? zmsg_popstr(msg) : NULL;
            if (topic && json)
                ob_watch_view_feed(view, topic, json, (uint64_t)zclock_mono());
            zstr_free(&topic);
            zstr_free(&json);
            zmsg_destroy(&msg);
        }
    }
    if (tty)
        fputs("\033[?25h\033[?1049l", stdout);
    fflush(stdout);
    s_terminal_restore();
    free(screen);
    ob_watch_view_destroy(&view);
    zsock_destroy(&sub);
    return OB_EXIT_OK;
}
