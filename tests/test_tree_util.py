import collections
import dataclasses

import numpy as np
import pytest

from fxad import tree_util as tu


Point = collections.namedtuple("Point", ["x", "y"])


@tu.register_pytree_node_class
class Box:
    def __init__(self, a, b, tag):
        self.a, self.b, self.tag = a, b, tag

    def tree_flatten(self):
        return (self.a, self.b), self.tag

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children, aux)

    def __eq__(self, other):
        return (type(other) is Box and self.a == other.a and self.b == other.b
                and self.tag == other.tag)


class Pair:
    def __init__(self, first, second):
        self.first, self.second = first, second


tu.register_pytree_node(Pair, lambda p: ([p.first, p.second], None),
                        lambda aux, ch: Pair(*ch))


@tu.register_dataclass
@dataclasses.dataclass
class Params:
    w: object
    b: object


@dataclasses.dataclass
class Layer:
    weight: object
    name: str
    bias: object


tu.register_dataclass(Layer, data_fields=["weight", "bias"], meta_fields=["name"])


# ---------------------------------------------------------------------------------------------
# flatten: leaves and structure
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tree, leaves, rep", [
    ((1, 2), [1, 2], "PyTreeDef((*, *))"),
    ((1,), [1], "PyTreeDef((*,))"),
    ([1, [2, 3]], [1, 2, 3], "PyTreeDef([*, [*, *]])"),
    ({"b": 1, "a": 2, "c": (3, 4)}, [2, 1, 3, 4], "PyTreeDef({'a': *, 'b': *, 'c': (*, *)})"),
    ((1, {"a": 2}), [1, 2], "PyTreeDef((*, {'a': *}))"),
    (None, [], "PyTreeDef(None)"),
    ((None, 1, [None]), [1], "PyTreeDef((None, *, [None]))"),
    ((), [], "PyTreeDef(())"),
    (5, [5], "PyTreeDef(*)"),
    (Point(1, (2, 3)), [1, 2, 3], "PyTreeDef(Point(x=*, y=(*, *)))"),
    (collections.OrderedDict([("z", 1), ("a", 2)]), [1, 2], "PyTreeDef(OrderedDict({'z': *, 'a': *}))"),
    (collections.defaultdict(list, {"z": 1, "a": 2}), [2, 1], "PyTreeDef(defaultdict(list, {'a': *, 'z': *}))"),
    (Box(1, (2, 3), "t"), [1, 2, 3], "PyTreeDef(CustomNode(Box['t'], [*, (*, *)]))"),
    (Params(w=1, b=2), [1, 2], "PyTreeDef(Params(w=*, b=*))"),
    (Layer(weight=1, name="l1", bias=2), [1, 2], "PyTreeDef(Layer(weight=*, bias=*, name='l1'))"),
])
def test_leaves_and_repr(tree, leaves, rep):
    got_leaves, treedef = tu.tree_flatten(tree)
    assert got_leaves == leaves
    assert tu.tree_leaves(tree) == leaves
    assert repr(treedef) == rep
    assert repr(tu.tree_structure(tree)) == rep
    assert treedef.num_leaves == len(leaves)


def test_num_nodes():
    assert tu.tree_structure((1, {"a": 2, "b": None})).num_nodes == 5
    assert tu.tree_structure(None).num_nodes == 1
    assert tu.tree_structure(3).num_nodes == 1
    assert tu.tree_structure([1, [2, 3]]).num_nodes == 5


def test_other_objects_are_leaves():
    arr = np.arange(3)

    class Obj:
        pass

    class MyTuple(tuple):  # tuple subclass without _fields: a leaf
        pass

    class MyDict(dict):    # unregistered dict subclass: a leaf
        pass

    o, mt, md = Obj(), MyTuple((1, 2)), MyDict(a=1)
    leaves = tu.tree_leaves((arr, 1.5, "s", o, mt, md))
    assert len(leaves) == 6
    assert leaves[0] is arr and leaves[3] is o and leaves[4] is mt and leaves[5] is md
    assert leaves[1] == 1.5 and leaves[2] == "s"


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------

