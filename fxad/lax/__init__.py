"""fxad.lax: the primitives, grouped by family, each with all its rules, and their wrappers."""
from .elementwise import *  # noqa: F401,F403
from .elementwise import (abs, add, max, min, pow, round, stop_gradient,  # noqa: F401
                          convert_element_type, select_n, clamp, integer_pow)
from .shapes import (broadcast, broadcast_in_dim, expand_dims, moveaxis, reshape,  # noqa: F401
                     squeeze, transpose)
from .reductions import reduce_sum  # noqa: F401
from .dot import dot_general  # noqa: F401
from .call import jit_p  # noqa: F401
