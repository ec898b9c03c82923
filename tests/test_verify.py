"""verify, unit by unit: what integrity finds, what a replay compares, and the exact words and
JSON of a verification, so that an auditor's report cannot drift unnoticed."""

from __future__ import annotations

import copy

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
