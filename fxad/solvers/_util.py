"""What the solvers share: vector arithmetic on pytrees, argument checks, the convergence check."""
import functools

import numpy as np

from .. import dtypes
from .. import numpy as fnp
from ..core import get_aval
from ..lax.solves import check_convergence, conform_tree
from ..tree_util import tree_flatten, tree_leaves, tree_map, tree_unflatten

DEFAULT_TOL = 1e-10


def tree_vdot(x, y):
    """<x, y> summed over the leaves of two pytrees of the same structure."""
    return sum(fnp.vdot(a, b) for a, b in zip(tree_leaves(x), tree_leaves(y)))


def tree_norm(x):
    return fnp.sqrt(tree_vdot(x, x))


def tree_max_abs(x):
    """The largest |entry| over all leaves (the infinity norm: convergence tests use it, as it
    cannot overflow where a sum of squares would)."""
    return functools.reduce(fnp.maximum, [fnp.max(fnp.abs(a)) for a in tree_leaves(x)])


def tree_add(x, y):
    return tree_map(lambda a, b: a + b, x, y)


def tree_sub(x, y):
    return tree_map(lambda a, b: a - b, x, y)


def tree_scale(alpha, x):
    return tree_map(lambda a: alpha * a, x)


def float_tree(x, what):
    """x with every leaf an array of a float dtype (integers and Python numbers become float64)."""
    def leaf(v):
        try:
            aval = get_aval(v)
        except TypeError:
            raise TypeError(f"{what} must be an array or a pytree of arrays, got a leaf of type "
                            f"{type(v).__name__}") from None
        if dtypes.is_float(aval.dtype) and not aval.weak_type:
            return v
        return fnp.asarray(v, aval.dtype if dtypes.is_float(aval.dtype) else np.float64)
    return tree_map(leaf, x)


def conform_like(out, x, what, expected):
    """out checked to have the structure, shapes and dtypes of the pytree x."""
    leaves, tree = tree_flatten(x)
    return tree_unflatten(tree, conform_tree(out, tree, [get_aval(v) for v in leaves], what, expected))


def check_positive_int(value, name, solver):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{solver}: {name} must be a positive integer, got {value!r}")
    return int(value)


def check_tol(tol, solver):
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (int, float, np.floating, np.integer)) \
            or not tol > 0:
        raise ValueError(f"{solver}: tol must be a positive number, got {tol!r}")
    return float(tol)


def checked(x, converged, residual, iterations, *, solver, measure, tol):
    """The pytree x, once converged is true (ConvergenceError otherwise, at run time)."""
    leaves, tree = tree_flatten(x)
    return tree_unflatten(tree, check_convergence(leaves, converged, residual, iterations,
                                                  solver=solver, measure=measure, tol=tol))
