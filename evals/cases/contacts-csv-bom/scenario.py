"""The import that crashed in production, replayed under the real Sentry SDK.

Run by `python -m evals.record_cases --case contacts-csv-bom` in a child process with
sentry-sdk installed, after `sentry_sdk.init(...)`, with a copy of repo/ as the working
directory; `run_as_main` (from evals/recorder.py) runs the CLI's entry point and reports a
crash through sys.excepthook, as an uncaught exception of the `contacts-import` process.
"""

from pathlib import Path

from contacts.cli import main

run_as_main = globals()["run_as_main"]  # provided by the recorder; spelled out for linters

uploads = Path("uploads")
uploads.mkdir(exist_ok=True)

# Monday's import, exported from Google Sheets: plain UTF-8, works.
(uploads / "trade-fair-leads.csv").write_text(
    "Email,First Name,Last Name,Company,Tags\n"
    "jonas.weber@example.org,Jonas,Weber,Weber Logistik,lead;fair-2026\n"
    "m.rossi@example.it,Marta,Rossi,Rossi SRL,lead\n",
    encoding="utf-8",
)
assert run_as_main(main, ["uploads/trade-fair-leads.csv", "--store", "contacts.json"]) is None

# Tuesday's, saved from Excel as "CSV UTF-8 (comma delimited)": Excel writes a byte order mark.
(uploads / "newsletter-signups.csv").write_bytes(
    "\ufeffEmail,First Name,Last Name,Company,Tags\n"
    "anna.schaefer@example.de,Anna,Schäfer,Müller & Söhne,newsletter\n"
    "li.wei@example.com,Li,Wei,,newsletter;vip\n".encode("utf-8")
)
error = run_as_main(main, ["uploads/newsletter-signups.csv", "--store", "contacts.json"])
assert isinstance(error, KeyError), f"expected the KeyError crash, got {error!r}"
