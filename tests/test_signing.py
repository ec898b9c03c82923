"""Signatures, unit by unit: the exact bytes signed (a format old traces depend on), every way a
signature is refused, and every way a key file is refused, each with its words."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mm_advisor.audit import signing
from mm_advisor.errors import AdvisorError

# A key made from fixed bytes: Ed25519 signatures are deterministic, so the signature is pinned.
FIXED = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = signing.Signer(FIXED, signing.key_id(FIXED.public_key()))
VERIFIER = signing.Verifier(FIXED.public_key(), SIGNER.key_id)
DOC = {"content_digest": "sha256:" + "ab" * 32, "recommendation": "micromasters", "subject": "Zoë"}


def test_what_is_signed_is_the_digest_and_the_signatures_own_fields_in_canonical_json():
    signed = SIGNER.sign(DOC)
    assert SIGNER.key_id == "ed25519:" + signed["signature"]["key_id"].split(":")[1]
    assert signing.payload(signed) == (
        b'{"content_digest":"sha256:' + b"ab" * 32 + b'","signature":{"algorithm":"ed25519",'
        b'"key_id":"' + SIGNER.key_id.encode() + b'"}}'
    )
    assert signing.payload({"content_digest": "x"}) == b'{"content_digest":"x","signature":{}}'
    unsorted = {"signature": {"key_id": "k", "value": "v", "algorithm": "a"}, "content_digest": "é"}
    assert signing.payload(unsorted) == (  # keys sorted, text in UTF-8: one canonical form
        '{"content_digest":"é","signature":{"algorithm":"a","key_id":"k"}}'.encode()
    )
    value = base64.b64decode(signed["signature"]["value"], validate=True)
    FIXED.public_key().verify(value, signing.payload(signed))  # raises if not
    assert (
        signed["signature"]["value"]
        == base64.b64encode(FIXED.sign(signing.payload(signed))).decode()
    )
    assert {k: v for k, v in signed.items() if k != "signature"} == DOC
    assert VERIFIER.check(signed) == signing.VALID


def test_every_way_a_signature_is_refused():
    signed = SIGNER.sign(DOC)
    sig = signed["signature"]
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    cases = {
        signing.UNSIGNED: [DOC],
        signing.MALFORMED: [
            {**DOC, "signature": "ed25519:abc"},
            {**DOC, "signature": {**sig, "algorithm": "rsa"}},
            {**DOC, "signature": {k: v for k, v in sig.items() if k != "algorithm"}},
        ],
        signing.OTHER_KEY: [{**DOC, "signature": {**sig, "key_id": "ed25519:0000000000000000"}}],
        signing.INVALID: [
            {**signed, "content_digest": "sha256:" + "cd" * 32},  # the content changed
            {**signed, "signature": {**sig, "value": "!" + sig["value"]}},  # not base64
            {**signed, "signature": {**sig, "value": sig["value"][:-4]}},
            {**signed, "signature": {k: v for k, v in sig.items() if k != "value"}},
            {**signed, "signature": {**sig, "value": base64.b64encode(other.sign(b"x")).decode()}},
        ],
    }
    for status, docs in cases.items():
        assert [VERIFIER.check(d) for d in docs] == [status] * len(docs), status


def test_keys_are_made_in_a_new_folder_private_for_the_owner_public_for_all(tmp_path):
    private, public, made_id = signing.generate(tmp_path / "a" / "b")
    assert (private.stat().st_mode & 0o777, public.stat().st_mode & 0o777) == (0o600, 0o644)
    assert signing.load_signer(str(private)).key_id == made_id
    assert signing.load_verifier(str(public)).key_id == made_id
    with pytest.raises(AdvisorError) as caught:
        signing.generate(tmp_path / "a" / "b")
    assert str(caught.value) == f"{private}: a key is already there (add --force to replace it)"
    assert signing.generate(tmp_path / "a" / "b", force=True)[2] != made_id


def refusal(load, path) -> str:
    with pytest.raises(signing.SigningKeyError) as caught:
        load(str(path))
    return str(caught.value)


def test_every_way_a_key_file_is_refused(tmp_path):
    private, public, _ = signing.generate(tmp_path)
    os.chmod(private, 0o640)
    assert refusal(signing.load_signer, private) == (
        f"{private}: the private key is readable by others: chmod 600 it"
    )
    os.chmod(private, 0o600)
    public.chmod(0o600)  # readable by its owner only, but a public key
    assert refusal(signing.load_signer, public) == f"{public}: not a PEM private key"
    assert refusal(signing.load_verifier, private) == f"{private}: not a PEM public key"
    ec = generate_private_key(SECP256R1())
    ec_private, ec_public = tmp_path / "ec.key", tmp_path / "ec.pub"
    ec_private.write_bytes(
        ec.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ec_private.chmod(0o600)
    ec_public.write_bytes(
        ec.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert refusal(signing.load_signer, ec_private) == f"{ec_private}: not an Ed25519 key"
    assert refusal(signing.load_verifier, ec_public) == f"{ec_public}: not an Ed25519 key"
    accented = tmp_path / "accented.pub"
    accented.write_text("-----BEGIN PUBLIC KEY-----\nÄ\n", encoding="utf-8")
    assert refusal(signing.load_verifier, accented) == f"{accented}: not a PEM key file"
    huge = tmp_path / "huge.pub"
    huge.write_text("A" * (64 * 1024 + 1))
    assert refusal(signing.load_verifier, huge).startswith(f"{huge}: ")
    assert "larger than" in refusal(signing.load_verifier, huge)
    exact = tmp_path / "exact.pub"
    exact.write_text("A" * (64 * 1024))
    assert refusal(signing.load_verifier, exact) == f"{exact}: not a PEM public key"
    missing = tmp_path / "missing.key"
    assert refusal(signing.load_signer, missing).startswith(f"{missing}: ")