def test_round_trip_builtin_containers():
    tree = ((1, [2, None]), {"b": (3,), "a": [4, 5]}, None)
    leaves, td = tu.tree_flatten(tree)
    assert leaves == [1, 2, 4, 5, 3]
    new = tu.tree_unflatten(td, [10, 20, 40, 50, 30])
    assert new == ((10, [20, None]), {"a": [40, 50], "b": (30,)}, None)
    assert type(new[0][1]) is list and type(new[1]["b"]) is tuple


def test_dict_unflatten_uses_sorted_key_order():
    _, td = tu.tree_flatten({"b": 1, "a": 2})
    new = td.unflatten([7, 8])
    assert list(new.keys()) == ["a", "b"]
    assert new == {"a": 7, "b": 8}


def test_round_trip_namedtuple():
    _, td = tu.tree_flatten(Point(1, Point(2, 3)))
    new = td.unflatten(["a", "b", "c"])
    assert type(new) is Point and type(new.y) is Point
    assert new == Point("a", Point("b", "c"))


def test_round_trip_ordereddict_keeps_order():
    od = collections.OrderedDict([("z", 1), ("a", 2), ("m", 3)])
    leaves, td = tu.tree_flatten(od)
    assert leaves == [1, 2, 3]
    new = td.unflatten([10, 20, 30])
    assert type(new) is collections.OrderedDict
    assert list(new.items()) == [("z", 10), ("a", 20), ("m", 30)]


def test_round_trip_defaultdict():
    dd = collections.defaultdict(int, {"b": 1, "a": 2})
    leaves, td = tu.tree_flatten(dd)
    assert leaves == [2, 1]
    new = td.unflatten([5, 6])
    assert type(new) is collections.defaultdict and new.default_factory is int
    assert dict(new) == {"a": 5, "b": 6}
    assert new["missing"] == 0


def test_round_trip_registered_classes():
    leaves, td = tu.tree_flatten(Box(1, Pair(2, 3), "tag"))
    assert leaves == [1, 2, 3]
    new = td.unflatten([4, 5, 6])
    assert type(new) is Box and new.a == 4 and new.tag == "tag"
    assert type(new.b) is Pair and new.b.first == 5 and new.b.second == 6


def test_round_trip_dataclasses():
    leaves, td = tu.tree_flatten([Params(w=1, b=(2, 3)), Layer(weight=4, name="n", bias=5)])
    assert leaves == [1, 2, 3, 4, 5]
    new = td.unflatten([10, 20, 30, 40, 50])
    assert new == [Params(w=10, b=(20, 30)), Layer(weight=40, name="n", bias=50)]


def test_dataclass_meta_field_in_treedef():
    a = tu.tree_structure(Layer(weight=1, name="x", bias=2))
    b = tu.tree_structure(Layer(weight=3, name="x", bias=4))
    c = tu.tree_structure(Layer(weight=1, name="y", bias=2))
    assert a == b and hash(a) == hash(b)
    assert a != c


def test_dataclass_static_metadata_and_init_false():
    @tu.register_dataclass
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        x: object
        n: int = dataclasses.field(metadata={"static": True}, default=3)
        cache: object = dataclasses.field(init=False, default=0)

    leaves, td = tu.tree_flatten(Cfg(x=1.0, n=7))
    assert leaves == [1.0, 0]
    assert repr(td) == "PyTreeDef(Cfg(x=*, cache=*, n=7))"
    new = td.unflatten([2.0, "c"])
    assert new.x == 2.0 and new.n == 7 and new.cache == "c"


def test_unflatten_wrong_leaf_count():
    _, td = tu.tree_flatten((1, 2))
    with pytest.raises(ValueError, match="expected 2, got 3"):
        td.unflatten([1, 2, 3])
    with pytest.raises(ValueError, match="expected 2, got 1"):
        td.unflatten([1])


def test_unflatten_accepts_iterators():
    _, td = tu.tree_flatten({"a": 1, "b": [2]})
    assert td.unflatten(iter([7, 8])) == {"a": 7, "b": [8]}


def test_leaf_treedef_unflatten():
    _, td = tu.tree_flatten(np.float64(3.0))
    assert td.unflatten(["x"]) == "x"
    assert td.children() == []


