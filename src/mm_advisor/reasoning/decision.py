"""The decision policy: from the rules that fired to a recommendation, the same for every engine.

In the order it applies:
1. If a decision rule (`then: conclude`) fired, its option is the recommendation. Decision rules
   carry low salience so they run after the evidence, and only the first one fires.
2. Options that a fired rule ruled out (`then: rule_out`) cannot be recommended. If every option
   is ruled out, the result is `undetermined`; if exactly one remains, it is the recommendation,
   whatever its score, since nothing else can serve.
3. Otherwise the remaining option with the highest total score wins, where each fired rule adds
   its weights. If none has a positive total, or two share the highest, the result is
   `undetermined`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..knowledge.rulebase import Rule
from ..knowledge.schema import UNDETERMINED

RULE, SCORE, ONLY_OPTION = "rule", "score", "only-option"
NO_EVIDENCE, TIE, ALL_RULED_OUT = "no-evidence", "tie", "all-ruled-out"
REASONS = (RULE, SCORE, ONLY_OPTION, NO_EVIDENCE, TIE, ALL_RULED_OUT)


@dataclass(frozen=True)
class Decision:
    recommendation: str
    reason: str  # one of REASONS
    rule: Rule | None  # the decision rule, when reason is "rule"
    scores: Mapping[str, int]
    ruled_out: tuple[str, ...]  # options ruled out, in option order

    @property
    def overruled(self) -> tuple[str, ...]:
        """Options that gathered more weight than the one a decision rule concluded."""
        if self.reason != RULE:
            return ()
        mine = self.scores[self.recommendation]
        return tuple(
            o
            for o, s in self.scores.items()
            if s > mine and o != self.recommendation and o not in self.ruled_out
        )


def tally(options: Iterable[str], fired: Iterable[Rule]) -> dict[str, int]:
    """The total weight each option received from the rules that fired."""
    scores = {name: 0 for name in options}
    for rule in fired:
        for option, weight in rule.score:
            scores[option] += weight
    return scores


def decide(options: Iterable[str], fired: Sequence[Rule], conclusion: Rule | None) -> Decision:
    """Apply the policy of the module docstring to the rules that fired, in firing order."""
    scores = tally(options, fired)
    out = {o for rule in fired for o in rule.rule_out}
    ruled_out = tuple(o for o in scores if o in out)
    if conclusion is not None:
        return Decision(conclusion.conclude, RULE, conclusion, scores, ruled_out)
    remaining = [o for o in scores if o not in out]
    if not remaining:
        return Decision(UNDETERMINED, ALL_RULED_OUT, None, scores, ruled_out)
    if len(remaining) == 1 and ruled_out:
        return Decision(remaining[0], ONLY_OPTION, None, scores, ruled_out)
    best = max(scores[o] for o in remaining)
    leaders = [o for o in remaining if scores[o] == best]
    if best <= 0:
        return Decision(UNDETERMINED, NO_EVIDENCE, None, scores, ruled_out)
    if len(leaders) > 1:
        return Decision(UNDETERMINED, TIE, None, scores, ruled_out)
    return Decision(leaders[0], SCORE, None, scores, ruled_out)
