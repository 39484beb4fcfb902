"""Reading uploaded CSV files.

Uploads come from whatever spreadsheet the customer uses: Google Sheets, Numbers, LibreOffice
or Excel. They are all UTF-8 text; the reader turns them into one dict per row keyed by the
(normalised) header names.
"""

from __future__ import annotations

import csv
import io
import logging

log = logging.getLogger("contacts.reader")

MAX_BYTES = 5 * 1024 * 1024


class UploadError(ValueError):
    """The upload cannot be read at all; shown to the user as is."""


def decode_upload(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise UploadError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadError(f"the file is not UTF-8 text (byte {exc.start})") from None


def _normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def read_rows(data: bytes) -> list[dict[str, str]]:
    """Rows of the CSV upload as dicts, header names normalised (`First Name` → `first_name`)."""
    text = decode_upload(data)
    sample = text[:2048]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [_normalise_header(h) for h in next(reader)]
    except StopIteration:
        raise UploadError("the file is empty") from None
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue  # blank lines at the end of a sheet
        rows.append(dict(zip(header, (v.strip() for v in values))))
    log.info("read %d row(s) with columns %s", len(rows), ", ".join(header))
    return rows
