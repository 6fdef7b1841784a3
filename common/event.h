/*  Monitoring events and other JSON that obcast writes (SPEC §6), built
    with jansson: strings are escaped, numbers exact, and members appear in
    the order they were added, so that each event reads the same way every
    time. Build one with json_pack ("{s:s, s:I}", ...), then dump or
    publish it; both take ownership. */
#ifndef OB_EVENT_H
#define OB_EVENT_H

#include <czmq.h>
#include <jansson.h>

/* The JSON text of *event_p, compact, members in insertion order; frees
   the object and NULLs the pointer. NULL if there was no object (a
   json_pack that failed, e.g. on a string that is not UTF-8) or no memory;
   free() the text. */
char *ob_event_dump(json_t **event_p);

/* Sends `topic`, then the JSON of *event_p, on a PUB socket without
   blocking (dropped if nobody keeps up); frees the object. 0, or -1 if
   there was no object or the send did not happen. */
int ob_event_publish(zsock_t *pub, const char *topic, json_t **event_p);

#endif
