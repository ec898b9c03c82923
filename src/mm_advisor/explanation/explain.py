"""Explain a trace for a person: HOW it was reached, WHY NOT the other options, and WHAT IF.

The explanation is built as sections of indented lines, then rendered as text or Markdown.
What-if answers come from re-running the current rules, never from guessing.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from ..errors import AdvisorError, did_you_mean
from ..knowledge.answers import parse_recorded
from ..knowledge.conditions import describe
from ..reasoning.advisor import Advisor
from ..reasoning.decision import EXPLAINED
from . import render
from .plain import concluded, in_words, lower_first, said_words, source_names, weighed_option
from .render import safe, value


@dataclass
class Section:
    title: str
    lines: list[tuple[int, str]] = field(default_factory=list)

    def add(self, depth: int, text: str) -> None:
        self.lines.append((depth, text))


def _cite(f: dict[str, Any], names: dict[str, str]) -> str:
    source = f["source"]
    title = names.get(source.get("document", ""), "The article")
    return f'{title}, {source["section"]}: "{source["quote"]}" ({f["location"]})'


def _facts(f: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [m for m in f["matched"] if m["kind"] == kind]


class Terms:
    """How an explanation names things for an auditor or an advisor: as the rule files and the
    trace do (rule ids, fact names, option names), so each line can be looked up."""

    def __init__(self, advisor: Advisor):
        self.schema = advisor.rulebase.schema

    def option(self, name: str) -> str:
        return safe(name)

    def subject(self, name: str) -> str:
        """An option at the start of a sentence."""
        return self.option(name)

    def scores(self, doc: dict[str, Any]) -> str:
        return ", ".join(f"{self.option(k)} {render.weight(v)}" for k, v in doc["scores"].items())

    def step(self, f: dict[str, Any]) -> str:
        return f"step {f['seq']}, {safe(f['rule'])}: {safe(f['title'])}"

    def again(self, f: dict[str, Any]) -> str:
        return f"{safe(f['rule'])} (step {f['seq']}, shown above)"

    def rule(self, r: dict[str, Any], note: str = "") -> str:
        """A rule of the trace (fired or not), with `note` after its name."""
        return f"{safe(r['rule'])}{note}: {safe(r['title'])}"

    def value(self, fact: str, v: Any) -> str:
        return value(v)

    def answer(self, fact: str, v: Any) -> str:
        return f"{safe(fact)} = {value(v)}"

    def values(self, fact: str, values: str) -> str:
        return f"{safe(fact)} = {values}"

    def derived(self, name: str) -> str:
        return f"derived {safe(name)}"

    def stopped(self, b: dict[str, Any]) -> str:
        return render.stopped(b)


class Words(Terms):
    """How a report names things for the person: the questions, conclusions and options in the
    knowledge base's words, and rules by their titles (the ids are in the trace it keeps)."""

    def __init__(self, advisor: Advisor):
        super().__init__(advisor)
        self.labels = {n: o.label for n, o in self.schema.options.items()}
        self.rules = {r.id: r for r in advisor.rulebase.rules}

    def option(self, name: str) -> str:
        return safe(lower_first(self.labels.get(name, name)))

    def subject(self, name: str) -> str:
        text = self.option(name)
        return text[:1].upper() + text[1:]

    def step(self, f: dict[str, Any]) -> str:
        return f"step {f['seq']}: {safe(f['title'])}"

    def again(self, f: dict[str, Any]) -> str:
        return f"step {f['seq']}, shown above"

    def rule(self, r: dict[str, Any], note: str = "") -> str:
        return f"{safe(r['title'])}{note}"

    def value(self, fact: str, v: Any) -> str:
        spec = self.schema.facts.get(fact)
        return value(v) if spec is None else safe(said_words(spec, v))

    def answer(self, fact: str, v: Any) -> str:
        return f"{self._question(fact)}: {self.value(fact, v)}"

    def values(self, fact: str, values: str) -> str:
        return f"{self._question(fact)}: {values}"

    def _question(self, fact: str) -> str:
        spec = self.schema.facts.get(fact)
        return safe(fact) if spec is None else f'"{safe(spec.question)}"'

    def derived(self, name: str) -> str:
        if name not in self.schema.derived:
            return super().derived(name)
        return f"concluded: {safe(concluded(self.schema, name))}"

    def stopped(self, b: dict[str, Any]) -> str:
        """Why a rule did not fire, in words, from the current rule's condition; the trace's
        own record when the current rules do not hold that condition there any more."""
        rule = self.rules.get(b["rule"])
        if (
            rule is None
            or not 0 <= b["index"] < len(rule.when)
            or describe(rule.when[b["index"]], self.schema) != b["condition"]
        ):
            return render.stopped(b)
        needs = f"it needs: {safe(in_words(rule.when[b['index']], self.schema))}; "
        seen = b["seen"]
        if len(seen) == 1:
            ((fact, v),) = seen.items()
            return needs + f"your answer: {self.value(fact, v)}"
        if seen:
            return needs + "your answers: " + "; ".join(self.answer(k, v) for k, v in seen.items())
        return needs + (
            "not known yet" if b["result"] == "unknown" else "your answers do not show it"
        )


