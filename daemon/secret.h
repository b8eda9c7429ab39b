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

/*
 * Reads the secret `configured` (a path, "" when unset) or the credential
 * `credential` ("redis-password", "kafka-sasl-password").
 * Returns 1 with the secret in out (NUL-terminated, trailing newline
 * removed), 0 when there is none, -1 with errstr when a file named by the
 * configuration cannot be read.  The caller wipes out after use.
 */
int secret_read(const char *configured, const char *credential, char *out,
                size_t out_size, char *errstr, size_t errstr_size);

/*
 * Whether the configuration file itself holds a secret (a [kafka] key
 * naming a password or secret) while readable by other users.  Fills key
 * with the first such key.  For a start-up warning.
 */
bool secret_config_exposed(const config *cfg, char *key, size_t key_size);

#endif
