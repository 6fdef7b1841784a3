/*  A test tool: connects a PUSH socket to an actor's endpoint and sends
    each argument, hex-decoded, as one frame; `-` sends a two-frame
    message. It stands for a buggy or hostile actor of the same node.

        push_frames ENDPOINT HEX...    exit 0 once every frame is queued */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_unhex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return -1;
        out[i] = (uint8_t)byte;
    }
    *len = n / 2;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: push_frames ENDPOINT HEX...\n");
        return 2;
    }
    zsock_t *push = zsock_new_push(argv[1]);
    if (!push) {
        fprintf(stderr, "push_frames: cannot connect to %s\n", argv[1]);
        return 1;
    }
    zsock_set_linger(push, 2000);
    static uint8_t frame[1 << 16];
    for (int i = 2; i < argc; i++) {
        size_t len = 0;
        if (strcmp(argv[i], "-") == 0) { /* a message of two frames */
            zmq_send(zsock_resolve(push), "\x00\x0b\x01", 3, ZMQ_SNDMORE);
            zmq_send(zsock_resolve(push), "tail", 4, 0);
            continue;
        }
        if (s_unhex(argv[i], frame, sizeof frame, &len) != 0) {
            fprintf(stderr, "push_frames: not hex: %s\n", argv[i]);
            zsock_destroy(&push);
            return 2;
        }
        zmq_send(zsock_resolve(push), frame, len, 0);
    }
    zsock_destroy(&push);
    return 0;
}
