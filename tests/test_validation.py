"""The compiled trace check against the jsonschema package: same verdict on valid traces and on
thousands of broken ones."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest
from conftest import KB_ARGS, PROFILES, cases, invoke, json_paths
from hypothesis import given
from hypothesis import strategies as st

from mm_advisor.audit import validation

SCHEMA = json.loads((resources.files("mm_advisor") / "schemas" / "trace.schema.json").read_text())
REFERENCE = jsonschema.Draft202012Validator(SCHEMA)


def traces() -> list[dict]:
    docs = []
    for profile in sorted(PROFILES.glob("*.yaml")):
        out = invoke("consult", *KB_ARGS, "--answers", str(profile), "--format", "json").stdout
        docs.append(json.loads(out))
    return docs


TRACES = traces()
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.just("sha256:" + "0" * 64),
    st.just("Not A Name"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@pytest.mark.slow
@given(st.data())
@cases(1500)
def test_the_compiled_check_agrees_with_jsonschema(data):
    doc = copy.deepcopy(data.draw(st.sampled_from(TRACES)))
    for _ in range(data.draw(st.integers(0, 3))):
        where = data.draw(st.sampled_from(list(json_paths(doc))))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if not where:
            continue
        *parent_path, last = where
        parent = doc
        for step in parent_path:
            parent = parent[step]
        if action == "replace":
            parent[last] = data.draw(ODD)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = data.draw(ODD)
        else:
            parent.append(data.draw(ODD))
    expected = REFERENCE.is_valid(doc)
    found = validation.problem(doc)
    assert (found is None) == expected, (found, list(REFERENCE.iter_errors(doc))[:1])


def test_every_shipped_profile_gives_a_valid_trace():
    assert [validation.problem(doc) for doc in TRACES] == [None] * len(TRACES)


def test_the_first_bad_field_is_named_by_its_path():
    doc = copy.deepcopy(TRACES[0])
    doc["fired"][0]["score"] = {"micromasters": "lots"}
    assert validation.problem(doc) == "$.fired[0].score.micromasters: expected integer, found text"
