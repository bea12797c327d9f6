/* Known C leaks and clean functions for memsight-leak's tests, its scenario program and
 * scripts/bench-leak-vs-psleak.sh (which calls the same functions from Python through ctypes). */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Stores keep the compiler from eliding mallocs whose result is never used. */
void *volatile leaks_sink;
static unsigned long counter;

/* malloc(n) and never free it. */
void leak_malloc(size_t n) {
    char *p = malloc(n);
    if (p) p[0] = 1;
    leaks_sink = p;
}

/* malloc(n) on every m-th call only. */
void leak_every(size_t n, unsigned long m) {
    if (++counter % m == 0) leak_malloc(n);
}

/* malloc(n), write it all, free it: clean. */
void malloc_free(size_t n) {
    char *p = malloc(n);
    if (p) memset(p, 1, n);
    leaks_sink = p;
    free(p);
}

/* Raw anonymous mmap of n bytes, first page touched, never unmapped. */
void leak_mmap(size_t n) {
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) p[0] = 1;
}

/* Raw anonymous mmap of n bytes, every page touched (resident), never unmapped. */
void leak_mmap_touched(size_t n) {
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) memset(p, 1, n);
}

/* open("/dev/null") without close. */
int leak_fd(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

/* open + close: clean. */
void open_close(void) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
}

static void *sleep_forever(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

/* A thread that never ends, detached. */
void leak_thread(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, sleep_forever, NULL) == 0) pthread_detach(t);
}

static void *noop(void *arg) { return arg; }

/* pthread_create + pthread_join: clean. */
void spawn_join(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, noop, NULL) == 0) pthread_join(t, NULL);
}

static void *malloc64(void *arg) {
    (void)arg;
    leak_malloc(64);
    return NULL;
}

/* malloc(64) leaked on a short-lived worker thread (from a non-main arena), joined. */
void leak_on_worker(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, malloc64, NULL) == 0) pthread_join(t, NULL);
}
