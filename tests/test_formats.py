"""Each file format is described twice: by its reader, which refuses a file with a message, and
by the JSON Schema an editor checks it with as it is typed. They must agree: every key and
operator the same, and no file the reader accepts flagged by the schema. The second is checked
on thousands of documents made by breaking the shipped ones, where the two must also both say
yes and both say no often enough that the check means something."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import FACTS, RULES, SOURCES, invoke, json_paths

from mm_advisor.files import PACKAGE
from mm_advisor.knowledge import conditions, invariants, layout, rulebase, scenarios, schema
from mm_advisor.knowledge import sources as sources_mod


def _schema(kind: str) -> dict:
    return json.loads((Path(PACKAGE) / "schemas" / f"{kind}.schema.json").read_text())


def test_each_format_has_the_same_keys_in_its_reader_and_its_schema():
    rules, facts = _schema("rules")["$defs"], _schema("facts")["properties"]
    pairs = {
        "a rule": (rulebase._RULE_KEYS, rules["rule"]),
        "'then'": (rulebase._THEN_KEYS, rules["rule"]["properties"]["then"]),
        "a fact": (schema._FACT_KEYS, facts["facts"]["items"]),
        "an invariant": (invariants._KEYS, _schema("invariants")["$defs"]["invariant"]),
        "a source": (
            sources_mod._SOURCE_KEYS,
            _schema("sources")["properties"]["sources"]["items"],
        ),
    }
    for what, (keys, described) in pairs.items():
        assert sorted(keys) == sorted(described["properties"]), what
        assert described["additionalProperties"] is False, what
    operators = set()
    for branch in rules["condition"]["oneOf"]:
        operators |= set(branch.get("properties", {})) | set(branch.get("required", []))
        for pattern in branch.get("patternProperties", {}):
            operators |= set(pattern.strip("^$()").split("|"))
    assert operators == set(conditions.CONDITION_KEYS)


def test_conditions_are_described_the_same_in_rules_and_invariants():
    rules, invariants_ = _schema("rules")["$defs"], _schema("invariants")["$defs"]
    for name in ("name", "literal", "number", "condition"):
        assert invariants_[name] == rules[name], name


def test_the_schema_command_prints_the_files_the_package_carries():
    for kind in ("rules", "facts", "sources", "invariants", "scenarios", "trace"):
        assert json.loads(invoke("schema", kind).stdout) == _schema(kind)


@pytest.mark.parametrize(
    "path",
    sorted(RULES.glob("*.yaml"))
    + sorted(FACTS.glob("*.yaml"))
    + sorted((FACTS / "scenarios").glob("*.yaml"))
    + sorted((FACTS / "invariants").glob("*.yaml"))
    + [SOURCES / "sources.yaml"],
    ids=lambda p: p.name,
)
def test_every_shipped_file_validates_against_its_schema_and_names_it(path):
    nested = path.parent.name in ("scenarios", "invariants")
    kind = "rules" if path.parent == RULES else path.parent.name if nested else "facts"
    kind = "sources" if path.parent == SOURCES else kind
    jsonschema.validate(yaml.safe_load(path.read_text()), _schema(kind))
    assert path.read_text().startswith(
        f"# yaml-language-server: $schema={'../' * (1 + nested)}"
        f"src/mm_advisor/schemas/{kind}.schema.json\n"
    )


def test_schemas_catch_what_an_editor_should_flag():
    bad_rule = {
        "rules": [
            {
                "id": "x",
                "title": "t",
                "source": {"section": "s", "quote": "q"},
                "when": [{"fact": "budget", "iss": "low"}],
                "then": {"score": {"micromasters": 1}},
            }
        ]
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_rule, _schema("rules"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"facts": [{"name": "x", "type": "yesno", "question": "q", "help": "h", "min": 1}]},
            _schema("facts"),
        )
    for kind in ("rules", "facts", "sources", "invariants", "scenarios", "trace"):
        jsonschema.Draft202012Validator.check_schema(_schema(kind))


# --- the reader and the schema on broken documents -----------------------------------------

OTHER_VALUES = [None, True, 0, -1, 2.5, "", "x", "yes", [], {}, ["x"], {"x": 1}, [{"x": 1}]]


def _broken(doc, rng: random.Random):
    """`doc` after one slip of the kind an editor's schema is meant to catch: a key deleted,
    added or misnamed, a value of another type, or one moved from elsewhere in the file."""
    doc = copy.deepcopy(doc)
    paths = list(json_paths(doc))
    path = rng.choice(paths[1:])
    *parent_path, last = path
    parent = doc
    for step in parent_path:
        parent = parent[step]
    node = parent[last]
    op = rng.randrange(6)
    if op == 0:
        del parent[last]
    elif op == 1 and isinstance(node, dict):
        node[rng.choice(["extra", "note", "id", "when", "then", "type"])] = rng.choice(OTHER_VALUES)
    elif op == 2 and isinstance(parent, dict):
        keys = [p[-1] for p in paths[1:] if isinstance(p[-1], str) and p[-1] not in parent]
        if keys:
            parent[rng.choice(keys)] = parent.pop(last)
    elif op == 3:
        parent[last] = copy.deepcopy(rng.choice(OTHER_VALUES))
    elif op == 4:
        parent[last] = [node]
    else:
        donor = doc
        for step in rng.choice(paths[1:]):
            donor = donor[step]
        parent[last] = copy.deepcopy(donor)
    return doc


def _reader(kind: str, where: layout.Layout, path: Path):
    """The problems the reader of `kind` finds with the knowledge base at `where`."""
    rb, problems = rulebase.check(where)
    if kind == "invariants":
        problems = invariants.check([path], rb)[1]
    elif kind == "scenarios":
        problems = scenarios.check([path], rb)[1]
    return [p for p in problems if p.severity == "error"]


FILES = {
    "rules": "rules/2-smart-investment.yaml",
    "facts": "facts/questions.yaml",
    "sources": "sources/sources.yaml",
    "invariants": "facts/invariants/article.yaml",
    "scenarios": "facts/scenarios/5-decisions.yaml",
}


@pytest.fixture(scope="module")
def own_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formats") / "kb"
    assert invoke("init", str(root)).exit_code == 0
    return root


@pytest.mark.parametrize("kind", sorted(FILES))
def test_no_document_the_reader_accepts_is_flagged_by_its_schema(own_copy, kind):
    where = layout.read(own_copy, "a test")
    path = own_copy / FILES[kind]
    original = path.read_text()
    doc = yaml.safe_load(original)
    validator = jsonschema.Draft202012Validator(_schema(kind))
    assert not _reader(kind, where, path) and validator.is_valid(doc)
    rng = random.Random(kind)
    seen = {(True, True): 0, (False, False): 0, (False, True): 0}
    try:
        for _ in range(120):
            broken = _broken(doc, rng)
            path.write_text(yaml.safe_dump(broken, sort_keys=False, allow_unicode=True))
            accepted, valid = not _reader(kind, where, path), validator.is_valid(broken)
            assert valid or not accepted, (
                f"the reader accepts what the schema refuses: "
                f"{next(validator.iter_errors(broken)).message}\n{path.read_text()}"
            )
            seen[accepted, valid] += 1
    finally:
        path.write_text(original)
    # Both sides say yes and no often enough for the comparison to mean something.
    assert seen[True, True] >= 5 and seen[False, False] >= 50, seen


def _problems_with(own_copy: Path, kind: str, edit) -> list[str]:
    path = own_copy / FILES[kind]
    original = path.read_text()
    doc = yaml.safe_load(original)
    edit(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        where = layout.read(own_copy, "a test")
        return [f"{p.line}:{p.col}: {p.message}" for p in _reader(kind, where, path)]
    finally:
        path.write_text(original)


def test_a_change_without_its_fact_is_a_problem_not_a_crash(own_copy):
    """Regression, found by the test above: KeyError: 'fact'."""

    def edit(doc):
        change = next(i for i in doc["invariants"] if "change" in i)["change"]
        del change["fact"]

    assert _problems_with(own_copy, "invariants", edit) == ["70:5: 'change' is missing 'fact'"]


def test_a_mapping_where_a_rule_id_goes_is_a_problem_not_a_crash(own_copy):
    """Regression, found by the test above: TypeError: unhashable type: 'dict'."""

    def edit(doc):
        doc["scenarios"][0]["expect"]["fires"][0] = {"id": "x"}
        doc["scenarios"][1]["expect"]["ruled_out"] = [["micromasters"]]

    assert _problems_with(own_copy, "scenarios", edit) == [
        "11:7: expected a rule id, not a mapping",
        "26:7: expected an option, not a list",
    ]
