"""fxad.solvers: iterative solvers that are differentiated implicitly, never by unrolling.

fixed_point, root and minimize are built on fxad.lax.custom_root, cg on
fxad.lax.custom_linear_solve. Each runs eagerly, under jit and under vmap, and its solution is
differentiable in both modes. A solver that does not converge raises ConvergenceError at run
time (inside jit too, and under vmap if any batch member fails).
"""
from ..lax.solves import ConvergenceError  # noqa: F401
from .fixed_point import fixed_point  # noqa: F401
from .linear import cg  # noqa: F401
from .minimize import minimize  # noqa: F401
from .root import root  # noqa: F401

__all__ = ['ConvergenceError', 'fixed_point', 'root', 'cg', 'minimize']
