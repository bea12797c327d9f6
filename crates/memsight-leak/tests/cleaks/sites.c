/* Leaks whose allocation sites memsight-leak must name, and clean twins; built with -g -O0 by
 * tests/sites.rs. Each allocating line carries a SITE marker: the test finds the expected line
 * number by it, so editing this file never breaks the test. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void sites_dep_alloc(size_t n); /* in sites_dep.c, a separate shared library */

void *volatile sites_sink;

static void *leak_helper(size_t n) {
    return malloc(n); /* SITE: helper */
}

/* 64 bytes per call through a helper. */
void site_malloc_helper(void) {
    char *p = leak_helper(64);
    if (p) p[0] = 1;
    sites_sink = p;
}

void site_calloc(void) {
    sites_sink = calloc(4, 16); /* SITE: calloc */
}

void site_realloc_null(void) {
    sites_sink = realloc(NULL, 48); /* SITE: realloc */
}

void site_strdup(void) {
    sites_sink = strdup("a leaked string"); /* SITE: strdup */
}

void site_mmap(void) {
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* SITE: mmap */
    if (p != MAP_FAILED) p[0] = 1;
}

/* The malloc happens in another library this one links. */
void site_dep(void) {
    sites_dep_alloc(40);
}

/* Clean: malloc and free. */
void clean_malloc_free(void) {
    void *p = malloc(64);
    sites_sink = p;
    free(p);
}

/* Clean once full: a cache of 64 entries, one more every 32nd call until full (half of the
 * attribution phase's batches see it grow). */
static void *cache[64];
static unsigned cache_calls, cache_n;
void cache_slow_fill(void) {
    if (cache_calls++ % 32 == 0 && cache_n < 64) cache[cache_n++] = malloc(100); /* SITE: cache */
}

static void *worker(void *arg) {
    void *p = malloc(32);
    free(p);
    return arg;
}

/* Clean: a thread started and joined. */
void clean_spawn_join(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) == 0) pthread_join(t, NULL);
}