def test_none_zero_leaves():
    leaves, td = tu.tree_flatten(None)
    assert leaves == []
    assert td.num_leaves == 0
    assert td.unflatten([]) is None
    assert tu.tree_leaves([None, (None,)]) == []


# ---------------------------------------------------------------------------------------------
# tree_map / flatten_up_to
# ---------------------------------------------------------------------------------------------

def test_tree_map_single():
    assert tu.tree_map(lambda x: x * 2, {"a": 1, "b": (2, None)}) == {"a": 2, "b": (4, None)}


def test_tree_map_several_trees():
    t1 = {"a": 1, "b": (2, 3)}
    t2 = {"b": (20, 30), "a": 10}
    t3 = {"a": 100, "b": (200, 300)}
    assert tu.tree_map(lambda x, y, z: x + y + z, t1, t2, t3) == {"a": 111, "b": (222, 333)}


def test_tree_map_rest_may_have_subtrees_at_leaves():
    got = tu.tree_map(lambda x, y: (x, y), (1, 2), ([3, 4], {"k": 5}))
    assert got == ((1, [3, 4]), (2, {"k": 5}))


def test_tree_map_is_leaf():
    got = tu.tree_map(lambda x: len(x), {"a": [1, 2, 3], "b": [4]},
                      is_leaf=lambda x: isinstance(x, list))
    assert got == {"a": 3, "b": 1}


def test_tree_map_mismatch_names_both_structures():
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda x, y: x, (1, 2), [1, 2])
    msg = str(info.value)
    assert "PyTreeDef((*, *))" in msg and "PyTreeDef([*, *])" in msg


def test_flatten_up_to():
    _, td = tu.tree_flatten((1, {"a": 2, "b": 3}))
    assert td.flatten_up_to(((5, 6), {"b": [7], "a": None})) == [(5, 6), None, [7]]


@pytest.mark.parametrize("other, fragment", [
    ((1, 2, 3), "expected a tuple with 2 children, got 3"),
    ([1, {"a": 2, "b": 3}], "expected a tuple node, got a list of length 2"),
    ((1, {"a": 2}), "at [1]: expected a dict with 2 children, got 1"),
    ((1, {"a": 2, "c": 3}), "at [1]: dict node data differ"),
    ((1, 5), "at [1]: expected a dict node, got a leaf of type int"),
    (7, "at <root>: expected a tuple node, got a leaf of type int"),
])
def test_flatten_up_to_mismatch(other, fragment):
    _, td = tu.tree_flatten((1, {"a": 2, "b": 3}))
    with pytest.raises(ValueError) as info:
        td.flatten_up_to(other)
    assert fragment in str(info.value)
    assert "PyTreeDef((*, {'a': *, 'b': *}))" in str(info.value)


def test_flatten_up_to_nested_path_and_none():
    _, td = tu.tree_flatten({"p": Point(1, None)})
    with pytest.raises(ValueError, match=r"at \['p'\]\.y: expected None, got a leaf of type int"):
        td.flatten_up_to({"p": Point(1, 2)})


def test_flatten_up_to_namedtuple_vs_tuple():
    _, td = tu.tree_flatten(Point(1, 2))
    with pytest.raises(ValueError, match="expected a Point node, got a tuple"):
        td.flatten_up_to((1, 2))


# ---------------------------------------------------------------------------------------------
# treedef equality, hashing, children
# ---------------------------------------------------------------------------------------------

def test_treedef_equality_and_hash():
    a = tu.tree_structure((np.ones(2), {"x": 1, "y": [2, None]}))
    b = tu.tree_structure(("u", {"y": ["v", None], "x": 3.0}))
    assert a == b
    assert hash(a) == hash(b)
    assert not (a != b)
    different = [
        tu.tree_structure((1, {"x": 1, "y": [2, 3]})),
        tu.tree_structure((1, {"x": 1, "z": [2, None]})),
        tu.tree_structure([1, {"x": 1, "y": [2, None]}]),
        tu.tree_structure((1, {"x": 1, "y": (2, None)})),
        tu.tree_structure(Point(1, {"x": 1, "y": [2, None]})),
    ]
    for d in different:
        assert a != d
    cache = {a: "hit"}
    assert cache[b] == "hit"
    assert len({a, b, *different}) == 6


