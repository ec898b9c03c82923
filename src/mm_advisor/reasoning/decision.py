"""The decision policy: from the rules that fired to a recommendation, the same for every engine.

In the order it applies:
1. If a decision rule (`then: conclude`) fired, its option is the recommendation. Decision rules
   carry low salience so they run after the evidence, and only the first one fires.
2. Options that a fired rule ruled out (`then: rule_out`) cannot be recommended; if every option
   is ruled out, nothing fits (`all-ruled-out`).
3. A recommendation needs positive net support: the remaining option with the highest total
   wins, where each fired rule adds its weights, if that total is above zero and no other
   remaining option shares it. It is reached by elimination (`only-option`) when the others are
   all ruled out, else by the weights (`score`).
4. Otherwise the result is `undetermined`, for one of three reasons a person is told apart:
   `tie` (a real trade-off: two options equally supported), `no-fit` (nothing fits: the one option
   left, or every option with support, has more against it than for it) or `no-evidence` (too
   little evidence: no remaining option has any support).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..knowledge.rulebase import Rule
from ..knowledge.schema import UNDETERMINED

RULE, SCORE, ONLY_OPTION = "rule", "score", "only-option"
NO_EVIDENCE, TIE, NO_FIT, ALL_RULED_OUT = "no-evidence", "tie", "no-fit", "all-ruled-out"
REASONS = (RULE, SCORE, ONLY_OPTION, NO_EVIDENCE, TIE, NO_FIT, ALL_RULED_OUT)
# Why a result is undetermined: in the summary and the explanation, then as a person is told it.
EXPLAINED = {
    NO_EVIDENCE: "no option gathered positive evidence",
    TIE: "the strongest options are tied",
    NO_FIT: "what supports the options left is outweighed by what weighs against them",
    ALL_RULED_OUT: "every option is ruled out",
}
UNDETERMINED_WHY = {
    NO_EVIDENCE: "too little evidence",
    TIE: "a real trade-off",
    NO_FIT: "nothing fits well",
    ALL_RULED_OUT: "nothing fits well",
}


@dataclass(frozen=True)
class Decision:
    recommendation: str
    reason: str  # one of REASONS
    rule: Rule | None  # the decision rule, when reason is "rule"
    scores: Mapping[str, int]
    ruled_out: tuple[str, ...]  # options ruled out, in option order

    @property
    def remaining(self) -> tuple[str, ...]:
        """The options not ruled out, in option order."""
        return tuple(o for o in self.scores if o not in self.ruled_out)

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
    best = max(scores[o] for o in remaining)
    if best <= 0:
        supported = {o for rule in fired for o, weight in rule.score if weight > 0}
        fits_none = (len(remaining) == 1 and ruled_out) or supported.intersection(remaining)
        return Decision(UNDETERMINED, NO_FIT if fits_none else NO_EVIDENCE, None, scores, ruled_out)
    leaders = [o for o in remaining if scores[o] == best]
    if len(leaders) > 1:
        return Decision(UNDETERMINED, TIE, None, scores, ruled_out)
    reason = ONLY_OPTION if len(remaining) == 1 and ruled_out else SCORE
    return Decision(leaders[0], reason, None, scores, ruled_out)
