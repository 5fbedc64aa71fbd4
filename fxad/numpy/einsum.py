"""fnp.einsum: opt_einsum plans the order of pairwise contractions; each pair becomes one
dot_general, with only reduce_sum, squeeze and a final transpose around it.

Operands travel with labels (einsum's index letters). A label repeated within one operand is a
diagonal (a strided slice) or a trace (a dot_general with the identity); a label that neither
the output nor any other operand needs is summed away as early as possible.
"""

__all__ = ['einsum', 'einsum_path']

import functools

import numpy as np
import opt_einsum

from .. import lax
from ..core import get_aval
from .util import check_arg, promote_dtypes


def einsum(subscripts, *operands, optimize='auto'):
    """numpy.einsum lowered onto dot_general along an opt_einsum contraction path.

    optimize: 'auto' (optimal for up to four operands, cheaper searches beyond), 'optimal',
    'greedy', 'dp' or any opt_einsum strategy; True means 'auto'; False contracts left to right;
    an explicit path (as einsum_path returns it) is used as given.
    """
    subscripts, operands = _interleaved_to_str(subscripts, operands)
    operands = promote_dtypes('einsum', *operands)
    shapes = tuple(get_aval(x).shape for x in operands)
    labels, output, path = _plan(subscripts, shapes, _normalize_optimize(optimize))
    return _contract(list(zip(operands, labels)), output, path)


def einsum_path(subscripts, *operands, optimize='auto'):
    """opt_einsum's (path, report) for this contraction; the path is einsum's `optimize` format."""
    subscripts, operands = _interleaved_to_str(subscripts, operands)
    shapes = [tuple(get_aval(check_arg(x, 'einsum_path')).shape) for x in operands]
    optimize = _normalize_optimize(optimize)
    if optimize is False:
        optimize = _left_to_right(len(shapes))
    try:
        return opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=optimize)
    except ValueError as e:
        raise ValueError(f"einsum_path: {e}") from None


# ---------------------------------------------------------------------------------------------
# Planning: cached per (subscripts, shapes, optimize), so eager calls search for a path once


def _interleaved_to_str(subscripts, operands):
    """einsum(op0, sublist0, op1, sublist1, ..., [sublistout]) as a subscripts string."""
    if isinstance(subscripts, str):
        return subscripts, operands
    subscripts, operands = opt_einsum.parser.convert_interleaved_input((subscripts,) + tuple(operands))
    return subscripts, operands


def _normalize_optimize(optimize):
    if optimize is True:
        return 'auto'
    if optimize is False or isinstance(optimize, opt_einsum.paths.PathOptimizer):
        return optimize
    if isinstance(optimize, str):
        try:
            opt_einsum.paths.get_path_fn(optimize)
        except KeyError:
            raise ValueError(f"einsum: unknown optimize strategy {optimize!r}; use 'auto', "
                             f"'optimal', 'greedy', 'dp', True, False or an explicit path") from None
        return optimize
    if isinstance(optimize, (list, tuple)):
        steps = list(optimize)
        if steps and steps[0] == 'einsum_path':
            steps = steps[1:]
        return tuple(tuple(int(i) for i in step) for step in steps)
    raise TypeError(f"einsum: optimize must be a string, a bool or a contraction path, got {optimize!r}")


def _left_to_right(n):
    # opt_einsum appends each result at the end: contract it with the first operand left.
    return [(0, 1)] + [(0, n - 1 - s) for s in range(1, n - 1)]