class Explainer:
    """Builds the explanation of one trace, against the current rule base for what-if."""

    def __init__(self, doc: dict[str, Any], advisor: Advisor, words: bool = False):
        self.doc = doc
        self.advisor = advisor
        self.names = (Words if words else Terms)(advisor)
        self.labels = {n: o.label for n, o in advisor.rulebase.schema.options.items()}
        self.derived_by = {d: f for f in doc["fired"] for d in f["derived"]}
        self.sources = source_names(doc)
        self.shown: dict[str, set[int]] = {}

    def sections(self, rule_id: str | None = None) -> list[Section]:
        if rule_id is not None:
            return [self.rule(rule_id)]
        return [self.how(), self.why_not(), self.what_if()]

    def header(self) -> list[str]:
        doc = self.doc
        rec = doc["recommendation"]
        lines = [
            f"Recommendation: {safe(self.labels.get(rec, 'not enough to decide yet'))} ({safe(rec)})"
        ]
        if doc["rulebase"]["digest"] != self.advisor.rulebase.digest:
            lines.append(
                "Note: the current rule files differ from the ones this trace was made "
                "with; what-if uses the current ones (see `mm-advisor audit verify`)."
            )
        return lines + ["", safe(doc["summary"])]

    def chain(self, section: Section, f: dict[str, Any], depth: int) -> None:
        """A fired rule, then the answers and derived facts it stood on, down to the answers.

        A rule already shown in this section is named again but not expanded twice.
        """
        if f["seq"] in self.shown.setdefault(section.title, set()):
            section.add(depth, self.names.again(f))
            return
        self.shown[section.title].add(f["seq"])
        section.add(depth, self.names.step(f))
        section.add(depth + 1, f"cites {safe(_cite(f, self.sources))}")
        answers = [
            self.names.answer(m["fact"], m["value"]) for m in f["matched"] if m["kind"] != "derived"
        ]
        if answers:
            section.add(depth + 1, "on " + ", ".join(answers))
        for m in _facts(f, "derived"):
            source = self.derived_by.get(m["fact"])
            section.add(depth + 1, f"{self.names.derived(m['fact'])}, from:")
            if source is not None:
                self.chain(section, source, depth + 2)

    def how(self) -> Section:
        doc = self.doc
        rec = doc["recommendation"]
        section = Section("How it was reached")
        decision = doc["decision"]
        reason = decision["reason"]
        if reason == "rule":
            section.add(0, "Decided by a decision rule, after all the evidence was in:")
            self.chain(section, next(f for f in doc["fired"] if f["rule"] == decision["rule"]), 1)
        elif rec == "undetermined":
            why = EXPLAINED.get(reason, reason)
            section.add(0, f"Undetermined: {safe(why)} ({self.names.scores(doc)}).")
        elif reason == "only-option":
            section.add(
                0,
                f"{self.names.subject(rec)} is recommended by elimination: the only option not "
                f"ruled out, with positive evidence ({self.names.scores(doc)}).",
            )
        else:
            section.add(
                0,
                f"{self.names.subject(rec)} gathered the most weighed evidence of the options not "
                f"ruled out ({self.names.scores(doc)}).",
            )
        out = [f for f in doc["fired"] if f.get("ruled_out")]
        for f in out:
            options = ", ".join(self.names.option(o) for o in f["ruled_out"])
            section.add(0, f"Ruled out {options}:")
            self.chain(section, f, 1)
        subject = weighed_option(doc)
        if subject is not None:
            for heading, counts in (("Evidence for", 1), ("Evidence against", -1)):
                weighed = [f for f in doc["fired"] if f["score"].get(subject, 0) * counts > 0]
                if weighed:
                    section.add(0, f"{heading} {self.names.option(subject)}:")
                for f in weighed:
                    section.add(1, f"{render.weight(f['score'][subject])} from:")
                    self.chain(section, f, 2)
        shown = self.shown.get(section.title, set())
        others = [f for f in doc["fired"] if f["seq"] not in shown]
        if others:
            section.add(0, "Also fired, without bearing on the result above:")
        for f in others:
            adds = [self.names.derived(d) for d in f["derived"]]
            adds += [f"{self.names.option(k)} {render.weight(w)}" for k, w in f["score"].items()]
            added = f" (added {', '.join(adds)})" if adds else " (added nothing new)"
            section.add(1, f"{self.names.step(f)}{added}")
        if not doc["fired"]:
            section.add(0, "No rule fired: the answers given meet no rule's conditions.")
        return section

    def why_not(self) -> Section:
        doc = self.doc
        section = Section("Why not the other options")
        blocked = {b["rule"]: b for b in doc["not_fired"]}
        rules = {r.id: r for r in self.advisor.rulebase.rules}
        for option, total in doc["scores"].items():
            if option == doc["recommendation"]:
                continue
            section.add(0, f"{self.names.subject(option)} ({render.weight(total)}):")
            fired = [f for f in doc["fired"] if f["score"].get(option)]
            for f in fired:
                section.add(1, f"{render.weight(f['score'][option])} {self.names.rule(f)}")
            for f in doc["fired"]:
                if option in f.get("ruled_out", []):
                    section.add(1, f"ruled out by {self.names.rule(f)}")
            if doc["decision"]["reason"] == "rule":
                section.add(
                    1,
                    f"the decision rule {safe(doc['decision']['rule'])} concluded "
                    f"{self.names.option(doc['recommendation'])}",
                )
            missing = [
                b
                for rid, b in blocked.items()
                if rid in rules
                and (dict(rules[rid].score).get(option, 0) > 0 or rules[rid].conclude == option)
            ]
            if missing:
                section.add(1, "would have supported it, but did not fire:")
            for b in missing:
                rule = rules[b["rule"]]
                gain = (
                    "would decide it"
                    if rule.conclude == option
                    else f"{dict(rule.score)[option]:+d}"
                )
                section.add(2, self.names.rule(b, f" ({gain})"))
                section.add(3, self.names.stopped(b))
        return section

    def what_if(self) -> Section:
        section = Section("What if an answer changed")
        answers = parse_recorded(self.doc["answers"], self.advisor.rulebase.schema).values
        changes = self.advisor.what_if(
            {n: answers.get(n) for n in self.advisor.rulebase.schema.facts}
        )
        if not changes:
            section.add(0, "No single changed answer would change the recommendation.")
            return section
        section.add(0, "Changing one answer at a time (found by re-running the rules):")
        grouped = render.group_changes((c.fact, c.value, c.recommendation) for c in changes)
        for (fact, rec), values in grouped.items():
            was = self.names.value(fact, answers.get(fact))
            section.add(
                1, f"{self.names.values(fact, values)} (was {was}) -> {self.names.option(rec)}"
            )
        return section

    def rule(self, rule_id: str) -> Section:
        section = Section(f"Rule {rule_id}")
        fired = next((f for f in self.doc["fired"] if f["rule"] == rule_id), None)
        if fired is not None:
            section.add(0, f"Fired as step {fired['seq']}:")
            self.chain(section, fired, 1)
            adds = [f"derived {safe(d)}" for d in fired["derived"]]
            adds += [f"{safe(k)} {render.weight(w)}" for k, w in fired["score"].items()]
            adds += [f"rules out {safe(o)}" for o in fired.get("ruled_out", [])]
            if adds:
                section.add(1, "added " + ", ".join(adds))
            return section
        blocked = next((b for b in self.doc["not_fired"] if b["rule"] == rule_id), None)
        if blocked is None:
            known = [f["rule"] for f in self.doc["fired"]] + [
                b["rule"] for b in self.doc["not_fired"]
            ]
            raise AdvisorError(f"the trace has no rule '{rule_id}'{did_you_mean(rule_id, known)}")
        section.add(0, f"Did not fire: {safe(blocked['title'])} ({safe(blocked['location'])})")
        section.add(1, render.stopped(blocked))
        return section


def to_text(header: list[str], sections: list[Section]) -> str:
    out = [render.para(line, 0) if line else "" for line in header]
    for s in sections:
        out += ["", s.title, "-" * len(s.title)]
        for depth, text in s.lines:
            pad = "  " * (depth + 1)
            out.append(
                textwrap.fill(
                    text,
                    render.width(),
                    initial_indent=pad,
                    subsequent_indent=pad + "    ",
                    break_on_hyphens=False,
                )
            )
    return "\n".join(out) + "\n"


def to_markdown(header: list[str], sections: list[Section]) -> str:
    title, *rest = (render.markdown(line) for line in header)
    out = [f"# {title}", *rest]
    for s in sections:
        out += ["", f"## {render.markdown(s.title)}", ""]
        out += [f"{'  ' * depth}- {render.markdown(text)}" for depth, text in s.lines]
    return "\n".join(out) + "\n"


def to_json(header: list[str], sections: list[Section]) -> dict[str, Any]:
    """The explanation as data: its header lines, and each section's lines with their depth."""
    return {
        "header": [line for line in header if line],
        "sections": [
            {"title": s.title, "lines": [{"depth": d, "text": t} for d, t in s.lines]}
            for s in sections
        ],
    }
