"""Pytrees: flatten nested containers (tuples, lists, dicts, None, namedtuples, registered
classes) into a list of leaves plus a hashable PyTreeDef, and rebuild them (jax.tree_util)."""

import collections
import dataclasses
import functools

__all__ = [
    "PyTreeDef",
    "tree_flatten",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "tree_all",
    "tree_reduce",
    "tree_transpose",
    "treedef_tuple",
    "treedef_is_leaf",
    "treedef_is_strict_leaf",
    "treedef_children",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_dataclass",
]


# --------------------------------------------------------------------------------------------
# Node handlers
# --------------------------------------------------------------------------------------------

class _Handler:
    """How one node type is taken apart and rebuilt.

    flatten(x) -> (children iterable, aux); unflatten(aux, children list) -> x;
    fmt(aux, child_strs) -> str for reprs; key(aux, i) -> path element for error messages.
    """

    __slots__ = ("type", "flatten", "unflatten", "fmt", "key")

    def __init__(self, type_, flatten, unflatten, fmt, key):
        self.type = type_
        self.flatten = flatten
        self.unflatten = unflatten
        self.fmt = fmt
        self.key = key


def _index_key(aux, i):
    return f"[{i}]"


def _dict_key(aux, i):
    return f"[{aux[i]!r}]"


def _fallback_sort_key(k):
    t = type(k)
    return (t.__module__, t.__qualname__, repr(k))


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError:
        # Keys of mutually unorderable types: order deterministically by type name, then repr.
        return sorted(d, key=_fallback_sort_key)


def _fmt_items(keys, child_strs):
    return ", ".join(f"{k!r}: {c}" for k, c in zip(keys, child_strs))


def _tuple_fmt(aux, cs):
    return "(" + ", ".join(cs) + ("," if len(cs) == 1 else "") + ")"


def _list_fmt(aux, cs):
    return "[" + ", ".join(cs) + "]"


def _dict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], tuple(keys)


def _ordereddict_flatten(x):
    keys = tuple(x)
    return [x[k] for k in keys], keys


def _defaultdict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], (x.default_factory, tuple(keys))


def _defaultdict_fmt(aux, cs):
    factory = aux[0]
    name = getattr(factory, "__name__", None) or repr(factory)
    return f"defaultdict({name}, {{{_fmt_items(aux[1], cs)}}})"


_TUPLE = _Handler(tuple, lambda x: (x, None), lambda aux, ch: tuple(ch), _tuple_fmt, _index_key)
_LIST = _Handler(list, lambda x: (x, None), lambda aux, ch: list(ch), _list_fmt, _index_key)
_DICT = _Handler(
    dict, _dict_flatten, lambda aux, ch: dict(zip(aux, ch)),
    lambda aux, cs: "{" + _fmt_items(aux, cs) + "}", _dict_key)
_NONE = _Handler(type(None), lambda x: ((), None), lambda aux, ch: None,
                 lambda aux, cs: "None", _index_key)
_ORDEREDDICT = _Handler(
    collections.OrderedDict, _ordereddict_flatten,
    lambda aux, ch: collections.OrderedDict(zip(aux, ch)),
    lambda aux, cs: "OrderedDict({" + _fmt_items(aux, cs) + "})", _dict_key)
_DEFAULTDICT = _Handler(
    collections.defaultdict, _defaultdict_flatten,
    lambda aux, ch: collections.defaultdict(aux[0], zip(aux[1], ch)),
    _defaultdict_fmt, lambda aux, i: f"[{aux[1][i]!r}]")

# Exact type -> handler. Subclasses of registered types are leaves (except namedtuples).
_registry = {h.type: h for h in (_TUPLE, _LIST, _DICT, _NONE, _ORDEREDDICT, _DEFAULTDICT)}

# namedtuple class -> handler, filled lazily the first time a class is seen.
_namedtuple_handlers = {}


