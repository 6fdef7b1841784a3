/*  Stable error names of SPEC §2.

    Every way a message can fail has its own code here and its own name.
    The codes are ours; the names are the contract: they appear in logs,
    in `drop` events and in the conformance vectors. */
#ifndef OB_ERROR_H
#define OB_ERROR_H

typedef enum {
    OB_OK = 0,
    /* decoding */
    OB_ERR_SHORT,
    OB_ERR_TRAILING,
    OB_ERR_BAD_FLAG,
    OB_ERR_PARENT_ON_GENESIS,
    OB_ERR_PARENT_MISSING,
    OB_ERR_CERT_TOO_MANY,
    OB_ERR_CERT_ORDER,
    OB_ERR_CERT_INDEX,
    OB_ERR_UNKNOWN_EPOCH,
    OB_ERR_TOO_LARGE,
    OB_ERR_UNKNOWN_TYPE,
    OB_ERR_BAD_VERSION,
    OB_ERR_FETCH_COUNT,
    /* verification */
    OB_ERR_BELOW_QUORUM,
    OB_ERR_BAD_SIGNATURE,
    OB_ERR_PAYLOAD_MISMATCH,
    /* protocol rules (§3) */
    OB_ERR_PEER_MISMATCH,
    OB_ERR_UNKNOWN_SEQUENCER,
    OB_ERR_UNKNOWN_VALIDATOR,
    OB_ERR_HEIGHT_TOO_LOW,
    OB_ERR_CHUNK_MISMATCH,
    OB_ERR_ACK_EPOCH_BOUNDS,
    OB_ERR_ACK_HEIGHT_BOUNDS,
    OB_ERR_NOT_TIP,
    OB_ERR_OVER_BUDGET,
    OB_ERR_BLOCKED,
} ob_error_t;

/* Number of codes, OB_OK included; for tables indexed by code. */
#define OB_ERROR_COUNT (OB_ERR_BLOCKED + 1)

/* The SPEC §2 name of a code ("ok" for OB_OK, "invalid" for a value that
   is not a code). Never NULL. */
const char *ob_error_name(ob_error_t code);

/* The code whose name is `name`; -1 if there is none. */
int ob_error_from_name(const char *name);

#endif
