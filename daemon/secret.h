/*
 * secret: passwords kept out of the configuration file.  A secret comes
 * from the file its `*_file` key names, else from systemd's credentials
 * directory ($CREDENTIALS_DIRECTORY/<name>, LoadCredential=), else there is
 * none.  A file that is empty (or only a newline) means "no password", so
 * that a unit may declare a credential every deployment need not use.
 *
 * Any thread; reads files and the environment only.
 */
#ifndef ENGAGED_SECRET_H
#define ENGAGED_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define SECRET_MAX 1024

/* What secret_read() found. */
typedef enum secret_result {
    SECRET_ERROR = -1,      /* a file the configuration names is unreadable */
    SECRET_NONE = 0,        /* no secret: no password */
    SECRET_FOUND = 1        /* the secret is in out */
} secret_result;

/*
 * Reads the secret `configured` (a path, "" when unset) or the credential
 * `credential` ("redis-password", "kafka-sasl-password").
 * Returns SECRET_FOUND with the secret in out (NUL-terminated, trailing
 * newline removed), SECRET_NONE when there is none, SECRET_ERROR with
 * errstr when a file named by the configuration cannot be read.  The caller
 * wipes out after use.
 */
secret_result secret_read(const char *configured, const char *credential, char *out,
                size_t out_size, char *errstr, size_t errstr_size);

/*
 * Whether the configuration file itself holds a secret (a [kafka] key
 * naming a password or secret) while readable by other users.  Fills key
 * with the first such key.  For a start-up warning.
 */
bool secret_config_exposed(const config *cfg, char *key, size_t key_size);

#endif