def _namedtuple_handler(cls):
    h = _namedtuple_handlers.get(cls)
    if h is None:
        fields = cls._fields

        def fmt(aux, cs):
            return f"{cls.__name__}(" + ", ".join(f"{f}={c}" for f, c in zip(fields, cs)) + ")"

        h = _Handler(cls, lambda x: (x, None), lambda aux, ch: cls(*ch), fmt,
                     lambda aux, i: f".{fields[i]}")
        _namedtuple_handlers[cls] = h
    return h


# --------------------------------------------------------------------------------------------
# PyTreeDef
# --------------------------------------------------------------------------------------------

def _aux_eq(a, b):
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays in aux data: ambiguous truth value
        return False


class PyTreeDef:
    """The structure of a pytree: an immutable, hashable tree of node types with aux data.

    Leaves are represented by the singleton leaf treedef (repr ``*``).
    """

    __slots__ = ("_handler", "_aux", "_children", "_num_leaves", "_num_nodes", "_hash")

    def __init__(self, handler, aux, children, num_leaves):
        self._handler = handler      # None for a leaf
        self._aux = aux
        self._children = children    # tuple of PyTreeDef
        self._num_leaves = num_leaves
        self._num_nodes = None       # computed lazily
        self._hash = None            # computed lazily

    # -- basic properties ----------------------------------------------------------------
    @property
    def num_leaves(self):
        return self._num_leaves

    @property
    def num_nodes(self):
        n = self._num_nodes
        if n is None:
            n = 1
            for c in self._children:
                n += c.num_nodes
            self._num_nodes = n
        return n

    @property
    def node_type(self):
        """The node's Python type, or None for a leaf."""
        h = self._handler
        return None if h is None else h.type

    def node_data(self):
        """(node type, aux data) of the root node, or None for a leaf (as in JAX)."""
        h = self._handler
        return None if h is None else (h.type, self._aux)

    def children(self):
        """The treedefs of the root node's children (empty for leaves and None)."""
        return list(self._children)

    # -- flatten / unflatten --------------------------------------------------------------
    def unflatten(self, leaves):
        """Build a pytree of this structure from an iterable of leaves."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self._num_leaves:
            raise ValueError(
                f"Too {'few' if len(leaves) < self._num_leaves else 'many'} leaves for "
                f"PyTreeDef: expected {self._num_leaves}, got {len(leaves)}; "
                f"structure: {self}")
        if self._handler is None:
            return leaves[0]
        return _unflatten(self, iter(leaves))

    def flatten_up_to(self, tree):
        """Flatten ``tree`` only as deep as this structure: one entry per leaf of ``self``.

        Each of this treedef's leaves may correspond to an arbitrary subtree of ``tree``.
        Raises ValueError (naming both structures and the path) on a mismatch.
        """
        out = []
        try:
            _flatten_up_to(self, tree, out)
        except _Mismatch as e:
            path = "".join(reversed(e.path)) or "<root>"
            try:
                got = str(tree_structure(tree))
            except Exception:  # pragma: no cover - flattening a foreign tree failed
                got = "<unflattenable>"
            raise ValueError(
                f"Tree structure mismatch at {path}: {e.detail}.\n"
                f"  expected structure (prefix): {self}\n"
                f"  got structure:               {got}") from None
        return out

    def compose(self, inner):
        """The treedef obtained by replacing every leaf of ``self`` with ``inner``."""
        if not isinstance(inner, PyTreeDef):
            raise TypeError(f"compose expects a PyTreeDef, got {type(inner).__name__}")
        return _compose(self, inner)

    # -- equality / hashing / repr ---------------------------------------------------------
    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        if self._num_leaves != other._num_leaves:
            return False
        sh, oh = self._handler, other._handler
        if sh is not oh:
            if sh is None or oh is None or sh.type is not oh.type:
                return False
        hs, ho = self._hash, other._hash
        if hs is not None and ho is not None and hs != ho:
            return False
        sc, oc = self._children, other._children
        if len(sc) != len(oc):
            return False
        if not _aux_eq(self._aux, other._aux):
            return False
        return sc == oc

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        h = self._hash
        if h is None:
            handler = self._handler
            t = None if handler is None else handler.type
            try:
                h = hash((t, self._aux, self._children))
            except TypeError:  # unhashable aux data: hash the rest (equality still checks aux)
                h = hash((t, self._children))
            self._hash = h
        return h

    def _str(self):
        h = self._handler
        if h is None:
            return "*"
        return h.fmt(self._aux, [c._str() for c in self._children])

    def __repr__(self):
        return f"PyTreeDef({self._str()})"

    __str__ = __repr__


_LEAF = PyTreeDef(None, None, (), 1)
_NONE_DEF = PyTreeDef(_NONE, None, (), 0)


def _unflatten(node, it):
    h = node._handler
    if h is None:
        return next(it)
    kids = []
    for c in node._children:
        kids.append(_unflatten(c, it))
    return h.unflatten(node._aux, kids)


def _compose(outer, inner):
    if outer._handler is None:
        return inner
    kids = tuple([_compose(c, inner) for c in outer._children])
    return PyTreeDef(outer._handler, outer._aux, kids, sum(k._num_leaves for k in kids))


class _Mismatch(Exception):
    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail
        self.path = []


def _describe(x):
    t = type(x)
    if x is None:
        return "None"
    if t in _registry or (isinstance(x, tuple) and hasattr(t, "_fields")):
        try:
            n = len(x)
        except TypeError:
            return f"a {t.__name__}"
        return f"a {t.__name__} of length {n}"
    return f"a leaf of type {t.__name__}"


def _flatten_up_to(node, x, out):
    h = node._handler
    if h is None:
        out.append(x)
        return
    if type(x) is not h.type:
        want = "None" if h is _NONE else f"a {h.type.__name__} node"
        raise _Mismatch(f"expected {want}, got {_describe(x)}")
    children, aux = h.flatten(x)
    children = list(children)
    kids = node._children
    if len(children) != len(kids):
        raise _Mismatch(f"expected a {h.type.__name__} with {len(kids)} children, "
                        f"got {len(children)}")
    if not _aux_eq(aux, node._aux):
        raise _Mismatch(f"{h.type.__name__} node data differ: expected {node._aux!r}, "
                        f"got {aux!r}")
    for i, (c, k) in enumerate(zip(children, kids)):
        try:
            _flatten_up_to(k, c, out)
        except _Mismatch as e:
            e.path.append(h.key(node._aux, i))
            raise


# --------------------------------------------------------------------------------------------
# Flattening
# --------------------------------------------------------------------------------------------

def _flatten(x, is_leaf, leaves):
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    t = type(x)
    if t is tuple or t is list:
        start = len(leaves)
        kids = []
        for c in x:  # a loop, not a comprehension: one Python frame per tree level
            kids.append(_flatten(c, is_leaf, leaves))
        return PyTreeDef(_TUPLE if t is tuple else _LIST, None, tuple(kids), len(leaves) - start)
    if x is None:
        return _NONE_DEF
    h = _registry.get(t)
    if h is None:
        if isinstance(x, tuple) and hasattr(t, "_fields"):
            h = _namedtuple_handler(t)
        else:
            leaves.append(x)
            return _LEAF
    start = len(leaves)
    children, aux = h.flatten(x)
    kids = []
    for c in children:
        kids.append(_flatten(c, is_leaf, leaves))
    return PyTreeDef(h, aux, tuple(kids), len(leaves) - start)


def tree_flatten(tree, is_leaf=None):
    """Flatten ``tree`` into (list of leaves, PyTreeDef).

    ``is_leaf(x) -> bool``, if given, is called on every node (the root included); where it
    returns True, ``x`` is treated as a leaf and not descended into.
    """
    leaves = []
    treedef = _flatten(tree, is_leaf, leaves)
    return leaves, treedef


def tree_unflatten(treedef, leaves):
    """Rebuild a pytree with structure ``treedef`` from an iterable of leaves."""
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    """The leaves of ``tree``, in flattening order (dict keys sorted)."""
    leaves = []
    _flatten(tree, is_leaf, leaves)
    return leaves


def tree_structure(tree, is_leaf=None):
    """The PyTreeDef of ``tree``."""
    return _flatten(tree, is_leaf, [])


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise: ``f(leaf, *corresponding leaves/subtrees of rest)``.

    Each tree in ``rest`` must have ``tree``'s structure, except that where ``tree`` has a
    leaf the other tree may have any subtree (which is passed to ``f`` whole).
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_all(tree, is_leaf=None):
    """True if every leaf of ``tree`` is truthy (True for a tree without leaves)."""
    return all(tree_leaves(tree, is_leaf))


_NO_INITIALIZER = object()


def tree_reduce(function, tree, initializer=_NO_INITIALIZER, is_leaf=None):
    """``functools.reduce(function, tree_leaves(tree), initializer)``."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def treedef_tuple(treedefs):
    """The treedef of a tuple whose elements have the given structures."""
    kids = tuple(treedefs)
    for k in kids:
        if not isinstance(k, PyTreeDef):
            raise TypeError(f"treedef_tuple expects PyTreeDefs, got {type(k).__name__}")
    return PyTreeDef(_TUPLE, None, kids, sum(k._num_leaves for k in kids))


