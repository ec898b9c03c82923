"""experta 1.9.4 made importable and checked: the only module that imports experta.

experta pins frozendict 1.2, which subclasses `collections.Mapping`, gone since Python 3.10: the
alias is added only while frozendict loads. experta's import calls logging.basicConfig(); that
global change is undone. The speedups (`speedups.py`) replace methods of experta's internals, so
the version is checked here, once, with an error that says what to install.
"""

from __future__ import annotations

import collections
import collections.abc
import logging

SUPPORTED = "1.9.4"


def _import_experta():
    """Import experta with `collections.Mapping` aliased only while frozendict 1.2 loads."""
    added = not hasattr(collections, "Mapping")
    if added:
        collections.Mapping = collections.abc.Mapping
    try:
        import frozendict  # noqa: F401
    finally:
        if added:
            del collections.Mapping
    root = logging.getLogger()
    handlers = list(root.handlers)
    import experta  # its import calls logging.basicConfig(); undo that global change below

    root.handlers[:] = handlers
    return experta


experta = _import_experta()
EXPERTA_VERSION = experta.__version__
if EXPERTA_VERSION != SUPPORTED:
    raise ImportError(
        f"mm-advisor needs experta {SUPPORTED}, whose internals it adapts; found "
        f"{EXPERTA_VERSION}: pip install 'experta=={SUPPORTED}'",
        name="experta",
    )

from experta import AS, MATCH, NOT, TEST, Fact, KnowledgeEngine, P  # noqa: E402
from experta import Rule as ExpertaRule  # noqa: E402
from experta.abstract import Strategy  # noqa: E402
from experta.activation import Activation  # noqa: E402
from experta.agenda import Agenda  # noqa: E402
from experta.fact import InitialFact  # noqa: E402
from experta.factlist import FactList  # noqa: E402
from experta.matchers.rete import ReteMatcher  # noqa: E402
from experta.matchers.rete.check import FeatureCheck, TypeCheck, WhereCheck  # noqa: E402
from experta.matchers.rete.mixins import NoMemory  # noqa: E402
from experta.matchers.rete.nodes import (  # noqa: E402
    BusNode,
    ConflictSetNode,
    FeatureTesterNode,
    OrdinaryMatchNode,
)
from experta.matchers.rete.token import Token, TokenInfo  # noqa: E402

__all__ = [
    "AS", "MATCH", "NOT", "TEST", "P", "Activation", "Agenda", "BusNode", "ConflictSetNode",
    "EXPERTA_VERSION", "ExpertaRule", "Fact", "FactList", "FeatureCheck", "FeatureTesterNode",
    "InitialFact", "KnowledgeEngine", "NoMemory", "OrdinaryMatchNode", "ReteMatcher",
    "Strategy", "Token", "TokenInfo", "TypeCheck", "WhereCheck", "experta",
]  # fmt: skip
