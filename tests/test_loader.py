"""The rule language and its loader: exact messages with positions for every kind of mistake."""

from __future__ import annotations

import pytest
import yaml
from conftest import FACTS, REPO_KB, RULES, problems_of

from mm_advisor.errors import KnowledgeBaseError
from mm_advisor.knowledge import rulebase
from mm_advisor.knowledge.layout import Layout
from mm_advisor.knowledge.yamlsrc import load_text

GOOD_SOURCE = """\
    source:
      section: Flexibility
      quote: Designed for working professionals
"""


def rule(when: str, then: str = "derive: [needs_flexibility]", extra: str = "") -> str:
    return (
        "rules:\n"
        "  - id: sample\n"
        "    title: A sample rule\n"
        "    source:\n"
        "      section: Flexibility\n"
        "      quote: Designed for working professionals\n"
        f"{extra}"
        "    when:\n"
        f"{when}"
        "    then:\n"
        f"      {then}\n"
    )


def test_shipped_knowledge_base_is_clean():
    assert problems_of(RULES, FACTS) == []


@pytest.mark.parametrize(
    "when, expected",
    [
        (
            "      - fact: working_profesional\n        is: yes\n",
            "rules/bad.yaml:8:15: unknown fact 'working_profesional' (did you mean 'working_professional'?)",
        ),
        (
            "      - fact: budget\n        is: lots\n",
            "rules/bad.yaml:9:13: 'budget': 'lots' is not one of low, medium, high",
        ),
        (
            "      - fact: budget\n        is: lowe\n",
            "rules/bad.yaml:9:13: 'budget': 'lowe' is not one of low, medium, high (did you mean 'low'?)",
        ),
        (
            "      - fact: months_available\n        ge: 500\n",
            "rules/bad.yaml:9:13: 'months_available': 500 is outside the allowed range 1-120",
        ),
        (
            "      - fact: budget\n        lt: 3\n",
            "rules/bad.yaml:9:13: 'lt' compares numbers, but 'budget' is a choice (low, medium, high)",
        ),
        (
            "      - fact: working_professional\n        is: perhaps\n",
            "rules/bad.yaml:9:13: 'working_professional': 'perhaps' is not an answer to a yes/no "
            "question; use yes, no or unknown",
        ),
        (
            "      - fact: working_professional\n        iss: yes\n",
            "rules/bad.yaml:9:9: unknown operator 'iss' (did you mean 'is'?); expected one of: fact, is, "
            "is_not, in, not_in, lt, le, gt, ge, known, derived, all, any, not",
        ),
        (
            "      - fact: working_professional\n",
            "rules/bad.yaml:8:9: a test of 'working_professional' needs exactly one operator of: is, "
            "is_not, in, not_in, lt, le, gt, ge, known (found none)",
        ),
        (
            "      - derived: cost_sensitiv\n",
            "rules/bad.yaml:8:18: unknown derived fact 'cost_sensitiv' (did you mean 'cost_sensitive'?)",
        ),
        (
            "      - derived: budget\n",
            "rules/bad.yaml:8:18: unknown derived fact 'budget'; 'budget' is a question: test it with "
            "`fact: budget`",
        ),
        (
            "      - fact: cost_sensitive\n        is: yes\n",
            "rules/bad.yaml:8:15: unknown fact 'cost_sensitive'; 'cost_sensitive' is derived by rules: "
            "test it with `derived: cost_sensitive`",
        ),
        (
            "      - any:\n          - derived: cost_sensitive\n",
            "rules/bad.yaml:9:22: a derived-fact test can stand only directly in 'when' or under a 'not' "
            "there, not inside 'all' or 'any'",
        ),
        (
            "      - fact: months_available\n        lt: {background: full_masters.duration_min}\n",
            "rules/bad.yaml:9:26: unknown background fact 'full_masters.duration_min' (did you mean "
            "'full_masters.duration_min_months'?)",
        ),
        (
            "      - fact: months_available\n        lt: {background: full_masters.cost}\n",
            "rules/bad.yaml:9:26: background 'full_masters.cost' is 'Substantially higher', not a number, "
            "so 'months_available' cannot be compared with it",
        ),
        (
            "      - fact: budget\n        is: unknown\n",
            "rules/bad.yaml:9:13: to test for an unknown answer use `known: false`, not a value",
        ),
        ("      - any: []\n", "rules/bad.yaml:8:14: 'any' needs at least one condition"),
        (
            "      - fact: budget\n        in: low\n",
            "rules/bad.yaml:9:13: 'in' must be a list, not 'low'",
        ),
    ],
)
def test_condition_errors_name_file_line_and_column(broken_kb, when, expected):
    assert problems_of(*broken_kb(rule(when))) == [expected]


