#include "event.h"

#include "log.h"

#include <assert.h>
#include <string.h>

char *ob_event_dump(json_t **event_p)
{
    assert(event_p);
    json_t *event = *event_p;
    *event_p = NULL;
    if (!event)
        return NULL;
    char *text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(event);
    return text;
}

int ob_event_publish(zsock_t *pub, const char *topic, json_t **event_p)
{
    char *text = ob_event_dump(event_p);
    if (!text) {
        /* A programmer's error or no memory: the event is lost, not the actor. */
        ob_warn("event '%s' could not be written as JSON: dropped", topic);
        return -1;
    }
    void *sock = zsock_resolve(pub);
    int rc = zmq_send(sock, topic, strlen(topic), ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0 &&
                     zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT) >= 0
                 ? 0
                 : -1;
    free(text);
    return rc;
}
