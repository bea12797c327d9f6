/* A separate shared library that sites.c links: its malloc must be named here, not in the
 * caller. */
#include <stdlib.h>

void *volatile sites_dep_sink;

void sites_dep_alloc(size_t n) {
    sites_dep_sink = malloc(n); /* SITE: dep */
}
