"""fxad.numpy (import as fnp): NumPy's API lowered onto fxad's primitives.

Outside any transformation every function returns plain NumPy values.
"""
from .ufuncs import *  # noqa: F401,F403
from .ufuncs import abs, round, pow  # noqa: F401
from .reductions import *  # noqa: F401,F403
from .shape_ops import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .contractions import *  # noqa: F401,F403
from .einsum import *  # noqa: F401,F403
from . import linalg  # noqa: F401
from ..core import Array as ndarray  # noqa: F401  (isinstance checks, as jnp.ndarray)
from . import array_methods as _array_methods

_array_methods.install()
