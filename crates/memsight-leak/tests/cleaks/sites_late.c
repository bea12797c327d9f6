/* Loaded with dlopen only once allocation sites are being recorded: its GOT must be rewritten
 * when it is loaded. */
#include <stdlib.h>

void *volatile sites_late_sink;

void late_leak(void) {
    sites_late_sink = malloc(24); /* SITE: late */
}
