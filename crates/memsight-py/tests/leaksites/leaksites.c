/* The leak-site corpus: one leak per function, each leaking line marked with a LEAK-SITE
 * comment naming its case (the tests find the line by the marker, never by its number), and
 * clean twins that allocate and release, or fill a bounded cache and stop. Built by build.py
 * with -g (and -O0, so each marked line is the call's line in the debug info). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* In libleaksites_helper.so (helperlib.c). */
void *helperlib_alloc(size_t n);

/* Where leaked pointers go, so the compiler cannot drop an allocation. */
static void *volatile sink;

static void *leak_helper(size_t n) {
    void *p = malloc(n); /* LEAK-SITE malloc_helper */
    if (p)
        memset(p, 1, n);
    return p;
}

static void *build(size_t n) { return leak_helper(n); }

/* malloc in a helper two frames below the extension's function. */
static PyObject *malloc_helper(PyObject *self, PyObject *unused) {
    if (!(sink = build(1024)))
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *calloc_leak(PyObject *self, PyObject *unused) {
    if (!(sink = calloc(16, 32))) /* LEAK-SITE calloc */
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *realloc_null_leak(PyObject *self, PyObject *unused) {
    if (!(sink = realloc(NULL, 384))) /* LEAK-SITE realloc_null */
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *strdup_leak(PyObject *self, PyObject *unused) {
    if (!(sink = strdup("a string strdup'd on every call and never freed"))) /* LEAK-SITE strdup */
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *mmap_leak(PyObject *self, PyObject *unused) {
    void *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* LEAK-SITE mmap */
    if (p == MAP_FAILED)
        return PyErr_SetFromErrno(PyExc_OSError);
    sink = p;
    Py_RETURN_NONE;
}

static PyObject *pymem_leak(PyObject *self, PyObject *unused) {
    if (!(sink = PyMem_Malloc(200))) /* LEAK-SITE pymem_malloc */
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *list_no_decref(PyObject *self, PyObject *unused) {
    PyObject *l = PyList_New(3); /* LEAK-SITE list_no_decref */
    if (!l)
        return NULL;
    /* Py_DECREF(l); forgotten */
    Py_RETURN_NONE;
}

static PyObject *bytes_no_decref(PyObject *self, PyObject *unused) {
    PyObject *b = PyBytes_FromStringAndSize(NULL, 100); /* LEAK-SITE bytes_no_decref */
    if (!b)
        return NULL;
    /* Py_DECREF(b); forgotten */
    Py_RETURN_NONE;
}

static PyObject *lib_malloc(PyObject *self, PyObject *unused) {
    if (!(sink = helperlib_alloc(512)))
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* --- clean twins */

static PyObject *malloc_free(PyObject *self, PyObject *unused) {
    void *p = leak_helper(1024);
    if (!p)
        return PyErr_NoMemory();
    free(p);
    Py_RETURN_NONE;
}

/* A cache of 64 entries: grows for the first 64 calls, then is full and allocates no more. */
#define CACHE_SIZE 64
static void *cache[CACHE_SIZE];
static unsigned cached;

static PyObject *cache64(PyObject *self, PyObject *unused) {
    if (cached < CACHE_SIZE) {
        if (!(cache[cached] = malloc(256)))
            return PyErr_NoMemory();
        cached++;
    }
    Py_RETURN_NONE;
}

static void *thread_main(void *arg) {
    void *p = malloc(64);
    free(p);
    return arg;
}

/* A thread started and joined. */
static PyObject *thread_spawn_join(PyObject *self, PyObject *unused) {
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    pthread_join(t, NULL);
    Py_RETURN_NONE;
}

/* Raises on every call after allocating and freeing (the error path of a clean function). */
static PyObject *raise_clean(PyObject *self, PyObject *unused) {
    PyObject *l = PyList_New(3);
    if (!l)
        return NULL;
    Py_DECREF(l);
    PyErr_SetString(PyExc_ValueError, "raise_clean always raises");
    return NULL;
}

static PyMethodDef methods[] = {
    {"malloc_helper", malloc_helper, METH_NOARGS, NULL},
    {"calloc_leak", calloc_leak, METH_NOARGS, NULL},
    {"realloc_null_leak", realloc_null_leak, METH_NOARGS, NULL},
    {"strdup_leak", strdup_leak, METH_NOARGS, NULL},
    {"mmap_leak", mmap_leak, METH_NOARGS, NULL},
    {"pymem_leak", pymem_leak, METH_NOARGS, NULL},
    {"list_no_decref", list_no_decref, METH_NOARGS, NULL},
    {"bytes_no_decref", bytes_no_decref, METH_NOARGS, NULL},
    {"lib_malloc", lib_malloc, METH_NOARGS, NULL},
    {"malloc_free", malloc_free, METH_NOARGS, NULL},
    {"cache64", cache64, METH_NOARGS, NULL},
    {"thread_spawn_join", thread_spawn_join, METH_NOARGS, NULL},
    {"raise_clean", raise_clean, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "leaksites", NULL, -1, methods};

PyMODINIT_FUNC PyInit_leaksites(void) { return PyModule_Create(&module); }