@pytest.mark.parametrize(
    "then, expected",
    [
        (
            "score: {micromaster: 2}",
            "rules/bad.yaml:11:15: 'score' names an unknown option 'micromaster' (did you mean "
            "'micromasters'?); expected one of: micromasters, full_masters, micromasters_pathway",
        ),
        (
            "score: {micromasters: 0}",
            "rules/bad.yaml:11:29: a weight is a non-zero whole number from -100 to 100, not 0",
        ),
        (
            "conclude: maybe",
            "rules/bad.yaml:11:17: 'conclude' names an unknown option 'maybe'; expected one of: "
            "micromasters, full_masters, micromasters_pathway",
        ),
        (
            "derive: [cost_sensitve]",
            "rules/bad.yaml:11:16: 'derive' names an undeclared derived fact 'cost_sensitve' (did you "
            "mean 'cost_sensitive'?); declare it under 'derived' in facts/",
        ),
        (
            "scores: {micromasters: 1}",
            "rules/bad.yaml:11:7: 'then' needs at least one of: derive, score, conclude, rule_out",
        ),
        (
            "scores: {micromasters: 1}",
            "rules/bad.yaml:11:7: unknown key 'scores' in 'then' (did you mean 'score'?); expected one "
            "of: derive, score, conclude, rule_out",
        ),
        (
            "rule_out: [micromaster]",
            "rules/bad.yaml:11:18: 'rule_out' names an unknown option 'micromaster' (did you mean "
            "'micromasters'?); expected one of: micromasters, full_masters, micromasters_pathway",
        ),
        (
            "rule_out: []",
            "rules/bad.yaml:11:17: 'rule_out' needs at least one option",
        ),
    ],
)
def test_then_errors(broken_kb, then, expected):
    when = "      - fact: working_professional\n        is: yes\n"
    assert expected in problems_of(*broken_kb(rule(when, then)))


def test_citation_must_appear_in_the_article(broken_kb):
    text = rule("      - fact: working_professional\n        is: yes\n").replace(
        "Designed for working professionals", "Designed for busy people"
    )
    assert problems_of(*broken_kb(text)) == [
        "rules/bad.yaml:6:14: the quote 'Designed for busy people' does not appear in the source "
        "'article' (are-micromasters-worth-it.txt)"
    ]


def test_duplicate_rule_ids_point_at_both(broken_kb):
    one = rule("      - fact: working_professional\n        is: yes\n")
    two = one + one.split("rules:\n", 1)[1]
    assert problems_of(*broken_kb(two)) == [
        "rules/bad.yaml:12:9: duplicate rule id 'sample' (first at rules/bad.yaml:2)"
    ]


def test_malformed_yaml_gives_the_parser_position(broken_kb):
    assert problems_of(*broken_kb("rules:\n  - id: [unclosed\n")) == [
        "rules/bad.yaml:2:9: invalid YAML: this '[' is not closed with ']' (at line 3: expected "
        "',' or ']', but got '<stream end>')"
    ]


def test_missing_keys_and_bad_salience(broken_kb):
    text = "rules:\n  - id: x\n    title: t\n    salience: high\n"
    assert problems_of(*broken_kb(text)) == [
        "rules/bad.yaml:2:5: a rule has no citation: add 'source' with a section and a quote of a "
        "source",
        "rules/bad.yaml:2:5: a rule is missing 'then'",
        "rules/bad.yaml:2:5: a rule is missing 'when'",
        "rules/bad.yaml:4:15: 'salience' must be a whole number from -1000 to 1000, not 'high'",
    ]


