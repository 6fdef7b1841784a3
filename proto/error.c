#include "error.h"

#include <string.h>

const char *ob_error_name(ob_error_t code)
{
    switch (code) {
    case OB_OK:
        return "ok";
    case OB_ERR_SHORT:
        return "short";
    case OB_ERR_TRAILING:
        return "trailing";
    case OB_ERR_BAD_FLAG:
        return "bad_flag";
    case OB_ERR_PARENT_ON_GENESIS:
        return "parent_on_genesis";
    case OB_ERR_PARENT_MISSING:
        return "parent_missing";
    case OB_ERR_CERT_TOO_MANY:
        return "cert_too_many";
    case OB_ERR_CERT_ORDER:
        return "cert_order";
    case OB_ERR_CERT_INDEX:
        return "cert_index";
    case OB_ERR_UNKNOWN_EPOCH:
        return "unknown_epoch";
    case OB_ERR_TOO_LARGE:
        return "too_large";
    case OB_ERR_UNKNOWN_TYPE:
        return "unknown_type";
    case OB_ERR_BAD_VERSION:
        return "bad_version";
    case OB_ERR_FETCH_COUNT:
        return "fetch_count";
    case OB_ERR_BELOW_QUORUM:
        return "below_quorum";
    case OB_ERR_BAD_SIGNATURE:
        return "bad_signature";
    case OB_ERR_PAYLOAD_MISMATCH:
        return "payload_mismatch";
    case OB_ERR_PEER_MISMATCH:
        return "peer_mismatch";
    case OB_ERR_UNKNOWN_SEQUENCER:
        return "unknown_sequencer";
    case OB_ERR_UNKNOWN_VALIDATOR:
        return "unknown_validator";
    case OB_ERR_HEIGHT_TOO_LOW:
        return "height_too_low";
    case OB_ERR_CHUNK_MISMATCH:
        return "chunk_mismatch";
    case OB_ERR_ACK_EPOCH_BOUNDS:
        return "ack_epoch_bounds";
    case OB_ERR_ACK_HEIGHT_BOUNDS:
        return "ack_height_bounds";
    case OB_ERR_NOT_TIP:
        return "not_tip";
    case OB_ERR_OVER_BUDGET:
        return "over_budget";
    case OB_ERR_BLOCKED:
        return "blocked";
    }
    /* Not a switch default, so that a new code without a name warns. */
    return "invalid";
}

int ob_error_from_name(const char *name)
{
    for (int code = 0; code < OB_ERROR_COUNT; code++)
        if (strcmp(ob_error_name((ob_error_t)code), name) == 0)
            return code;
    return -1;
}
