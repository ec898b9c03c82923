"""Audit you can trust: subjects, signatures, what verify finds, bulk re-verification, and the
log treated as personal data."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import KB_ARGS, PROFILES, invoke

from mm_advisor.audit import trace
from mm_advisor.audit.log import ConsultationLog
from mm_advisor.knowledge import rulebase

STEPPING = str(PROFILES / "stepping-stone.yaml")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    result = invoke("keys", "generate", str(folder))
    assert result.exit_code == 0, result.stderr
    private, public = folder / "mm-advisor-signing.key", folder / "mm-advisor-signing.pub"
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    key_id = result.stdout.splitlines()[-1].split()[-1]
    return private, public, key_id


def consult(tmp_path: Path, *args: str, name: str = "t.json") -> dict:
    out = tmp_path / name
    result = invoke("consult", *KB_ARGS, "--answers", STEPPING, "--trace-out", str(out), *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(out.read_text())


def verify(path: Path, *args: str):
    return invoke("audit", "verify", *KB_ARGS, str(path), *args)


def test_a_subject_is_stored_as_given_and_never_required(tmp_path):
    log = tmp_path / "log.db"
    reference = "Case #2026/0412 – Müller"
    doc = consult(tmp_path, "--subject", reference, "--log", str(log))
    assert doc["subject"] == reference
    assert consult(tmp_path, name="u.json")["subject"] is None
    listed = json.loads(
        invoke(
            "audit", "list", "--log", str(log), "--subject", reference, "--format", "json"
        ).stdout
    )
    assert [(e["id"], e["subject"]) for e in listed] == [(1, reference)]
    refused = invoke("consult", *KB_ARGS, "--no-input", "--subject", "x\x1b[2J")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "Error: --subject 'x\\\\x1b[2J': a reference cannot hold U+001B: a control character, "
        "or one that cannot be seen or looks like a space\n",
    )


def test_keys_generate_refuses_to_replace_a_key(keys):
    private, _, _ = keys
    again = invoke("keys", "generate", str(private.parent))
    assert (
        again.exit_code == 2
        and "a key is already there (add --force to replace it)" in again.stderr
    )


def test_a_signed_trace_verifies_and_a_forgery_does_not(tmp_path, keys):
    private, public, key_id = keys
    consult(tmp_path, "--sign-key", str(private))
    path = tmp_path / "t.json"
    good = verify(path, "--public-key", str(public))
    assert good.exit_code == 0
    assert f"signature: valid, by key {key_id}\n" in good.stdout
    forged = json.loads(path.read_text())
    forged["summary"] = "Forged summary."
    forged["content_digest"] = trace.content_digest(forged)  # a forger recomputes the digest
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = verify(tmp_path / "forged.json", "--public-key", str(public))
    assert refused.exit_code == 1
    assert "content digest: ok\n" in refused.stdout
    assert "signature: FAILED: the trace was changed after it was signed\n" in refused.stdout
    assert refused.stdout.endswith(
        "verdict: TAMPERED: it was changed after it was written (exit 1)\n"
    )


def test_back_dating_fails_signed_or_not(tmp_path, keys):
    private, public, _ = keys
    for signed in (False, True):
        doc = consult(tmp_path, *(["--sign-key", str(private)] if signed else []))
        doc["created_at"] = "1999-01-01T00:00:00Z"
        path = tmp_path / "old.json"
        path.write_text(json.dumps(doc))
        result = verify(path, *(["--public-key", str(public)] if signed else []))
        assert result.exit_code == 1
        assert "content digest: MISMATCH" in result.stdout


def test_an_unsigned_trace_says_anyone_can_recompute_a_digest_and_fails_when_a_key_is_given(
    tmp_path, keys
):
    _, public, _ = keys
    consult(tmp_path)
    plain = verify(tmp_path / "t.json")
    assert plain.exit_code == 0
    assert (
        "signature: none: the trace is not signed, and anyone can recompute a digest\n"
        in plain.stdout
    )
    expected = verify(tmp_path / "t.json", "--public-key", str(public))
    assert expected.exit_code == 1
    assert (
        "signature: MISSING: the trace is not signed, so anyone could have written it\n"
        in expected.stdout
    )


def test_a_signature_by_another_key_fails(tmp_path, keys):
    _, public, _ = keys
    other = tmp_path / "other"
    invoke("keys", "generate", str(other))
    doc = consult(tmp_path, "--sign-key", str(other / "mm-advisor-signing.key"))
    key_id = doc["signature"]["key_id"]
    result = verify(tmp_path / "t.json", "--public-key", str(public))
    assert result.exit_code == 5  # not verified: another office's key says nothing of change
    lines = result.stdout.splitlines()
    assert lines[1] == (
        f"signature: NOT CHECKED: signed by key {key_id}, a key you did not give (not trusted)"
    )
    assert lines[-1] == (
        "verdict: NOT VERIFIED: signed, but not by a key given to check it (exit 5)"
    )


def test_a_signed_trace_without_a_key_to_check_it_is_never_intact(tmp_path, keys, monkeypatch):
    """Regression: a back-dated trace re-sealed (the digest is public) got exit 0, "intact"."""
    private, public, key_id = keys
    doc = consult(tmp_path, "--sign-key", str(private))
    doc["created_at"] = "1999-01-01T00:00:00Z"
    doc["content_digest"] = trace.content_digest(doc)
    path = tmp_path / "resealed.json"
    path.write_text(json.dumps(doc))
    unchecked = verify(path)
    assert unchecked.exit_code == 5
    assert unchecked.stdout.splitlines()[1] == (
        f"signature: NOT CHECKED: signed by key {key_id}; give its --public-key to check it"
    )
    assert verify(path, "--public-key", str(public)).exit_code == 1
    monkeypatch.setenv("MM_ADVISOR_PUBLIC_KEY", "")
    empty = verify(path)
    assert (empty.exit_code, empty.stderr) == (
        2,
        "Error: MM_ADVISOR_PUBLIC_KEY is set but empty: name a public key file, or unset it\n",
    )


def test_a_different_recommendation_today_exits_3(tmp_path, kb_copy):
    consult(tmp_path)
    rules, facts = kb_copy
    table = rules / "5-comparison.yaml"  # a MicroMasters alone no longer ruled out for degrees
    table.write_text(
        table.read_text().replace("rule_out: [micromasters]", "score: {micromasters: 1}")
    )
    result = invoke(
        "audit", "verify", "--rules", str(rules), "--facts", str(facts), str(tmp_path / "t.json")
    )
    assert result.exit_code == 3, result.stdout
    assert "recommendation: recorded micromasters_pathway, today micromasters\n" in result.stdout
    data = json.loads(
        invoke(
            "audit",
            "verify",
            "--rules",
            str(rules),
            "--facts",
            str(facts),
            str(tmp_path / "t.json"),
            "--format",
            "json",
        ).stdout
    )
    assert (data["status"], data["exit_code"], data["recommendation"]) == (
        "changed",
        3,
        {"recorded": "micromasters_pathway", "today": "micromasters"},
    )


def test_verify_reads_standard_input(tmp_path):
    consult(tmp_path)
    result = invoke("audit", "verify", *KB_ARGS, "-", input=(tmp_path / "t.json").read_text())
    assert result.exit_code == 0 and "verdict: intact" in result.stdout


def test_the_exit_codes_are_in_the_help():
    text = " ".join(invoke("audit", "verify", "--help").stdout.split())
    for line in (
        "0 success",
        "1 tampered: the digest, the signature, the log's chain or columns fail",
        "3 intact, but today's rules reach a different recommendation",
        "4 intact, the same recommendation, but the reasoning differs",
        "5 not verified: signed, but no key given or trusted to check it",
    ):
        assert line in text


def test_explain_refuses_a_tampered_trace_unless_forced(tmp_path):
    doc = consult(tmp_path)
    doc["recommendation"] = "full_masters"  # the header would say one thing, the summary another
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    refused = invoke("explain", *KB_ARGS, str(path))
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith(
        "WARNING: this trace fails its integrity check (digest MISMATCH"
    )
    forced = invoke("explain", *KB_ARGS, str(path), "--force")
    assert forced.exit_code == 0
    assert forced.stdout.startswith("WARNING: this trace fails its integrity check")


def log_of(tmp_path: Path, count: int = 3, **extra: str) -> Path:
    log = tmp_path / "log.db"
    for i in range(count):
        invoke("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log), "--subject", f"S{i}")
    return log


def test_the_log_is_private(tmp_path):
    log = log_of(tmp_path, 1)
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    for side in tmp_path.glob("log.db-*"):
        assert oct(side.stat().st_mode & 0o777) == "0o600", side


def test_forget_a_subject_leaves_nothing_recoverable(tmp_path):
    log = log_of(tmp_path, 3)
    result = invoke("audit", "forget", "--log", str(log), "--subject", "S1")
    assert (result.exit_code, result.stdout) == (0, "Erased 1 consultation about S1.\n")
    data = b"".join(p.read_bytes() for p in tmp_path.glob("log.db*"))
    assert b'"subject": "S1"' not in data and b"S0" in data
    listed = json.loads(invoke("audit", "list", "--log", str(log), "--format", "json").stdout)
    assert [e["subject"] for e in listed] == ["S0", "S2"]


def test_prune_and_retention(tmp_path):
    log = tmp_path / "log.db"
    doc = json.loads(invoke("consult", *KB_ARGS, "--answers", STEPPING, "--format", "json").stdout)
    with ConsultationLog(str(log), write=True) as kept:
        kept.append(trace.stamped(doc, at="2001-01-01T00:00:00Z"))
        kept.append(trace.stamped(doc, at="2020-06-01T00:00:00Z"))
    pruned = invoke("audit", "prune", "--log", str(log), "--before", "2010-01-01")
    assert pruned.stdout == "Erased 1 consultation made before 2010-01-01T00:00:00Z.\n"
    assert invoke("audit", "retention", "--log", str(log), "30").exit_code == 0
    invoke("consult", *KB_ARGS, "--answers", STEPPING, "--log", str(log))
    listed = json.loads(invoke("audit", "list", "--log", str(log), "--format", "json").stdout)
    assert [e["id"] for e in listed] == [3]  # the 2020 entry expired at this write


def test_filters_suggest_and_read_spans(tmp_path):
    log = log_of(tmp_path, 1)
    wrong = invoke("audit", "list", *KB_ARGS, "--log", str(log), "--recommendation", "fullmasters")
    assert wrong.exit_code == 2
    assert "(did you mean 'full_masters'?)" in wrong.stderr
    assert (
        len(
            json.loads(
                invoke(
                    "audit", "list", "--log", str(log), "--since", "7d", "--format", "json"
                ).stdout
            )
        )
        == 1
    )
    bad = invoke("audit", "list", "--log", str(log), "--since", "yesterday")
    assert bad.exit_code == 2 and "expected a date (2026-11-01)" in bad.stderr


def test_bulk_reverification_after_a_rule_change(tmp_path, kb_copy):
    log = log_of(tmp_path, 3)
    invoke("consult", *KB_ARGS, "--set", "budget=low", "--log", str(log))
    rules, facts = kb_copy
    benefits = rules / "4-benefits.yaml"
    benefits.write_text(
        benefits.read_text().replace(
            "score: {micromasters_pathway: 3}", "score: {micromasters_pathway: 4}"
        )
    )
    args = ("--rules", str(rules), "--facts", str(facts), "--log", str(log))
    result = invoke("audit", "verify", *args, "--all", "--jobs", "1")
    assert result.exit_code == 4
    with ConsultationLog(str(log)) as kept:
        times = [(e.created_at, e.subject) for e in kept.entries()]
    assert (
        result.stdout.splitlines()[:6]
        == [  # each set of changed files once; one line each
            "Rule files changed since consultations 1, 2, 3 were made:",
            "  changed: rules/4-benefits.yaml",
            "",
            *(
                f"{i}  {when}  {who}  REASONING DIFFERS: score of micromasters_pathway: recorded +4, "
                "today +5"
                for i, (when, who) in enumerate(times[:3], 1)
            ),
        ]
    )
    with ConsultationLog(str(log)) as kept:
        head = kept.head()
    assert result.stdout.splitlines()[-7:] == [
        "4 consultations checked:",
        "        1  intact, and today's rules reproduce it",
        "        0  TAMPERED: it was changed after it was written",
        "        0  NOT VERIFIED: signed, but not by a key given to check it",
        "        0  intact, but today's rules reach a DIFFERENT RECOMMENDATION",
        "        3  intact, the same recommendation, but the REASONING DIFFERS",
        f"chain of entries: intact; its head: {head}",
    ]
    data = json.loads(
        invoke("audit", "verify", *args, "--all", "--format", "json", "--jobs", "2").stdout
    )
    assert data["summary"] == {
        "reproduced": 1,
        "tampered": 0,
        "unverified": 0,
        "changed": 0,
        "reasoning": 3,
    }
    assert [f["id"] for f in data["findings"]] == [1, 2, 3]
    some = json.loads(invoke("audit", "verify", *args, "4", "--format", "json").stdout)
    assert some["checked"] == 1 and some["summary"]["reproduced"] == 1
    # what the log was replayed on is named, with the digest of today's rules
    changed = rulebase.load(rulebase.Layout.of(rules, facts))
    named = {"name": ". (mm-advisor.toml found, with --rules/--facts)", "digest": changed.digest}
    assert data["knowledge_base"] == some["knowledge_base"] == named


def test_a_damaged_entry_is_named_and_skipped(tmp_path):
    log = log_of(tmp_path, 3)
    db = sqlite3.connect(log)
    db.execute("UPDATE consultations SET trace = '{\"broken' WHERE id = 2")
    db.commit()
    db.close()
    listed = json.loads(invoke("audit", "list", "--log", str(log), "--format", "json").stdout)
    assert [e["id"] for e in listed] == [1, 2, 3]
    shown = invoke("audit", "show", *KB_ARGS, "--log", str(log), "2")
    assert shown.exit_code == 2
    assert shown.stderr.startswith(f"Error: {log}: consultation 2:1:2: not valid JSON")
    result = invoke("audit", "verify", *KB_ARGS, "--log", str(log), "--all")
    assert result.exit_code == 1
    assert result.stdout.startswith("2  ") and (
        f"  S1  DAMAGED: {log}: consultation 2:1:2: not valid JSON" in result.stdout
    )


def test_a_database_that_is_not_a_log_is_never_changed(tmp_path):
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.execute("INSERT INTO notes VALUES ('mine')")
    db.commit()
    db.close()
    before = (other.read_bytes(), other.stat().st_mtime_ns)
    for args in (["audit", "list"], ["audit", "show", "1"], ["audit", "verify", "--all"]):
        result = invoke(*args, "--log", str(other))
        assert result.exit_code == 2
        assert (
            result.stderr
            == f"Error: {other}: not a consultation log (it has no consultations table)\n"
        )
    assert (other.read_bytes(), other.stat().st_mtime_ns) == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]


def test_a_log_from_a_newer_version_is_refused(tmp_path):
    log = log_of(tmp_path, 1)
    db = sqlite3.connect(log)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    result = invoke("audit", "list", "--log", str(log))
    assert result.stderr == (
        f"Error: {log}: a consultation log of schema version 99, written by a newer mm-advisor "
        "(this one reads up to 3)\n"
    )


def test_every_reading_command_speaks_json(tmp_path):
    consult(tmp_path)
    path = str(tmp_path / "t.json")
    explained = json.loads(invoke("explain", *KB_ARGS, path, "--format", "json").stdout)
    assert [s["title"] for s in explained["sections"]] == [
        "How it was reached",
        "Why not the other options",
        "What if an answer changed",
    ]
    shown = json.loads(
        invoke("rules", "show", *KB_ARGS, "credit-stacks", "--format", "json").stdout
    )
    assert shown["then"]["derive"] == ["credit_stacks_into_degree"]
    assert shown["source"]["title"] == "Are MicroMasters Worth It?"
    log = log_of(tmp_path, 1)
    assert (
        json.loads(invoke("audit", "show", "--log", str(log), "1", "--format", "json").stdout)[
            "subject"
        ]
        == "S0"
    )


def test_the_same_rules_cannot_reach_anything_else_so_a_difference_is_an_edit(tmp_path):
    """Regression: re-sealed traces with edited details verified as intact (exit 0), or as
    "today's rules reach a different recommendation" (exit 3) with the very same rule files."""
    doc = consult(tmp_path)
    edits = {
        "not_fired": lambda d: d["not_fired"][0].update(condition="budget is high"),
        "derived": lambda d: d["derived"].append("cost_sensitive"),
        "recommendation": lambda d: d.update(recommendation="full_masters"),
        "decision": lambda d: d["decision"].update(reason="tie"),
    }
    for name, edit in edits.items():
        forged = json.loads(json.dumps(doc))
        edit(forged)
        forged["content_digest"] = trace.content_digest(forged)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(forged))
        result = verify(path)
        assert result.exit_code == 1, name
        assert result.stdout.splitlines()[-2:] == [
            "EDITED: the same rule files and the same mm-advisor cannot reach anything else than "
            "they did; the trace says otherwise, so it was changed",
            "verdict: TAMPERED: it was changed after it was written (exit 1)",
        ], name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"trace_version": 2, "recommendation": "phd", "recommendation": "micromasters"}',
            "TAMPERED: the key 'recommendation' appears twice in one object (readers may see "
            "either value)",
        ),
        (
            '{"trace_version": 2, "subject": "\\ud800"}',
            "TAMPERED: it holds half of a surrogate pair (\\ud800-\\udfff), which no text can "
            "contain",
        ),
    ],
    ids=["duplicate-key", "lone-surrogate"],
)
def test_a_trace_two_readers_would_read_differently_is_tampered(tmp_path, text, message):
    path = tmp_path / "t.json"
    path.write_text(text)
    for command in (("audit", "verify", *KB_ARGS), ("explain", *KB_ARGS)):
        result = invoke(*command, str(path))
        assert (result.exit_code, result.stderr) == (1, f"Error: {path}: {message}\n"), command
    emoji = '{"trace_version": 2, "subject": "\\ud83d\\ude00"}'  # a whole pair is text
    path.write_text(emoji)
    assert invoke("audit", "verify", *KB_ARGS, str(path)).exit_code == 1  # invalid, not a crash


def test_the_keys_an_office_trusts_are_used_by_default_each_for_its_dates(tmp_path, keys):
    private, public, key_id = keys
    kb = tmp_path / "kb"
    assert invoke("init", str(kb)).exit_code == 0
    shutil.copy(public, kb / "office.pub")
    marker = kb / "mm-advisor.toml"
    base = marker.read_text()
    args = ("--kb", str(kb))
    made = invoke("consult", *args, "--answers", STEPPING, "--sign-key", str(private),
                  "--trace-out", str(tmp_path / "t.json"))  # fmt: skip
    assert made.exit_code == 0, made.stderr
    today = json.loads((tmp_path / "t.json").read_text())["created_at"][:10]

    def verdict(trust: str) -> tuple[int, str]:
        marker.write_text(base + trust)
        result = invoke("audit", "verify", *args, str(tmp_path / "t.json"))
        return result.exit_code, result.stdout.splitlines()[1]

    assert verdict("") == (
        5,
        f"signature: NOT CHECKED: signed by key {key_id}; give its --public-key to check it",
    )
    trusted = '\n[trust]\nkeys = [{ file = "office.pub", from = 2020-01-01 }]\n'
    assert verdict(trusted) == (0, f"signature: valid, by key {key_id}")
    revoked = f'\n[trust]\nkeys = [{{ file = "office.pub", revoked = {today} }}]\n'
    assert verdict(revoked) == (
        1,
        f"signature: FAILED: signed by key {key_id}, which was not trusted on the date the trace "
        "bears (before it was trusted, after its last day, or after it was revoked)",
    )
    later = '\n[trust]\nkeys = [{ file = "office.pub", from = "2999-01-01" }]\n'
    assert verdict(later)[0] == 1
    marker.write_text(base + trusted)
    unsigned = invoke(
        "consult", *args, "--answers", STEPPING, "--trace-out", str(tmp_path / "u.json")
    )
    assert unsigned.exit_code == 0
    result = invoke("audit", "verify", *args, str(tmp_path / "u.json"))
    assert result.exit_code == 1 and "signature: MISSING" in result.stdout
    marker.write_text(base + '\n[trust]\nkeys = [{ file = "office.pub", since = 2020-01-01 }]\n')
    wrong = invoke("audit", "verify", *args, str(tmp_path / "t.json"))
    assert (wrong.exit_code, wrong.stderr) == (
        2,
        f"Error: {marker}:1:1: unknown key 'since' in a [trust] key; expected: file, from, "
        "until, revoked\n",
    )


def test_a_private_key_can_be_encrypted_with_a_passphrase(tmp_path, monkeypatch):
    folder = tmp_path / "keys"
    made = invoke(
        "keys", "generate", str(folder), "--passphrase", input="correct horse\ncorrect horse\n"
    )
    assert made.exit_code == 0, made.stderr
    private = folder / "mm-advisor-signing.key"
    assert b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    args = ("--answers", STEPPING, "--sign-key", str(private), "--no-input")
    locked = invoke("consult", *KB_ARGS, *args)
    assert (locked.exit_code, locked.stderr) == (
        2,
        f"Error: {private}: the private key is encrypted: set MM_ADVISOR_KEY_PASSPHRASE\n",
    )
    monkeypatch.setenv("MM_ADVISOR_KEY_PASSPHRASE", "wrong horse")
    wrong = invoke("consult", *KB_ARGS, *args)
    assert (wrong.exit_code, wrong.stderr) == (
        2,
        f"Error: {private}: the passphrase in MM_ADVISOR_KEY_PASSPHRASE does not open it\n",
    )
    monkeypatch.setenv("MM_ADVISOR_KEY_PASSPHRASE", "correct horse")
    out = tmp_path / "t.json"
    assert invoke("consult", *KB_ARGS, *args, "--trace-out", str(out)).exit_code == 0
    public = folder / "mm-advisor-signing.pub"
    assert invoke("audit", "verify", *KB_ARGS, str(out), "--public-key", str(public)).exit_code == 0
    monkeypatch.setenv("MM_ADVISOR_KEY_PASSPHRASE", "short")
    refused = invoke("keys", "generate", str(tmp_path / "k2"), "--passphrase")
    assert (refused.exit_code, refused.stderr) == (
        2,
        "Error: the passphrase is too short: use at least 8 characters\n",
    )
