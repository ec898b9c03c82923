"""verify, unit by unit: what integrity finds, what a replay compares, and the exact words and
JSON of a verification, so that an auditor's report cannot drift unnoticed."""

from __future__ import annotations

import copy
import json

from conftest import cases
from hypothesis import given
from hypothesis import strategies as st

from mm_advisor.audit import signing, trace, verify
from mm_advisor.knowledge.answers import FILE, Answers
from mm_advisor.reasoning.advisor import Advisor


def traced(kb) -> dict:
    """A sealed trace: a working professional with a low budget (micromasters, 4 rules fired)."""
    given = Answers()
    given.give("budget", "low", FILE)
    given.give("working_professional", True, FILE)
    complete = given.completed(kb.schema)
    return trace.stamped(trace.build(kb, complete, Advisor(kb).consult(complete.values), None))


def resealed(doc: dict) -> dict:
    doc["content_digest"] = trace.content_digest(doc)
    return doc


def test_integrity_of_a_trace_signed_unsigned_or_not_a_trace(kb):
    doc = traced(kb)
    found = verify.integrity(doc, "t.json")
    assert (found.digest_ok, found.signature, found.key_id, found.invalid) == (
        True, signing.UNSIGNED, None, None
    )  # fmt: skip
    signed = {**doc, "signature": {"algorithm": "ed25519", "key_id": 7, "value": "x"}}
    found = verify.integrity(signed, "t.json")
    assert (found.signature, found.key_id, found.expected_signature) == ("not checked", None, False)
    for nonsense in ([1, 2], "text", None):
        found = verify.integrity(nonsense, "t.json")
        assert (found.digest_ok, found.key_id, found.status) == (False, None, verify.TAMPERED)
        assert found.invalid


def test_a_replay_names_every_change_of_files_rules_order_and_scores(kb):
    doc = copy.deepcopy(traced(kb))
    files = doc["rulebase"]["files"]
    files[0].update(digest="sha256:" + "0" * 64, meaning="sha256:" + "2" * 64)  # changed since
    removed = files.pop(1)  # ... not recorded: today's file looks added
    files.append({"path": "rules/9-gone.yaml", "digest": "sha256:" + "1" * 64})  # removed today
    fired = doc["fired"]
    fired[1], fired[2] = fired[2], fired[1]  # recorded in another order
    fired.append({**fired[0], "rule": "retired-rule"})  # no longer fires
    del fired[3]  # now fires (it was not recorded)
    doc["scores"] = {"micromasters": 1, "full_masters": -3, "phd": 2}
    found = verify.verify(resealed(doc), kb, Advisor(kb), "t.json")
    assert found.changed_files == [
        (files[0]["path"], "changed"),
        (removed["path"], "added"),
        ("rules/9-gone.yaml", "removed"),
    ]
    assert (found.recorded, found.replayed, found.replay_error) == (
        "micromasters", "micromasters", None
    )  # fmt: skip
    assert (found.now_fire, found.no_longer_fire, found.order_changed) == (
        ["flexibility-row"], ["retired-rule"], True
    )  # fmt: skip
    assert found.score_changes == [
        ("micromasters", 1, 2),
        ("phd", 2, None),
        ("micromasters_pathway", None, 0),
    ]
    assert (found.status, found.exit_code) == (verify.REASONING, 4)


def test_a_trace_from_before_the_answers_were_one_fact_verifies_as_intact(kb):
    """Before 0.5.0 each answer was a fact of its own, with its own id in `matched`; ids are the
    engine's bookkeeping, never compared on replay, so such a trace still verifies."""
    doc = copy.deepcopy(traced(kb))
    order = list(kb.schema.facts)
    for firing in doc["fired"]:
        for m in firing["matched"]:
            if m["kind"] == "answer":
                assert m["id"] == 1  # today: one fact holds every answer
                m["id"] = 1 + order.index(m["fact"])  # as 0.4.0 numbered them
    found = verify.verify(resealed(doc), kb, Advisor(kb), "t.json")
    assert (found.status, found.exit_code, found.order_changed) == (verify.REPRODUCED, 0, False)


def test_answers_todays_rules_cannot_read_are_a_replay_error(kb):
    doc = copy.deepcopy(traced(kb))
    doc["answers"]["budget"]["value"] = "enormous"
    found = verify.verify(resealed(doc), kb, Advisor(kb), "t.json")
    assert found.replay_error == (
        "the trace's answer to 'budget': 'enormous' is not one of low, medium, high"
    )
    assert (found.replayed, found.status, found.exit_code) == (None, verify.CHANGED, 3)


