# cython: language_level=3
"""The codec's vector fields, compiled: the common case checked and converted in one C loop.

A ``vec`` field travels as a flat list of doubles. Every function here takes only the
clean case — the exact types a well-formed message carries, every element inside the
field's closed interval [lo, hi] (which the codec clips to the finite doubles, so NaN
and the infinities fall outside it) — and returns None for anything else; the codec then
hands the value to its reference check (``codec._check_vec``, numpy), which decides and
gives the reason. So these never accept what the reference rejects, and return exactly
what it would: the tests compare the two on arbitrary inputs.
"""
cimport numpy as cnp
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.list cimport PyList_CheckExact, PyList_GET_ITEM, PyList_GET_SIZE

cnp.import_array()


cdef bint _shape_is(cnp.ndarray a, tuple shape, Py_ssize_t size):
    """``a.shape == shape``, or ``a`` flat with ``size`` elements."""
    cdef int nd = cnp.PyArray_NDIM(a), i
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(a)
    if nd == 1 and dims[0] == size:
        return True
    if nd != len(shape):
        return False
    for i in range(nd):
        if dims[i] != <cnp.npy_intp>shape[i]:
            return False
    return True


def wire_of_array(object v, tuple shape, Py_ssize_t size, double lo, double hi):
    """``v.ravel().tolist()`` for a native float64 ndarray of the field's shape (or flat)
    with every element in [lo, hi]; else None."""
    if type(v) is not cnp.ndarray:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>v
    if cnp.PyArray_TYPE(a) != cnp.NPY_DOUBLE or not cnp.PyArray_ISNOTSWAPPED(a):
        return None
    if not _shape_is(a, shape, size):
        return None
    if not cnp.PyArray_ISCARRAY_RO(a):  # a slice: its elements in C order, as ravel takes them
        a = cnp.PyArray_GETCONTIGUOUS(a)
    cdef const double *p = <const double *>cnp.PyArray_DATA(a)
    cdef Py_ssize_t i
    for i in range(size):
        if not lo <= p[i] <= hi:
            return None
    return [p[i] for i in range(size)]


cdef bint _floats_within(object v, Py_ssize_t size, double lo, double hi):
    """``v`` is a list of exactly ``size`` floats (not subclasses), each in [lo, hi]."""
    if not PyList_CheckExact(v) or PyList_GET_SIZE(v) != size:
        return False
    cdef Py_ssize_t i
    cdef object x
    cdef double d
    for i in range(size):
        x = <object>PyList_GET_ITEM(v, i)
        if not PyFloat_CheckExact(x):
            return False
        d = PyFloat_AS_DOUBLE(x)
        if not lo <= d <= hi:
            return False
    return True


def wire_of_list(object v, Py_ssize_t size, double lo, double hi):
    """``v`` itself if it is already its wire form: a list of ``size`` floats in [lo, hi];
    else None."""
    return v if _floats_within(v, size, lo, hi) else None


def array_of_wire(object v, tuple shape, Py_ssize_t size, double lo, double hi):
    """The float64 array of ``shape`` holding a wire list of ``size`` floats in [lo, hi];
    else None."""
    if not _floats_within(v, size, lo, hi):
        return None
    cdef int nd = len(shape), i
    cdef cnp.npy_intp dims[8]
    if nd > 8:
        return None
    for i in range(nd):
        dims[i] = shape[i]
    cdef cnp.ndarray a = cnp.PyArray_EMPTY(nd, dims, cnp.NPY_DOUBLE, 0)
    cdef double *p = <double *>cnp.PyArray_DATA(a)
    cdef Py_ssize_t k
    for k in range(size):
        p[k] = PyFloat_AS_DOUBLE(<object>PyList_GET_ITEM(v, k))
    return a