def test_treedef_equality_custom_aux():
    assert tu.tree_structure(Box(1, 2, "t")) == tu.tree_structure(Box(3, 4, "t"))
    assert tu.tree_structure(Box(1, 2, "t")) != tu.tree_structure(Box(1, 2, "u"))
    assert tu.tree_structure(collections.OrderedDict(a=1, b=2)) != \
        tu.tree_structure(collections.OrderedDict(b=1, a=2))
    assert tu.tree_structure({"a": 1}) != tu.tree_structure(collections.OrderedDict(a=1))
    assert tu.tree_structure(None) != tu.tree_structure(())
    assert tu.tree_structure(1) != tu.tree_structure(None)


def test_treedef_children():
    td = tu.tree_structure((1, [2, 3], None))
    kids = td.children()
    assert [repr(k) for k in kids] == ["PyTreeDef(*)", "PyTreeDef([*, *])", "PyTreeDef(None)"]
    assert tu.tree_structure(None).children() == []


def test_treedef_tuple_and_is_leaf():
    leaf = tu.tree_structure(1.0)
    pair = tu.tree_structure({"a": 1, "b": 2})
    td = tu.treedef_tuple([leaf, pair])
    assert repr(td) == "PyTreeDef((*, {'a': *, 'b': *}))"
    assert td.num_leaves == 3
    assert td == tu.tree_structure((0, {"a": 0, "b": 0}))
    assert td.unflatten([1, 2, 3]) == (1, {"a": 2, "b": 3})
    assert tu.treedef_is_leaf(leaf) is True
    assert tu.treedef_is_leaf(pair) is False
    assert tu.treedef_is_leaf(tu.tree_structure(None)) is True      # JAX: num_nodes == 1
    assert tu.treedef_is_strict_leaf(tu.tree_structure(None)) is False
    assert tu.treedef_is_strict_leaf(leaf) is True


def test_compose():
    outer = tu.tree_structure((1, 2))
    inner = tu.tree_structure({"a": 1, "b": 2})
    assert repr(outer.compose(inner)) == "PyTreeDef(({'a': *, 'b': *}, {'a': *, 'b': *}))"
    assert outer.compose(inner).num_leaves == 4


# ---------------------------------------------------------------------------------------------
# is_leaf
# ---------------------------------------------------------------------------------------------

def test_is_leaf_stops_descent():
    tree = {"a": (1, 2), "b": [3, (4, 5)]}
    leaves, td = tu.tree_flatten(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2), 3, (4, 5)]
    assert repr(td) == "PyTreeDef({'a': *, 'b': [*, *]})"
    assert tu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple)) == [(1, 2), 3, (4, 5)]


def test_is_leaf_on_root_and_none():
    assert tu.tree_leaves((1, 2), is_leaf=lambda x: isinstance(x, tuple)) == [(1, 2)]
    assert tu.tree_leaves((1, None), is_leaf=lambda x: x is None) == [1, None]


# ---------------------------------------------------------------------------------------------
# tree_all, tree_reduce, tree_transpose
# ---------------------------------------------------------------------------------------------

def test_tree_all_and_reduce():
    assert tu.tree_all((True, {"a": 1, "b": [True]})) is True
    assert tu.tree_all((True, {"a": 0})) is False
    assert tu.tree_all(None) is True
    assert tu.tree_reduce(lambda a, b: a + b, (1, [2, 3])) == 6
    assert tu.tree_reduce(lambda a, b: a + b, (), 10) == 10