def treedef_children(treedef):
    """The treedefs of ``treedef``'s root children."""
    return treedef.children()


def treedef_is_leaf(treedef):
    """True if ``treedef`` has a single node (JAX semantics: True also for None and ())."""
    return treedef.num_nodes == 1


def treedef_is_strict_leaf(treedef):
    """True only for the leaf treedef ``*``."""
    return treedef._handler is None


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn an outer-structured tree of inner-structured trees into the converse.

    ``pytree_to_transpose`` must have structure ``outer_treedef.compose(inner_treedef)``;
    the result has structure ``inner_treedef.compose(outer_treedef)``. If ``inner_treedef``
    is None it is inferred from the first outer subtree. Raises TypeError on a mismatch.
    """
    outer_subtrees = outer_treedef.flatten_up_to(pytree_to_transpose)
    if inner_treedef is None:
        if not outer_subtrees:
            raise TypeError("tree_transpose: cannot infer inner_treedef, outer tree has no leaves")
        inner_treedef = tree_structure(outer_subtrees[0])
    try:
        lol = [inner_treedef.flatten_up_to(s) for s in outer_subtrees]
    except ValueError as e:
        raise TypeError(
            f"tree_transpose: tree structure {tree_structure(pytree_to_transpose)} does not match "
            f"outer {outer_treedef} composed with inner {inner_treedef}:\n{e}") from None
    if not lol:
        return inner_treedef.unflatten(
            [outer_treedef.unflatten([]) for _ in range(inner_treedef._num_leaves)])
    return inner_treedef.unflatten([outer_treedef.unflatten(col) for col in zip(*lol)])


# --------------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------------

def _custom_fmt(name):
    def fmt(aux, cs):
        return f"CustomNode({name}[{aux!r}], [" + ", ".join(cs) + "])"
    return fmt


def register_pytree_node(nodetype, flatten_func, unflatten_func):
    """Register ``nodetype`` as a pytree node (exact type; subclasses are not included).

    ``flatten_func(x) -> (children, aux_data)`` and ``unflatten_func(aux_data, children) -> x``
    (children is passed as a tuple). aux_data should be hashable and comparable with ``==``:
    it is part of the treedef.
    """
    if not isinstance(nodetype, type):
        raise TypeError(f"register_pytree_node expects a type, got {nodetype!r}")
    if nodetype in _registry:
        raise ValueError(f"Duplicate registration for pytree node type {nodetype.__qualname__}")

    def unflatten(aux, children):
        return unflatten_func(aux, tuple(children))

    _registry[nodetype] = _Handler(nodetype, flatten_func, unflatten,
                                   _custom_fmt(nodetype.__name__), _index_key)
    return nodetype


def register_pytree_node_class(cls):
    """Class decorator: ``cls.tree_flatten(self) -> (children, aux)`` and classmethod
    ``cls.tree_unflatten(aux, children)`` define the node."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def _check_dataclass_fields(cls, all_fields, init_names, listed):
    """As in JAX: every listed name is a field, and every init field is listed (else unflatten
    could not call cls(...)); init=False fields may be listed or left out."""
    problems = []
    unknown = [n for n in listed if n not in all_fields]
    if unknown:
        problems.append(f"not fields of {cls.__qualname__}: {unknown} (its fields are {all_fields})")
    missing = [n for n in all_fields if n in init_names and n not in listed]
    if missing:
        problems.append(f"init fields in neither data_fields nor meta_fields: {missing}")
    repeated = sorted({n for n in listed if listed.count(n) > 1})
    if repeated:
        problems.append(f"listed more than once: {repeated}")
    if problems:
        raise ValueError("register_dataclass: " + "; ".join(problems))