def _parse(subscripts, shapes):
    """(labels per operand, output labels) with ellipses expanded; sizes checked."""
    try:
        inputs, output, _ = opt_einsum.parser.parse_einsum_input([subscripts, *shapes], shapes=True)
    except ValueError as e:
        raise ValueError(f"einsum: {e} (subscripts {subscripts!r}, operand shapes "
                         f"{', '.join(map(str, shapes))})") from None
    labels = inputs.split(',')
    sizes = {}
    for i, (term, shape) in enumerate(zip(labels, shapes)):
        if len(term) != len(shape):
            raise ValueError(f"einsum: operand {i} has shape {shape} but its subscripts "
                             f"{term!r} name {len(term)} dimensions")
        own = {}
        for c, n in zip(term, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(f"einsum: operand {i} repeats index {c!r} over dimensions of "
                                 f"different sizes in shape {shape}")
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(f"einsum: index {c!r} has size {sizes[c]} in one operand and {n} "
                                 f"in operand {i} (shapes {', '.join(map(str, shapes))})")
            sizes[c] = max(sizes.get(c, 1), n)
    return labels, output


@functools.lru_cache(maxsize=512)
def _plan(subscripts, shapes, optimize):
    """(labels per operand, output labels, contraction path) for these operand shapes."""
    labels, output = _parse(subscripts, shapes)
    n = len(labels)
    if n <= 2:
        return labels, output, ((tuple(range(n)),) if n == 2 else ())
    if optimize is False:
        return labels, output, tuple(_left_to_right(n))
    if isinstance(optimize, tuple):
        _check_path(optimize, n)
        return labels, output, optimize
    # Plan on the operands as they are after their own diagonals and sums (what _contract does).
    reduced, reduced_shapes = [], []
    for i, term in enumerate(labels):
        needed = set(output).union(*(t for j, t in enumerate(labels) if j != i))
        kept = [c for c in dict.fromkeys(term) if c in needed]
        reduced.append(''.join(kept))
        reduced_shapes.append(tuple(shapes[i][term.index(c)] for c in kept))
    path, _ = opt_einsum.contract_path(f"{','.join(reduced)}->{output}", *reduced_shapes,
                                       shapes=True, optimize=optimize)
    return labels, output, tuple(tuple(step) for step in path)


def _check_path(path, n):
    for step in path:
        if len(set(step)) != len(step) or not all(0 <= i < n for i in step):
            raise ValueError(f"einsum: invalid contraction path {list(path)}: step {step} does not "
                             f"name distinct operands among the {n} left at that point")
        n -= len(step) - 1


# ---------------------------------------------------------------------------------------------
# Lowering: labeled operands, one dot_general per pairwise contraction


def _contract(ops, output, path):
    """Contract a list of (operand, labels) along `path` (opt_einsum's convention: each step
    pops the listed positions and appends the result); returns the array in output order."""
    ops = [reduce_operand(x, l, _needed(output, ops, i)) for i, (x, l) in enumerate(ops)]
    for step in path:
        members = [ops.pop(i) for i in sorted(step, reverse=True)][::-1]
        rest = set(output).union(*(l for _, l in ops))
        x, xl = reduce_operand(*members[0], rest.union(*(l for _, l in members[1:])))
        for k, (y, yl) in enumerate(members[1:], start=2):
            keep = rest.union(*(l for _, l in members[k:]))
            if not ops and k == len(members) and _pair_labels(yl, xl, keep) == list(output):
                x, xl, y, yl = y, yl, x, xl  # the last product then needs no transpose
            x, xl = contract_pair(x, xl, y, yl, keep)
        ops.append((x, xl))
    while len(ops) > 1:  # an explicit path may stop early: finish left to right
        (x, xl), (y, yl) = ops[0], ops[1]
        rest = set(output).union(*(l for _, l in ops[2:]))
        ops[:2] = [contract_pair(x, xl, y, yl, rest)]
    x, xl = reduce_operand(*ops[0], set(output))
    return lax.transpose(x, tuple(xl.index(c) for c in output))


def _needed(output, ops, i):
    return set(output).union(*(l for j, (_, l) in enumerate(ops) if j != i))


def reduce_operand(x, labels, keep):
    """Take diagonals of repeated labels and sum labels not in `keep`; returns (x, labels)."""
    labels = list(labels)
    for c in dict.fromkeys(labels):
        while labels.count(c) > 1:
            i = labels.index(c)
            j = labels.index(c, i + 1)
            others = [l for k, l in enumerate(labels) if k not in (i, j)]
            if labels.count(c) == 2 and c not in keep:
                x, labels = _trace_axes(x, i, j), others
            else:
                x, labels = take_diagonal(x, i, j), others + [c]
    summed = [k for k, c in enumerate(labels) if c not in keep]
    if summed:
        x = lax.reduce_sum(x, tuple(summed))
        labels = [c for c in labels if c in keep]
    return x, labels


def take_diagonal(x, axis1, axis2, offset=0):
    """x[.., k + s1, .., k + s2, ..] over k, as x's last axis (numpy.diagonal's layout), with
    s1, s2 = max(-offset, 0), max(offset, 0): with the two axes moved last and flattened, the
    diagonal is every (n2 + 1)-th element, one strided slice."""
    shape = get_aval(x).shape
    n1, n2 = shape[axis1], shape[axis2]
    s1, s2 = max(-offset, 0), max(offset, 0)
    length = max(0, min(n1 - s1, n2 - s2))
    others = tuple(k for k in range(len(shape)) if k not in (axis1, axis2))
    rest = tuple(shape[k] for k in others)
    flat = lax.reshape(lax.transpose(x, others + (axis1, axis2)), rest + (n1 * n2,))
    start = s1 * n2 + s2 if length else 0
    limit = start + (length - 1) * (n2 + 1) + 1 if length else 0
    return lax.slice(flat, (0,) * len(rest) + (start,), rest + (limit,), (1,) * len(rest) + (n2 + 1,))


def _trace_axes(x, i, j):
    # sum_p x[.., p, .., p, ..] = <x, I> over the two axes: a contraction with the identity.
    eye = np.eye(get_aval(x).shape[i], dtype=get_aval(x).dtype)
    return lax.dot_general(x, eye, (((i, j), (0, 1)), ((), ())))


def _squeeze_broadcast(x, labels, other_labels, other_shape):
    """Drop x's size-1 dims whose label has a larger size in the other operand (broadcasting)."""
    shape = get_aval(x).shape
    ones = [k for k, c in enumerate(labels)
            if shape[k] == 1 and c in other_labels and other_shape[other_labels.index(c)] != 1]
    if not ones:
        return x, labels
    return lax.squeeze(x, tuple(ones)), [c for k, c in enumerate(labels) if k not in ones]


def _pair_labels(x_labels, y_labels, keep):
    """The labels contract_pair gives (batch, x's free, y's free), broadcasting aside."""
    shared = [c for c in x_labels if c in y_labels]
    return ([c for c in shared if c in keep] + [c for c in x_labels if c not in shared and c in keep]
            + [c for c in y_labels if c not in shared and c in keep])


def contract_pair(x, x_labels, y, y_labels, keep):
    """One dot_general of two labeled operands. Shared labels in `keep` become batch dims, the
    other shared labels are contracted; the result's labels are dot_general's order: batch,
    x's free, y's free."""
    x_labels, y_labels = list(x_labels), list(y_labels)
    x_shape, y_shape = get_aval(x).shape, get_aval(y).shape
    x, x_labels, y, y_labels = (*_squeeze_broadcast(x, x_labels, y_labels, y_shape),
                                *_squeeze_broadcast(y, y_labels, x_labels, x_shape))
    x, x_labels = reduce_operand(x, x_labels, set(keep).union(y_labels))
    y, y_labels = reduce_operand(y, y_labels, set(keep).union(x_labels))
    shared = [c for c in x_labels if c in y_labels]
    batch = [c for c in shared if c in keep]
    contracting = [c for c in shared if c not in keep]
    dimension_numbers = ((tuple(x_labels.index(c) for c in contracting),
                          tuple(y_labels.index(c) for c in contracting)),
                         (tuple(x_labels.index(c) for c in batch),
                          tuple(y_labels.index(c) for c in batch)))
    out = lax.dot_general(x, y, dimension_numbers)
    out_labels = (batch + [c for c in x_labels if c not in shared]
                  + [c for c in y_labels if c not in shared])
    return out, out_labels