def test_duplicate_yaml_keys_are_refused(broken_kb):
    text = rule("      - fact: budget\n        is: low\n", extra="    title: again\n")
    assert problems_of(*broken_kb(text)) == [
        "rules/bad.yaml:7:5: duplicate key 'title' (first at line 3)"
    ]


def test_yaml_cannot_construct_python_objects(broken_kb):
    text = "rules: !!python/object/apply:os.system ['echo pwned']\n"
    assert problems_of(*broken_kb(text)) == [
        "rules/bad.yaml:1:8: the tag '!!python/object/apply:os.system' is not allowed: these files "
        "hold plain data"
    ]
    scalar = "rules: !!python/name:os.system x\n"
    assert problems_of(*broken_kb(scalar)) == [
        "rules/bad.yaml:1:8: the tag '!!python/name:os.system' is not allowed: these files hold "
        "plain data"
    ]


def test_load_raises_with_first_problem_and_count(broken_kb):
    rules, facts = broken_kb("rules:\n  - id: Bad Id\n")
    with pytest.raises(KnowledgeBaseError) as err:
        rulebase.load(Layout.of(rules, facts))
    assert str(err.value) == (
        "rules/bad.yaml:2:5: a rule has no citation: add 'source' with a section and a quote of a "
        "source (and 4 more problems; run `mm-advisor rules lint`)"
    )


def test_missing_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert problems_of(tmp_path / "nope", FACTS) == ["nope:1:1: the rules folder does not exist"]


def test_fact_schema_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "f.yaml").write_text(
        "facts:\n"
        "  - name: age\n    type: integer\n    question: q\n    help: h\n"
        "  - name: size\n    type: choice\n    choices: [small, unknown]\n    question: q\n    help: h\n"
        "  - name: months\n    type: number\n    min: 10\n    max: 1\n    question: q\n    help: h\n"
        "  - name: flag\n    type: yesno\n    choices: [a]\n    question: q\n    help: h\n"
    )
    found = [
        str(p)
        for p in rulebase.check(Layout.of(RULES, tmp_path / "facts"))[1]
        if "facts/" in p.path
    ]
    assert found[:4] == [
        "facts/f.yaml:3:11: unknown fact type 'integer'; expected one of: yesno, number, choice",
        "facts/f.yaml:8:22: 'unknown' cannot be a choice: use a distinct lower-case name other "
        "than 'unknown'",
        "facts/f.yaml:13:10: 'min' is greater than 'max'",
        "facts/f.yaml:19:5: 'choices' does not apply to a fact of type 'yesno'",
    ]


def test_digest_covers_every_file_and_is_stable(kb):
    again = rulebase.load(REPO_KB)
    assert kb.digest == again.digest and kb.digest.startswith("sha256:")
    paths = [f.logical for f in kb.files]
    assert "sources/are-micromasters-worth-it.txt" in paths and "sources/sources.yaml" in paths
    assert "rules/2-smart-investment.yaml" in paths
    assert not any("profiles" in p for p in paths)


