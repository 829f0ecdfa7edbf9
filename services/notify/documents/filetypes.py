"""Which files may be sent by email (notify spec §12) and what type a file is.

With a `filename`, its extension decides the type, as GOV.UK's document-download-api decides it. Without one,
the content does: the signatures of the allowed formats are few and fixed, so they are read here rather than
through libmagic (a system library the image would otherwise need). Anything else is
`application/octet-stream`, which is refused.
"""

from __future__ import annotations

import io
import json
import zipfile

from services.notify.errors import BadRequestError

#: The allowed extensions and the type each is served as.
EXTENSIONS: dict[str, str] = {
    "csv": "text/csv",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "json": "application/json",
    "odt": "application/vnd.oasis.opendocument.text",
    "pdf": "application/pdf",
    "png": "image/png",
    "rtf": "text/rtf",
    "txt": "text/plain",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ALLOWED_TYPES = frozenset(EXTENSIONS.values())
#: What the download page calls each type ("Download this PDF (12.3 KB) to your device").
DESCRIPTIONS: dict[str, str] = {
    "text/csv": "CSV file",
    "application/msword": "Microsoft Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Microsoft Word document",
    "image/jpeg": "JPEG image",
    "application/json": "JSON file",
    "application/vnd.oasis.opendocument.text": "text file",
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "text/rtf": "text file",
    "text/plain": "text file",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Microsoft Excel spreadsheet",
}
#: The extension a download without a filename is given.
PREFERRED_EXTENSION = {mimetype: ext for ext, mimetype in reversed(EXTENSIONS.items())}
SUPPORTED = ", ".join(f"'.{ext}'" for ext in sorted(EXTENSIONS))
MAX_FILENAME_LENGTH = 100
OCTET_STREAM = "application/octet-stream"

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_ODT = b"application/vnd.oasis.opendocument.text"


def unsupported(kind: str) -> BadRequestError:
    return BadRequestError(f"Unsupported file type '{kind}'. Supported types are: {SUPPORTED}")


def check_filename(filename: str) -> str:
    """The type a named file is served as; the §12 errors for a long name or an extension not allowed."""
    if len(filename) > MAX_FILENAME_LENGTH:
        raise BadRequestError(f"`filename` cannot be longer than {MAX_FILENAME_LENGTH} characters")
    extension = filename.rsplit(".", 1)[1].lower()
    if extension not in EXTENSIONS:
        raise unsupported(f".{extension}")
    return EXTENSIONS[extension]


def sniff(data: bytes, *, is_csv: bool = False) -> str:
    """The type of an unnamed file from its content. Text is `text/plain`, or `text/csv` when the sender says so
    (`is_csv`: plain text cannot be told from CSV)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"{\\rtf"):
        return "text/rtf"
    if data.startswith(_OLE2):
        return "application/msword" if _WORD_STREAM in data else "application/x-ole-storage"
    if data.startswith(b"PK\x03\x04"):
        return _zipped(data)
    return _text(data, is_csv=is_csv)


def _zipped(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return EXTENSIONS["docx"]
            if "xl/workbook.xml" in names:
                return EXTENSIONS["xlsx"]
            if "mimetype" in names and archive.read("mimetype").strip() == _ODT:
                return EXTENSIONS["odt"]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, OSError, EOFError):
        return OCTET_STREAM
    return "application/zip"


def _text(data: bytes, *, is_csv: bool) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return OCTET_STREAM
    if "\x00" in text:
        return OCTET_STREAM
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(stripped)
        except ValueError:
            pass
        else:
            return "application/json"
    return "text/csv" if is_csv else "text/plain"


def file_type(data: bytes, filename: str | None, *, is_csv: bool = False) -> str:
    """The type the file is stored and served as, or the §12 `Unsupported file type` error."""
    if filename is not None:
        return check_filename(filename)
    kind = sniff(data, is_csv=is_csv)
    if kind not in ALLOWED_TYPES:
        raise unsupported(kind)
    return kind


def human_size(size: int) -> str:
    """`12.3 KB`, `1.2 MB` (decimal units, as GOV.UK's download page shows them)."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.1f} KB"
    return f"{size / 1_000_000:.1f} MB"
