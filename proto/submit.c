#include "submit.h"

const char *ob_submit_refusal_name(int reason)
{
    switch ((ob_submit_refusal_t)reason) {
    case OB_SUBMIT_TOO_LARGE:
        return "too_large";
    case OB_SUBMIT_QUEUE_FULL:
        return "queue_full";
    case OB_SUBMIT_NOT_SEQUENCER:
        return "not_sequencer";
    case OB_SUBMIT_APP_ATTACHED:
        return "app_attached";
    case OB_SUBMIT_MALFORMED:
        return "malformed";
    }
    return "unknown";
}

const char *ob_fetch_status_name(int status)
{
    switch ((ob_fetch_status_t)status) {
    case OB_FETCH_FOUND:
        return "found";
    case OB_FETCH_NOT_FOUND:
        return "not_found";
    case OB_FETCH_BUSY:
        return "busy";
    case OB_FETCH_MALFORMED:
        return "malformed";
    }
    return "unknown";
}