def test_tree_transpose():
    outer = tu.tree_structure((0, 0, 0))
    inner = tu.tree_structure({"a": 0, "b": 0})
    tree = ({"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6})
    assert tu.tree_transpose(outer, inner, tree) == {"a": (1, 3, 5), "b": (2, 4, 6)}


def test_tree_transpose_nested_jacobian_shape():
    # outer = output structure [*, *], inner = input structure (*, (*,))
    outer = tu.tree_structure([0, 0])
    inner = tu.tree_structure((0, (0,)))
    tree = [("d0x", ("d0y",)), ("d1x", ("d1y",))]
    assert tu.tree_transpose(outer, inner, tree) == (["d0x", "d1x"], (["d0y", "d1y"],))


def test_tree_transpose_infers_inner():
    outer = tu.tree_structure([0, 0])
    assert tu.tree_transpose(outer, None, [(1, 2), (3, 4)]) == ([1, 3], [2, 4])


def test_tree_transpose_mismatch():
    outer = tu.tree_structure((0, 0))
    inner = tu.tree_structure({"a": 0, "b": 0})
    with pytest.raises(TypeError, match=r"does not match outer PyTreeDef\(\(\*, \*\)\)"):
        tu.tree_transpose(outer, inner, ({"a": 1, "b": 2}, {"a": 3}))


# ---------------------------------------------------------------------------------------------
# registration errors
# ---------------------------------------------------------------------------------------------

def test_duplicate_registration_rejected():
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Pair, lambda p: ((), None), lambda a, c: None)
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(tuple, lambda p: ((), None), lambda a, c: None)


@dataclasses.dataclass
class _Unregistered:
    a: object
    b: object
    c: object = dataclasses.field(init=False, default=0)


# As in JAX: listed names must be fields and every init field must be listed; an init=False field
# may be listed or not. The error names the offending fields.
BAD_DATACLASS_FIELDS = [
    ("not_a_field", ["a", "bb"], ["b"], r"not fields of _Unregistered: \['bb'\] \(its fields are \['a', 'b', 'c'\]\)"),
    ("missing_init_field", ["a"], [], r"init fields in neither data_fields nor meta_fields: \['b'\]"),
    ("both", ["a", "x"], ["y"], r"not fields of _Unregistered: \['x', 'y'\].*neither.*: \['b'\]"),
    ("repeated", ["a", "b", "a"], [], r"listed more than once: \['a'\]"),
    ("only_meta_unknown", None, ["z"], r"not fields of _Unregistered: \['z'\]"),
    ("in_both_lists", ["a", "b"], ["b"], r"fields \['b'\] are both data and meta"),
]


@pytest.mark.parametrize("data, meta, match", [r[1:] for r in BAD_DATACLASS_FIELDS],
                         ids=[r[0] for r in BAD_DATACLASS_FIELDS])
def test_register_dataclass_rejects_mismatched_fields(data, meta, match):
    with pytest.raises(ValueError, match=match):
        tu.register_dataclass(_Unregistered, data_fields=data, meta_fields=meta)
    # Nothing was registered: the instance is still a leaf.
    assert tu.tree_leaves(_Unregistered(1, 2)) == [_Unregistered(1, 2)]


def test_register_dataclass_init_false_field_may_be_left_out():
    @dataclasses.dataclass
    class D:
        a: object
        b: object
        c: object = dataclasses.field(init=False, default=0)

    tu.register_dataclass(D, data_fields=["a"], meta_fields=["b"])
    leaves, td = tu.tree_flatten(D(1, "m"))
    assert leaves == [1]
    new = td.unflatten([5])
    assert (new.a, new.b, new.c) == (5, "m", 0)


def test_registered_subclass_is_leaf():
    class SubPair(Pair):
        pass

    sp = SubPair(1, 2)
    assert tu.tree_leaves(sp) == [sp]


def test_custom_unflatten_receives_tuple():
    seen = []

    class Node:
        def __init__(self, kids):
            self.kids = kids

    def unflatten(aux, children):
        seen.append(type(children))
        return Node(children)

    tu.register_pytree_node(Node, lambda n: (n.kids, None), unflatten)
    _, td = tu.tree_flatten(Node([1, 2]))
    assert td.unflatten([3, 4]).kids == (3, 4)
    assert seen == [tuple]


def test_dict_with_unorderable_keys():
    leaves, td = tu.tree_flatten({1: "one", "a": "A"})
    # falls back to ordering by (type module, type name, repr): builtins.int < builtins.str
    assert leaves == ["one", "A"]
    assert td.unflatten([1, 2]) == {1: 1, "a": 2}