def made(**fields) -> verify.Verification:
    base = dict(where="t.json", digest_ok=True, signature=signing.UNSIGNED, key_id=None,
                expected_signature=False, recorded="micromasters", replayed="micromasters")  # fmt: skip
    return verify.Verification(**{**base, **fields})


def test_the_words_of_a_verification():
    differs = made(
        signature=signing.VALID,
        key_id="ed25519:00ff",
        expected_signature=True,
        changed_files=[("rules/a.yaml", "changed"), ("rules/b.yaml", "added")],
        replayed="full_masters",
        now_fire=["x"],
        no_longer_fire=["y", "z"],
        order_changed=True,
        score_changes=[("micromasters", 2, 1.0), ("phd", None, True)],
    )
    assert verify.report(differs) == (
        "content digest: ok\n"
        "signature: valid, by key ed25519:00ff\n"
        "rule files: changed since the consultation\n"
        "  changed: rules/a.yaml\n"
        "  added: rules/b.yaml\n"
        "recommendation: recorded micromasters, today full_masters\n"
        "rules that now fire: x\n"
        "rules that no longer fire: y, z\n"
        "rules fire in another order\n"
        "score of micromasters: recorded +2, today +1\n"
        "score of phd: recorded none, today none\n"
        "verdict: intact, but today's rules reach a DIFFERENT RECOMMENDATION (exit 3)\n"
    )
    assert verify.report(differs, problems_only=True) == (  # what is wrong or changed only
        "rule files: changed since the consultation\n"
        "  changed: rules/a.yaml\n"
        "  added: rules/b.yaml\n"
        "recommendation: recorded micromasters, today full_masters\n"
        "rules that now fire: x\n"
        "rules that no longer fire: y, z\n"
        "rules fire in another order\n"
        "score of micromasters: recorded +2, today +1\n"
        "score of phd: recorded none, today none\n"
    )
    same = "reasoning: the same rules fired in the same order, with the same scores"
    for one in [{"now_fire": ["x", "w"]}, {"no_longer_fire": ["y"]}, {"order_changed": True},
                {"score_changes": [("phd", 1, 2)]}]:  # fmt: skip
        found = made(**one)
        assert found.status == verify.REASONING and same not in verify.report(found), one
        assert "rules that now fire: x, w" in verify.report(found) or "now_fire" not in one
    assert same not in verify.report(made(replay_error="x", replayed=None))
    assert same in verify.report(made(digest_ok=False))  # tampered, yet it replays the same
    assert verify.report(made(), problems_only=True) == (
        "signature: none: the trace is not signed, and anyone can recompute a digest\n"
        "recommendation: reproduced (micromasters)\n"
        f"{same}\n"
    )
    assert verify.as_json(differs) == {
        "trace": "t.json",
        "status": "changed",
        "exit_code": 3,
        "invalid": None,
        "digest": "ok",
        "signature": "valid",
        "key_id": "ed25519:00ff",
        "changed_files": [
            {"path": "rules/a.yaml", "change": "changed"},
            {"path": "rules/b.yaml", "change": "added"},
        ],
        "recommendation": {"recorded": "micromasters", "today": "full_masters"},
        "replay_error": None,
        "now_fire": ["x"],
        "no_longer_fire": ["y", "z"],
        "order_changed": True,
        "score_changes": {
            "micromasters": {"recorded": 2, "today": 1.0},
            "phd": {"recorded": None, "today": True},
        },
        "log_columns_edited": [],
        "other_changes": [],
        "same_rules": False,
    }
    columns = made(log_columns=["subject", "recommendation"])
    assert columns.status == verify.TAMPERED
    assert verify.report(columns, problems_only=True).splitlines()[1] == (
        "log entry: EDITED outside mm-advisor: subject, recommendation"
    )
    edited = made(digest_ok=False, signature="not checked", key_id="ed25519:00ff", recorded="")
    assert verify.report(edited) == (
        "content digest: MISMATCH: the trace was edited after it was written\n"
        "signature: NOT CHECKED: signed by key ed25519:00ff; give its --public-key to check it\n"
        "rule files: the same as when the consultation was made\n"
        "recommendation: recorded , today micromasters\n"
        "verdict: TAMPERED: it was changed after it was written (exit 1)\n"
    )
    assert verify.as_json(edited)["recommendation"] == {"recorded": None, "today": "micromasters"}
    assert verify.as_json(edited)["digest"] == "mismatch"
    broken = made(invalid="$.fired: not a list", digest_ok=False)
    assert verify.report(broken) == (
        "t.json: not a valid trace: $.fired: not a list\n"
        "verdict: TAMPERED: it was changed after it was written\n"
    )
    assert verify.report(broken, problems_only=True) == "not a valid trace: $.fired: not a list\n"
    unreadable = made(replay_error="the trace answers unknown fact 'x'", replayed=None)
    assert "replay: today's rules cannot consult these answers: the trace answers unknown fact " \
        "'x'\n" in verify.report(unreadable)  # fmt: skip
    for status, words in [
        (signing.UNSIGNED, "none: the trace is not signed, and anyone can recompute a digest"),
        (signing.INVALID, "FAILED: the trace was changed after it was signed"),
        (
            signing.OTHER_KEY,
            "NOT CHECKED: signed by key ed25519:00ff, a key you did not give (not trusted)",
        ),
        (signing.MALFORMED, "FAILED: the signature is malformed"),
    ]:
        found = made(signature=status, key_id="ed25519:00ff")
        assert verify.report(found).splitlines()[1] == f"signature: {words}", status