def refused(text: str, path: str = "x.yaml") -> list:
    """The problems the reader gives for `text`, which it must refuse."""
    with pytest.raises(KnowledgeBaseError) as caught:
        load_text(text, path)
    return caught.value.problems


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: *x\n", "1:4: aliases (*name) are not allowed: write the value out"),
        ("a: &x 1\n", "1:4: anchors (&name) are not allowed: these files hold plain data"),
        ("&k a: 1\n", "1:1: anchors (&name) are not allowed: these files hold plain data"),
        ("? [a, b]\n: c\n", "1:3: keys must be names, not a list or a mapping"),
        ("a: 1\n<<: {b: 2}\n", "2:1: merge keys (<<) are not allowed: write the keys out"),
        ("a: !!binary aGVsbG8=\n", "1:4: the tag '!!binary' is not allowed: these files hold "
         "plain data"),
        ("a: !!python/object:os.system x\n", "1:4: the tag '!!python/object:os.system' is not "
         "allowed: these files hold plain data"),
        ("a: !custom x\n", "1:4: the tag '!custom' is not allowed: these files hold plain data"),
        ("!!set {a: null}\n", "1:1: the tag '!!set' is not allowed: these files hold plain data"),
        ("a: 2026-11-29\n", "1:4: a date must be quoted: write '2026-11-29' in quotes"),
        ("a: " + "9" * 4400 + "\n", "1:4: a number this long (4400 characters) is not allowed"),
        ("a: 1\n---\nb: 2\n", "2:1: one document per file: remove this '---'"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "1:35: nested more than 32 levels deep"),
        ("1: x\n", "1:1: keys must be names, not 1"),
        ("a: 1\na: 2\n", "2:1: duplicate key 'a' (first at line 1)"),
        ("a: !!int x\n", "1:4: cannot read 'x' as int: invalid literal for int() with base 10: "
         "'x'"),
        ("a: \x07\n", "1:4: invalid YAML: unacceptable character #x0007: control characters "
         "are not allowed"),
        ("a: [1,\n", "2:1: invalid YAML: expected the node content, but found '<stream end>'"),
        ('a: "\\U99999999"\n', "1:7: invalid YAML: found invalid Unicode character escape code"),
    ],
)  # fmt: skip
def test_every_yaml_refusal_says_what_and_where(text, message):
    """Each construct the reader refuses, with its exact words: what is wrong, what to do."""
    assert [str(p) for p in refused(text)] == [f"x.yaml:{message}"]


def test_positions_count_lines_and_columns_from_one():
    """A problem's line and column after earlier lines; what a node says it is; the default
    code and severity of a reader's problem."""
    (problem,) = refused("a: 1\nbb: \x07\n")
    assert (problem.line, problem.col, problem.code, problem.severity) == (2, 5, "syntax", "error")
    assert [(p.line, p.col) for p in refused("\ufeffa: 1\nb: \x00")] == [(2, 4)]
    node = load_text("a: [1, {b: x}]\nc: 'd'\n", "x.yaml")
    described = [node.describe(), node.value["a"].describe(), node.value["c"].describe()]
    assert described == ["a mapping", "a list", "'d'"]
    assert (str(node.value["c"].mark), node.key_marks["c"].col) == ("x.yaml:2", 1)
    assert node.plain() == {"a": [1, {"b": "x"}], "c": "d"}


def test_the_edges_of_what_the_reader_accepts():
    """Fifteen digits are a number, sixteen are not (the sign is not a digit); the non-specific
    tag `!` is plain text; a position after several lines counts from its own line's start."""
    assert load_text("a: -999999999999999\nb: ! x\n", "x.yaml").plain() == {
        "a": -999999999999999,
        "b": "x",
    }
    assert [str(p) for p in refused("a: 1\nb: 2\ncc: 9999999999999999\n")] == [
        "x.yaml:3:5: a number this long (16 characters) is not allowed"
    ]
    assert [(p.line, p.col) for p in refused("a: 1\nb: 2\ncc: \x07\n")] == [(3, 5)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: b: c\n", "1:5: invalid YAML: mapping values are not allowed here (a value that "
         "contains ': ' must be quoted, or this line is indented too far)"),
        ("\tb: 1\n", "1:1: invalid YAML: found character '\\t' that cannot start any token "
         "(indent with spaces, not tabs)"),
        ("a:\n  - x\n b: 1\n", "3:2: invalid YAML: expected <block end>, but found '<block "
         "mapping start>' (check this line's indentation against the lines above it)"),
        ('a: "abc\n', "2:1: invalid YAML: found unexpected end of stream (a quote or bracket is "
         "not closed)"),
        ("a: *\n", "1:5: invalid YAML: expected alphabetic or numeric character, but found "
         "'\\n' ('*' and '&' start aliases: quote the value)"),
        # Regression: an unclosed bracket was reported where the parser gave up, lines below.
        ("a: [1, 2\n", "1:4: invalid YAML: this '[' is not closed with ']' (at line 2: expected "
         "',' or ']', but got '<stream end>')"),
        ("a:\n  b: {x: 1, y: 2\n  c: 3\n", "2:6: invalid YAML: this '{' is not closed with '}' "
         "(at line 3: expected ',' or '}', but got ':')"),
    ],
)  # fmt: skip
def test_a_syntax_error_says_what_usually_causes_it(text, message):
    assert [str(p) for p in refused(text)] == [f"x.yaml:{message}"]


