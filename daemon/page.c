#include "page.h"

#include <string.h>

const page_asset *page_find(const char *path)
{
    if (path == NULL)
        return NULL;
    /* The table names index.html "/" only, so that a listing of the table
     * shows each file once. */
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (size_t i = 0; i < page_nassets; i++)
        if (strcmp(page_assets[i].path, path) == 0)
            return &page_assets[i];
    return NULL;
}
