import os
import tempfile
import unittest
from datetime import date, timedelta
from pathlib import Path

from rotate.__main__ import prune
from rotate.files import dump_date, list_dumps

TODAY = date(2026, 3, 31)


class PruneTest(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.folder = Path(self._tmp.name)
        for n in range(60):
            (self.folder / f"db-{TODAY - timedelta(days=n)}.sql.gz").write_bytes(b"dump")

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def test_dump_names_carry_their_date(self) -> None:
        self.assertEqual(dump_date("db-2026-03-01.sql.gz"), date(2026, 3, 1))
        self.assertEqual(len(list_dumps(self.folder)), 60)

    def test_dry_run_deletes_nothing(self) -> None:
        doomed = prune(self.folder, TODAY, dry_run=True)
        self.assertTrue(doomed)
        self.assertEqual(len(list(self.folder.iterdir())), 60)

    def test_prune_deletes_what_the_policy_drops(self) -> None:
        doomed = prune(self.folder, TODAY)
        self.assertTrue(all(not p.exists() for p in doomed))
        self.assertTrue((self.folder / f"db-{TODAY}.sql.gz").exists())

    def test_other_files_in_the_folder_are_left_alone(self) -> None:
        (self.folder / "db-2026-03-31.sql.gz.sha256").write_text("abc  db-2026-03-31.sql.gz\n")
        (self.folder / "README.txt").write_text("restore with pg_restore\n")
        prune(self.folder, TODAY)
        self.assertTrue((self.folder / "README.txt").exists())
        self.assertTrue((self.folder / "db-2026-03-31.sql.gz.sha256").exists())

    def test_the_latest_symlink_is_not_a_dump(self) -> None:
        os.symlink(f"db-{TODAY}.sql.gz", self.folder / "db-latest.sql.gz")
        doomed = prune(self.folder, TODAY)
        self.assertTrue(doomed)
        self.assertTrue((self.folder / "db-latest.sql.gz").is_symlink())
        self.assertTrue((self.folder / "db-latest.sql.gz").exists())