# The bulk reader's shortcut against `loads` and `content_digest`: the same document and
# digest, or the same error, for texts as the log keeps them and for texts edited at random.

SUBJECT_CUT = ', "subject": '
EDITS = [
    SUBJECT_CUT, ', "created_at": ', ', "subject": 1, ', '"subject": "x", ', '"trace_version": 2, ',
    "{", "}", "[", "]", ",", ":", '"', "\\", "\\ud800", "\\u0041", "NaN", "1e400", "\ufeff", " ",
    "\n", '{"a": 1}', '"recommendation": "phd", ', "9" * 5000,
]  # fmt: skip


def outcome(read, text: str):
    try:
        return read(text)
    except Exception as exc:  # the type and words of the error must agree too
        return type(exc).__name__, str(exc)


def reference(text: str):
    doc = trace.loads(text, "t")
    return doc, trace.content_digest(doc)


@given(st.data())
@cases(600)
def test_the_bulk_reader_reads_every_text_as_loads_does(kb, data):
    doc = traced(kb)
    texts = []
    for subject in ("S0", "S1", None):
        kept = trace.stamped({**doc, "subject": subject})
        texts.append(json.dumps(kept, ensure_ascii=data.draw(st.booleans())))
    texts.append(json.dumps(trace.stamped(doc), indent=data.draw(st.sampled_from([None, 2]))))
    texts += [
        texts[0].replace('"trace_version": 2', '"trace_version": 1'),  # created_at unsealed
        '{"subject": "x", ' + texts[0][1:],  # a key twice at the top
        "{" + SUBJECT_CUT + '"S0", "trace_version": 2}',  # nothing before the subject
        texts[0].replace('"summary": "', '"summary": "\\udc00', 1),  # half a surrogate pair
        texts[0].replace('"S0"', '"S0\\ud800"', 1),
    ]
    text = data.draw(st.sampled_from(texts))
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(
            st.sampled_from([text.find(SUBJECT_CUT), data.draw(st.integers(0, len(text)))])
        )
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + data.draw(st.sampled_from(EDITS)) + text[at + cut :]
    reader = trace.Reader()
    for earlier in data.draw(st.lists(st.sampled_from(texts), max_size=3)):
        outcome(lambda t: reader.read(t, "t"), earlier)  # what it kept from others changes nothing
    expected = outcome(reference, text)
    assert outcome(lambda t: reader.read(t, "t"), text) == expected
    assert outcome(lambda t: reader.read(t, "t"), text) == expected  # read again, from what it kept


def test_the_bulk_reader_reads_a_trace_once_and_its_like_from_what_it_kept(kb, monkeypatch):
    doc = traced(kb)
    texts = [json.dumps(trace.stamped({**doc, "subject": f"S{i}"})) for i in range(3)]
    reader = trace.Reader()
    decoded: list[str] = []
    decode = trace._DECODER.decode
    monkeypatch.setattr(trace._DECODER, "decode", lambda s: decoded.append(s) or decode(s))
    found = [reader.read(text, "t") for text in texts]
    assert found == [reference(text) for text in texts]
    # the part before the subject once, then each trace's subject, time and seals
    assert [len(s) > 1000 for s in decoded] == [True, False, False, False]
