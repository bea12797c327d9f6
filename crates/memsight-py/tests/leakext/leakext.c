/* memsight's own leak-test extension: the leaks psleak 0.1.6 misses, and their clean twins
 * (the same allocations, released). Built by build.py; used by tests/test_leak_ext.py and
 * compare.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

/* Where leaked pointers go, so the compiler cannot drop the allocation. */
static void *volatile sink;
static unsigned long calls_1_10, calls_1_10_freed, calls_1024_64, calls_1024_64_freed;
static unsigned long calls_tuple_10, calls_tuple_10_freed;

static void *take(size_t n) {
    void *p = malloc(n);
    sink = p;
    return p;
}

/* malloc(1) on every 10th call, never freed: a 32-byte glibc chunk, 3.2 B per call. */
static PyObject *malloc_1_every_10(PyObject *self, PyObject *unused) {
    if (++calls_1_10 % 10 == 0 && !take(1))
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *malloc_1_every_10_freed(PyObject *self, PyObject *unused) {
    if (++calls_1_10_freed % 10 == 0) {
        void *p = take(1);
        if (!p)
            return PyErr_NoMemory();
        free(p);
    }
    Py_RETURN_NONE;
}

/* malloc(1024) on every 64th call, never freed: a 1040-byte chunk glibc's tcache can hide. */
static PyObject *malloc_1024_every_64(PyObject *self, PyObject *unused) {
    if (++calls_1024_64 % 64 == 0 && !take(1024))
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *malloc_1024_every_64_freed(PyObject *self, PyObject *unused) {
    if (++calls_1024_64_freed % 64 == 0) {
        void *p = take(1024);
        if (!p)
            return PyErr_NoMemory();
        free(p);
    }
    Py_RETURN_NONE;
}

/* A small tuple built and never Py_DECREF'd: one pymalloc block per call. */
static PyObject *tuple_no_decref(PyObject *self, PyObject *unused) {
    PyObject *t = PyTuple_Pack(2, Py_None, Py_None);
    if (!t)
        return NULL;
    /* Py_DECREF(t); forgotten */
    Py_RETURN_NONE;
}

static PyObject *tuple_decref(PyObject *self, PyObject *unused) {
    PyObject *t = PyTuple_Pack(2, Py_None, Py_None);
    if (!t)
        return NULL;
    Py_DECREF(t);
    Py_RETURN_NONE;
}

/* The same on every 10th call only (4.8 B per call, under psleak's 16-byte floor). */
static PyObject *tuple_no_decref_every_10(PyObject *self, PyObject *unused) {
    if (++calls_tuple_10 % 10 == 0 && !PyTuple_Pack(2, Py_None, Py_None))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *tuple_decref_every_10(PyObject *self, PyObject *unused) {
    if (++calls_tuple_10_freed % 10 == 0) {
        PyObject *t = PyTuple_Pack(2, Py_None, Py_None);
        if (!t)
            return NULL;
        Py_DECREF(t);
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"malloc_1_every_10", malloc_1_every_10, METH_NOARGS, NULL},
    {"malloc_1_every_10_freed", malloc_1_every_10_freed, METH_NOARGS, NULL},
    {"malloc_1024_every_64", malloc_1024_every_64, METH_NOARGS, NULL},
    {"malloc_1024_every_64_freed", malloc_1024_every_64_freed, METH_NOARGS, NULL},
    {"tuple_no_decref", tuple_no_decref, METH_NOARGS, NULL},
    {"tuple_decref", tuple_decref, METH_NOARGS, NULL},
    {"tuple_no_decref_every_10", tuple_no_decref_every_10, METH_NOARGS, NULL},
    {"tuple_decref_every_10", tuple_decref_every_10, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "leakext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_leakext(void) { return PyModule_Create(&module); }
