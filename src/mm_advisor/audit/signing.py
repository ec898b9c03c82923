"""Signed traces: an Ed25519 key pair, and signatures over everything a trace holds.

A digest only shows that a trace was not changed by accident: anyone who changes a trace can
compute its digest again. A signature can only be made with the private key, which the office
keeps; anyone with the public key can check it. The signature signs the content digest (which
covers every other field, `created_at` and the subject included) together with the signing key's
id, so nothing can be changed, added, back-dated or re-attributed without it failing, once the
digest is recomputed, as verification always does. The cryptography is the `cryptography`
package's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import AdvisorError
from ..files import InputError, read_text, write_atomic

ALGORITHM = "ed25519"
PRIVATE, PUBLIC = "mm-advisor-signing.key", "mm-advisor-signing.pub"
VALID, INVALID, UNSIGNED, OTHER_KEY, MALFORMED, NOT_THEN = (
    "valid",
    "invalid",
    "unsigned",
    "other key",
    "malformed",
    "not trusted then",
)


class SigningKeyError(AdvisorError):
    """A key file cannot be used."""


def key_id(public: Ed25519PublicKey) -> str:
    """A short name for a public key: the start of the sha256 of its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{ALGORITHM}:{hashlib.sha256(raw).hexdigest()[:16]}"


def payload(doc: dict[str, Any]) -> bytes:
    """What a signature covers: the trace's content digest, which covers every other field
    (created_at and the subject included), and the signature's own algorithm and key id, in the
    canonical form (sorted keys, no spaces, UTF-8). A verifier recomputes the digest first."""
    signature = doc.get("signature")
    meta = (
        {k: v for k, v in signature.items() if k != "value"} if isinstance(signature, dict) else {}
    )
    content = {"content_digest": doc.get("content_digest"), "signature": meta}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    key_id: str

    def sign(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`doc` with a signature over all of it."""
        signed = {**doc, "signature": {"algorithm": ALGORITHM, "key_id": self.key_id}}
        value = self.private.sign(payload(signed))
        signed["signature"]["value"] = base64.b64encode(value).decode("ascii")
        return signed


@dataclass(frozen=True)
class Verifier:
    public: Ed25519PublicKey
    key_id: str

    def check(self, doc: dict[str, Any]) -> str:
        """VALID, INVALID (changed since it was signed), UNSIGNED, OTHER_KEY or MALFORMED."""
        signature = doc.get("signature")
        if signature is None:
            return UNSIGNED
        if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
            return MALFORMED
        if signature.get("key_id") != self.key_id:
            return OTHER_KEY
        try:
            value = base64.b64decode(str(signature.get("value", "")), validate=True)
            self.public.verify(value, payload(doc))
        except (InvalidSignature, ValueError):
            return INVALID
        return VALID


PASSPHRASE_ENV = "MM_ADVISOR_KEY_PASSPHRASE"


def generate(
    folder: Path, force: bool = False, passphrase: str | None = None
) -> tuple[Path, Path, str]:
    """A new key pair in `folder`: the private key readable by its owner only, and encrypted
    with `passphrase` when one is given."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / PRIVATE, folder / PUBLIC
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise AdvisorError(f"{path}: a key is already there (add --force to replace it)")
    private = Ed25519PrivateKey.generate()
    protection = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(str(private_path), pem.decode("ascii"))
    write_atomic(str(public_path), public.decode("ascii"), private=False)
    return private_path, public_path, key_id(private.public_key())


def _pem(path: str) -> bytes:
    try:
        return read_text(path, limit=64 * 1024).encode("ascii")
    except InputError as exc:
        raise SigningKeyError(str(exc)) from None
    except UnicodeEncodeError:
        raise SigningKeyError(f"{path}: not a PEM key file") from None


def load_signer(path: str) -> Signer:
    """The private key in `path` (from `keys generate`)."""
    if os.name == "posix" and os.path.exists(path) and os.stat(path).st_mode & 0o077:
        raise SigningKeyError(f"{path}: the private key is readable by others: chmod 600 it")
    pem = _pem(path)
    passphrase = os.environ.get(PASSPHRASE_ENV)
    encrypted = b"ENCRYPTED PRIVATE KEY" in pem
    if encrypted and not passphrase:
        raise SigningKeyError(f"{path}: the private key is encrypted: set {PASSPHRASE_ENV}")
    try:
        private = serialization.load_pem_private_key(
            pem, password=passphrase.encode() if encrypted and passphrase else None
        )
    except (ValueError, TypeError):
        why = f"the passphrase in {PASSPHRASE_ENV} does not open it" if encrypted else None
        raise SigningKeyError(f"{path}: {why or 'not a PEM private key'}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return Signer(private, key_id(private.public_key()))


def load_verifier(path: str) -> Verifier:
    """The public key in `path` (from `keys generate`)."""
    try:
        public = serialization.load_pem_public_key(_pem(path))
    except (ValueError, TypeError):
        raise SigningKeyError(f"{path}: not a PEM public key") from None
    if not isinstance(public, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return Verifier(public, key_id(public))


@dataclass(frozen=True)
class Trusted:
    """The keys an office trusts, each for a span of time ([trust] in mm-advisor.toml): a
    trace verifies when a trusted key signed it and the key was trusted on the trace's date."""

    keys: dict[str, tuple[Verifier, str | None, str | None, str | None]]

    def check(self, doc: dict[str, Any]) -> str:
        """As `Verifier.check`, and NOT_THEN: signed by a trusted key on a day it was not
        trusted (before `from`, from `until`, or after it was revoked)."""
        signature = doc.get("signature")
        if signature is None:
            return UNSIGNED
        if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
            return MALFORMED
        entry = self.keys.get(str(signature.get("key_id")))
        if entry is None:
            return OTHER_KEY
        verifier, start, until, revoked = entry
        status = verifier.check(doc)
        day = str(doc.get("created_at", ""))[:10]
        if status == VALID and (
            (start and day < start) or (until and day >= until) or (revoked and day >= revoked)
        ):
            return NOT_THEN
        return status


def verifier_for(public_key: str | None, trust: tuple = ()) -> Verifier | Trusted | None:
    """What checks signatures: the public key given, else the knowledge base's trusted keys
    (layout.TrustedKey), else nothing."""
    if public_key:
        return load_verifier(public_key)
    if not trust:
        return None
    keys = {}
    for key in trust:
        verifier = load_verifier(str(key.path))
        keys[verifier.key_id] = (verifier, key.valid_from, key.until, key.revoked)
    return Trusted(keys)
