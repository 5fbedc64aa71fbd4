"""Every Primitive defined anywhere in fxad has the rules each transformation needs."""
import importlib
import inspect
import re
import pkgutil

import pytest

import fxad
from fxad.core import Primitive


def _all_modules():
    modules, failures = [], []
    for info in pkgutil.walk_packages(fxad.__path__, prefix='fxad.'):
        try:
            modules.append(importlib.import_module(info.name))
        except Exception as e:  # reported by test_every_module_imports
            failures.append((info.name, f"{type(e).__name__}: {e}"))
    return modules, failures


def _home(prim, holders):
    """The module that defines prim: the holder whose source names it in quotes."""
    for m in holders:
        try:
            source = inspect.getsource(m)
        except (OSError, TypeError):
            continue
        if re.search(rf"=\s*[\w.]+\(\s*['\"]{re.escape(prim.name)}['\"]", source):
            return m.__name__
    return holders[0].__name__


def _all_primitives(modules):
    holders = {}
    for m in modules:
        for value in vars(m).values():
            if isinstance(value, Primitive):
                holders.setdefault(id(value), (value, []))[1].append(m)
    found = [(p, _home(p, ms)) for p, ms in holders.values()]
    return sorted(found, key=lambda pm: (pm[1], pm[0].name))


MODULES, IMPORT_FAILURES = _all_modules()
PRIMITIVES = _all_primitives(MODULES)


def test_every_module_imports():
    assert not IMPORT_FAILURES, IMPORT_FAILURES


def test_primitives_are_found_in_every_family():
    names = {p.name for p, _ in PRIMITIVES}
    assert {'sin', 'add', 'select_n', 'broadcast_in_dim', 'reduce_sum', 'dot_general', 'jit',
            'add_any'} <= names
    homes = {m for _, m in PRIMITIVES}
    assert {'fxad.lax.elementwise', 'fxad.lax.shapes', 'fxad.interpreters.ad'} <= homes


def test_primitive_names_are_unique():
    seen = {}
    for p, m in PRIMITIVES:
        assert p.name not in seen, f"primitive name '{p.name}' is used in {seen[p.name]} and {m}"
        seen[p.name] = m


def _takes_operands(prim):
    try:
        params = inspect.signature(prim.abstract_eval).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


@pytest.mark.parametrize('prim, module', PRIMITIVES, ids=[f"{m.rsplit('.', 1)[-1]}.{p.name}" for p, m in PRIMITIVES])
def test_primitive_has_all_rules(prim, module):
    # A primitive without operands (iota) is never given a tracer: no jvp or batch rule needed.
    takes_operands = _takes_operands(prim)
    missing = []
    if not callable(prim.impl):
        missing.append('impl')
    if not callable(prim.abstract_eval):
        missing.append('abstract_eval')
    if takes_operands and not (callable(prim.jvp) or prim.nondifferentiable):
        missing.append('jvp (or nondifferentiable=True)')
    if prim.nondifferentiable and prim.transpose is not None:
        missing.append('consistency: a nondifferentiable primitive has a transpose rule')
    if takes_operands and not callable(prim.batch):
        missing.append('batch')
    assert not missing, f"primitive '{prim.name}' ({module}) lacks: {', '.join(missing)}"
