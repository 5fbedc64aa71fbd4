"""fxad.tree: the short names of fxad.tree_util (like jax.tree): map, leaves, structure, ..."""
from .tree_util import (tree_all as all, tree_flatten as flatten, tree_leaves as leaves,  # noqa: F401
                        tree_map as map, tree_reduce as reduce, tree_structure as structure,
                        tree_transpose as transpose, tree_unflatten as unflatten)

__all__ = ['all', 'flatten', 'leaves', 'map', 'reduce', 'structure', 'transpose', 'unflatten']