def test_a_text_read_again_is_not_parsed_again_unless_it_is_long(monkeypatch):
    from mm_advisor.knowledge import yamlsrc

    monkeypatch.setattr(yamlsrc, "_READ", yamlsrc.OrderedDict())
    monkeypatch.setattr(yamlsrc, "_READ_ENTRIES", 2)
    first = load_text("a: 1\n", "x.yaml")
    assert load_text("a: 1\n", "x.yaml") is first  # the same Nodes, never modified
    assert load_text("a: 1\n", "y.yaml") is not first  # another file's positions
    load_text("a: 1\n", "x.yaml")  # used again: kept over the older y.yaml
    load_text("b: 1\n", "x.yaml")
    assert list(yamlsrc._READ) == [("x.yaml", "a: 1\n"), ("x.yaml", "b: 1\n")]
    long = "a: '" + "x" * yamlsrc._READ_TEXT + "'\n"
    assert load_text(long, "x.yaml") is not load_text(long, "x.yaml")


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (yaml.YAMLError("the parser gave up\nin a way never seen"),
         "1:1: invalid YAML: the parser gave up"),
        (RecursionError(), "1:1: invalid YAML: nested too deeply"),
        (yaml.MarkedYAMLError(problem="something  odd"), "1:1: invalid YAML: something odd"),
        (yaml.reader.ReaderError("x", 2, b"\xff", "utf-8", "invalid start byte"),
         "1:3: invalid YAML: cannot decode: invalid start byte"),
        (ValueError("chr() arg not in range"),
         "1:1: invalid YAML: a character escape or a value out of range"),
    ],
)  # fmt: skip
def test_whatever_the_parser_raises_is_one_positioned_line(monkeypatch, raised, message):
    """The reader's error boundary, for failures no input here provokes on this machine: each
    parser failure, however odd, is one problem with a position, never a traceback."""
    from mm_advisor.knowledge import yamlsrc

    def parse(text, Loader):
        raise raised

    monkeypatch.setattr(yamlsrc.yaml, "parse", parse)
    assert [str(p) for p in refused("a: 1\n", "odd.yaml")] == [f"odd.yaml:{message}"]


def test_the_readers_shared_checks_say_what_was_wanted(tmp_path):
    """`expect` and `text`, which every file format's reader uses, and a file that cannot be
    read named as the reader was asked to name it."""
    from mm_advisor.knowledge.yamlsrc import expect, load_file, text

    node = load_text("a: [1]\nb: 2\nc: '  '\nd: ok\n", "x.yaml")
    problems: list = []
    assert expect(node, "map", "a file", problems) and not problems
    for key, kind in [("a", "map"), ("b", "seq"), ("a", "scalar")]:
        assert not expect(node.value[key], kind, f"'{key}'", problems)
    for key in "abc":
        assert text(node.value[key], f"'{key}'", problems) is None
    assert text(node.value["d"], "'d'", problems) == "ok" and text(None, "x", problems) is None
    assert [str(p) for p in problems] == [
        "x.yaml:1:4: 'a' must be a mapping, not a list",
        "x.yaml:2:4: 'b' must be a list, not 2",
        "x.yaml:1:4: 'a' must be a single value, not a list",
        "x.yaml:1:4: 'a' must be non-empty text, not a list",
        "x.yaml:2:4: 'b' must be non-empty text, not 2",
        "x.yaml:3:4: 'c' must be non-empty text, not '  '",
    ]
    with pytest.raises(KnowledgeBaseError) as caught:
        load_file(str(tmp_path / "missing.yaml"), "rules: missing.yaml")
    (problem,) = caught.value.problems
    assert str(problem) == "rules: missing.yaml:1:1: no such file"  # a name with ': ' too
