from contacts.reader import UploadError, read_rows

import pytest


def test_headers_are_normalised() -> None:
    rows = read_rows(b"Email,First Name,Last-Name\nanna@example.com,Anna,Berg\n")
    assert rows == [{"email": "anna@example.com", "first_name": "Anna", "last_name": "Berg"}]


def test_semicolon_separated_files_are_detected() -> None:
    rows = read_rows(b"email;company\nbo@example.com;Acme\n")
    assert rows == [{"email": "bo@example.com", "company": "Acme"}]


def test_non_ascii_text_is_kept() -> None:
    rows = read_rows("email,company\njo@example.com,Müller & Söhne\n".encode())
    assert rows[0]["company"] == "Müller & Söhne"


def test_blank_trailing_lines_are_ignored() -> None:
    assert len(read_rows(b"email\na@example.com\n,\n\n")) == 1


def test_latin1_upload_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(UploadError, match="not UTF-8"):
        read_rows("email,company\nx@example.com,Müller\n".encode("latin-1"))

