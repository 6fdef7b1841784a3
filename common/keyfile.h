/*  Key files: the 32-byte secret as 64 lowercase hex digits and a newline,
    in a file of mode 0600. A key file that group or others can read is
    refused, with an error naming the file, because a leaked validator key
    can sign conflicting acks. */
#ifndef OB_KEYFILE_H
#define OB_KEYFILE_H

#include "crypto.h"
#include "why.h"

/* Writes `pair`'s secret to a new file at `path`, mode 0600, durably (the
   file and its directory are fsynced). Never overwrites: an existing path
   is an error. A crash leaves either no file or the whole key. */
int ob_keyfile_write(ob_crypto_t *crypto, const char *path, const ob_keypair_t *pair,
                     ob_why_t *why);

/* Makes a fresh key and writes it as ob_keyfile_write does. */
int ob_keyfile_generate(ob_crypto_t *crypto, const char *path, ob_keypair_t *out, ob_why_t *why);

/* Loads a key. Fails, naming `path`, if the file is missing, not a regular
   file, readable or writable by group or others, not exactly 64 hex digits
   (an ending newline allowed), or not a valid secret. */
int ob_keyfile_load(ob_crypto_t *crypto, const char *path, ob_keypair_t *out, ob_why_t *why);

#endif
