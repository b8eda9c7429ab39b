#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static secret_result read_file(const char *path, char *out, size_t size,
                               char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", path,
                 strerror(errno));
        return SECRET_ERROR;
    }
    size_t n = fread(out, 1, size - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(errstr, errstr_size, "cannot read %s", path);
        return SECRET_ERROR;
    }
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    return n > 0 ? SECRET_FOUND : SECRET_NONE;
}

secret_result secret_read(const char *configured, const char *credential,
                          char *out, size_t out_size, char *errstr,
                          size_t errstr_size)
{
    out[0] = 0;
    if (configured != NULL && configured[0])
        return read_file(configured, out, out_size, errstr, errstr_size);
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (dir == NULL || dir[0] == 0)
        return SECRET_NONE;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, credential);
    if (access(path, F_OK) != 0)
        return SECRET_NONE;
    return read_file(path, out, out_size, errstr, errstr_size);
}

bool secret_config_exposed(const config *cfg, char *key, size_t key_size)
{
    struct stat st;
    if (cfg->path == NULL || stat(cfg->path, &st) != 0 ||
        (st.st_mode & S_IROTH) == 0)
        return false;
    for (size_t i = 0; i < cfg->nkafka_props; i++) {
        const char *k = cfg->kafka_props[i].key;
        if ((strstr(k, "password") || strstr(k, "secret")) &&
            cfg->kafka_props[i].value[0]) {
            snprintf(key, key_size, "%s", k);
            return true;
        }
    }
    return false;
}
