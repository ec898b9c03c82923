"""The agenda's order: the same in every process, and exact when facts are retracted.

experta's default strategy breaks salience ties by object hashes, so the firing order changed
between processes, and it could keep activations of retracted facts on the agenda.
"""

from __future__ import annotations

from typing import Mapping

from .compat import Strategy


class DeterministicStrategy(Strategy):
    """Fires higher salience first, then earlier rules in the rule base, then newer facts.

    Keys depend only on the rule base and fact ids, never on hashes, so the order is the same in
    every process. Cancelled activations are removed by identity (rule, facts), all of them.
    """

    def __init__(self, priorities: Mapping[str, tuple[int, int]]):
        super().__init__()
        self.priorities = priorities

    def key(self, activation) -> tuple:
        salience, order = self.priorities[activation.rule.__name__]
        facts = tuple(sorted((f["__factid__"] for f in activation.facts), reverse=True))
        return (salience, -order, facts)

    @staticmethod
    def identity(activation) -> tuple:
        return activation.rule.__name__, frozenset(f["__factid__"] for f in activation.facts)

    def _update_agenda(self, agenda, added, removed) -> None:
        kept = agenda.activations
        if removed:
            gone = {self.identity(a) for a in removed}
            kept = [a for a in kept if a.identity not in gone]
        if added:
            for activation in added:
                activation.key = self.key(activation)
                activation.identity = self.identity(activation)
            kept = [*kept, *added]
            # The agenda pops from the end: the highest key fires next.
            kept.sort(key=lambda a: a.key)
        agenda.activations = kept
