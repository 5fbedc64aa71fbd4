"""fxad.lax: the primitives, grouped by family, each with all its rules, and their wrappers.

Every family module lists its public wrappers in __all__.
"""
from .elementwise import *  # noqa: F401,F403
from .elementwise import (abs, add, max, min, pow, round, stop_gradient,  # noqa: F401
                          convert_element_type, select_n, clamp, integer_pow)
from .shapes import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .slicing import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .dot import dot_general  # noqa: F401
from .call import jit_p  # noqa: F401
from .control_flow import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .solves import *  # noqa: F401,F403
