"""Sending a file by email (notify spec §12): check each file, scan it, seal it under a key of its own and put an
unguessable link in its place; and, for the download pages, open a file again with the key from the link.

The checks run in document-download-api's order, with GOV.UK's texts: the service has contact details for the
download page, the content is base64 of at most 2 MiB, the filename is short and has an allowed extension, the
virus scan passes, and (without a filename) the content is of an allowed type. Each file becomes a `Document`
row, added to the request's transaction with the notification, so a file exists exactly when its email does.

The key is 32 random bytes that appear only in the link (`?key=`, base64url): the row holds the ciphertext
(AES-256-GCM, the document id as associated data, so rows cannot be swapped) and, when the recipient must confirm
their address, an HMAC of the address under the same key. Lose the link and the file is unreadable, to notify too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gaap.db.base import utcnow
from gaap.logging import get_logger
from services.notify.documents import filetypes
from services.notify.documents.models import Document
from services.notify.documents.options import FileRequest, file_requests
from services.notify.errors import BadRequestError
from services.notify.letters.scanning import Scanner, ScannerError
from services.notify.settings import NotifySettings
from services.notify.tenancy.models import NotifyService

log = get_logger("notify.documents")

#: notify spec §11.3: 2 MiB before base64 (the client's own limit, `File is larger than 2MB`).
MAX_FILE_BYTES = 2 * 1024 * 1024
KEY_BYTES = 32
NONCE_BYTES = 12


def b64_uuid(value: uuid.UUID) -> str:
    """A UUID in 22 URL-safe characters, as GOV.UK's links carry them."""
    return base64.urlsafe_b64encode(value.bytes).decode("ascii").rstrip("=")


def uuid_from_b64(text: str) -> uuid.UUID | None:
    raw = _b64decode(text)
    return uuid.UUID(bytes=raw) if raw is not None and len(raw) == 16 else None


def key_from_b64(text: str | None) -> bytes | None:
    raw = _b64decode(text or "")
    return raw if raw is not None and len(raw) == KEY_BYTES else None


def _b64decode(text: str) -> bytes | None:
    if not text or len(text) > 64 or not text.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def seal(key: bytes, document_id: uuid.UUID, data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, document_id.bytes)


def unseal(key: bytes, document: Document) -> bytes | None:
    """The file, or None when `key` is not its key."""
    content = bytes(document.content)
    try:
        return AESGCM(key).decrypt(content[:NONCE_BYTES], content[NONCE_BYTES:], document.id.bytes)
    except InvalidTag:
        return None


def email_hash(key: bytes, normalised_address: str) -> str:
    return hmac.new(key, normalised_address.encode(), hashlib.sha256).hexdigest()


def address_matches(key: bytes, document: Document, normalised_address: str) -> bool:
    return document.email_hash is not None and hmac.compare_digest(
        document.email_hash, email_hash(key, normalised_address)
    )


def b64_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def download_url(root: str, service_id: uuid.UUID, document_id: uuid.UUID, key: bytes) -> str:
    """`<root>d/<service>/<document>?key=<key>`, every part base64url (notify spec §12)."""
    return f"{root}d/{b64_uuid(service_id)}/{b64_uuid(document_id)}?key={b64_key(key)}"


def is_expired(document: Document, now: datetime | None = None) -> bool:
    return document.expires_at <= (now or utcnow())


@dataclass(frozen=True)
class Attached:
    """The personalisation with each file replaced by its link (the very dict given, when it has no files), and the
    rows to store with the notification."""

    personalisation: dict[str, Any]
    documents: list[Document]


def check_contact_details(service: NotifyService, settings: NotifySettings) -> None:
    if not service.contact_link:
        raise BadRequestError(
            "Send files by email has not been set up - add contact details for your service at "
            f"{settings.console_url}/services/{service.id}/service-settings/send-files-by-email"
        )


def _decode(content: str) -> bytes:
    try:
        data = base64.b64decode("".join(content.split()), validate=True)  # line breaks allowed, nothing else
    except (binascii.Error, ValueError):
        raise BadRequestError("File is not base64 encoded") from None
    if len(data) > MAX_FILE_BYTES:
        raise BadRequestError("File is larger than 2MB")
    return data


async def _scan(scanner: Scanner, data: bytes) -> None:
    try:
        verdict = await scanner.scan(data)
    except ScannerError as exc:
        # No verdict: the sender may try again (503 is the client's "safe to retry"), as GOV.UK answers.
        log.error("notify.documents.scan_failed", error=str(exc))
        raise BadRequestError("Antivirus API error", status_code=503) from None
    if not verdict.clean:
        log.warning("notify.documents.infected", signature=verdict.signature)
        raise BadRequestError("File did not pass the virus scan")


async def attach_files(
    personalisation: dict[str, Any],
    *,
    service: NotifyService,
    recipient: str,
    settings: NotifySettings,
    scanner: Scanner | None,
    simulated: bool = False,
) -> Attached:
    """§5.1 step 7 for an email: every file checked, scanned and sealed, its placeholder given the link.

    `recipient` is the normalised address the download may demand. For a smoke-test recipient (`simulated`)
    nothing is scanned or stored and the link leads nowhere, as GOV.UK does.
    """
    requests = file_requests(personalisation)
    if not requests:
        return Attached(personalisation, [])
    check_contact_details(service, settings)
    values = dict(personalisation)
    documents: list[Document] = []
    for request in requests:
        if simulated:
            values[request.placeholder] = f"{settings.public_root}d/{b64_uuid(service.id)}/test-document"
            continue
        document, key = await _store(request, service, recipient, scanner)
        documents.append(document)
        values[request.placeholder] = download_url(settings.public_root, service.id, document.id, key)
    return Attached(values, documents)


async def _store(
    request: FileRequest, service: NotifyService, recipient: str, scanner: Scanner | None
) -> tuple[Document, bytes]:
    if scanner is None:
        raise RuntimeError("no virus scanner configured for files sent by email")  # a wiring bug, never input
    data = _decode(request.content)
    named_type = filetypes.check_filename(request.filename) if request.filename is not None else None
    await _scan(scanner, data)
    mimetype = named_type or filetypes.file_type(data, None, is_csv=request.is_csv)
    key = os.urandom(KEY_BYTES)
    now = utcnow()
    document_id = uuid.uuid4()
    document = Document(
        id=document_id,
        service_id=service.id,
        content=seal(key, document_id, data),
        mimetype=mimetype,
        filename=request.filename,
        size=len(data),
        email_hash=email_hash(key, recipient) if request.confirm_email else None,
        created_at=now,
        expires_at=now + timedelta(weeks=request.retention_weeks),
    )
    return document, key
