"""fxad: JAX's model of function transformations (grad, jvp, vmap, jit, ...) in pure Python on NumPy."""
from . import lax  # noqa: F401  (registers every primitive and its rules)
from .api import (ShapeDtypeStruct, eval_shape, grad, hessian, jacfwd, jacrev, jit,  # noqa: F401
                  jvp, linear_transpose, linearize, make_jaxpr, value_and_grad, vjp, vmap)
from .custom_derivatives import custom_jvp, custom_vjp  # noqa: F401
from .checkpoint import checkpoint, checkpoint_policies, remat  # noqa: F401
from . import numpy  # noqa: F401
from . import nn  # noqa: F401
from . import solvers  # noqa: F401
from . import tree_util  # noqa: F401
from . import tree  # noqa: F401
from . import dtypes, errors, test_util  # noqa: F401
from .core import Array  # noqa: F401

__version__ = '0.1.0'