def register_dataclass(cls=None, data_fields=None, meta_fields=None):
    """Register a dataclass as a pytree node; usable as ``@register_dataclass``.

    ``data_fields`` become children, ``meta_fields`` go into the (hashable) aux data. If
    neither is given, all dataclass fields are data fields except those declared with
    ``field(metadata={'static': True})``, which are meta fields. If only one is given, the
    remaining dataclass fields form the other. Rebuilding calls ``cls(**init_fields)`` and then
    sets any ``init=False`` fields directly. A listed name that is not a field, or an init field
    in neither list, raises ValueError at registration (as in JAX).
    """
    if cls is None:
        return lambda c: register_dataclass(c, data_fields, meta_fields)
    if dataclasses.is_dataclass(cls):
        all_fields = [f.name for f in dataclasses.fields(cls)]
        init_names = {f.name for f in dataclasses.fields(cls) if f.init}
        if data_fields is None and meta_fields is None:
            meta_fields = [f.name for f in dataclasses.fields(cls) if f.metadata.get("static")]
            data_fields = [n for n in all_fields if n not in meta_fields]
        elif data_fields is None:
            data_fields = [n for n in all_fields if n not in set(meta_fields)]
        elif meta_fields is None:
            meta_fields = [n for n in all_fields if n not in set(data_fields)]
    else:
        if data_fields is None or meta_fields is None:
            raise TypeError(f"register_dataclass: {cls.__qualname__} is not a dataclass; "
                            f"pass both data_fields and meta_fields")
        init_names = None
    data_fields = tuple(data_fields)
    meta_fields = tuple(meta_fields)
    overlap = set(data_fields) & set(meta_fields)
    if overlap:
        raise ValueError(f"register_dataclass: fields {sorted(overlap)} are both data and meta")
    if init_names is not None:
        _check_dataclass_fields(cls, all_fields, init_names, data_fields + meta_fields)

    def flatten(x):
        return ([getattr(x, n) for n in data_fields],
                tuple(getattr(x, n) for n in meta_fields))

    def unflatten(aux, children):
        kwargs = dict(zip(data_fields, children))
        kwargs.update(zip(meta_fields, aux))
        if init_names is None:
            return cls(**kwargs)
        obj = cls(**{k: v for k, v in kwargs.items() if k in init_names})
        for k, v in kwargs.items():
            if k not in init_names:
                object.__setattr__(obj, k, v)
        return obj

    def fmt(aux, cs):
        parts = [f"{n}={c}" for n, c in zip(data_fields, cs)]
        parts += [f"{n}={v!r}" for n, v in zip(meta_fields, aux)]
        return f"{cls.__name__}(" + ", ".join(parts) + ")"

    if cls in _registry:
        raise ValueError(f"Duplicate registration for pytree node type {cls.__qualname__}")
    _registry[cls] = _Handler(cls, flatten, unflatten, fmt,
                              lambda aux, i: f".{data_fields[i]}")
    return cls
