/* A separate shared library the leaksites extension links (libleaksites_helper.so): its
 * allocation is made in another ELF object than the extension, whose own imports are patched
 * separately. Built by build.py with -g. */
#include <stdlib.h>
#include <string.h>

void *helperlib_alloc(size_t n) {
    void *p = malloc(n); /* LEAK-SITE lib_malloc */
    if (p)
        memset(p, 0x5a, n);
    return p;
}
