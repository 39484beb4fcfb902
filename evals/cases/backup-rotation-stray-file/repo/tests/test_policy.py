import unittest
from datetime import date, timedelta

from rotate.policy import keep

TODAY = date(2026, 3, 31)


def nightly(days: int) -> list[date]:
    return [TODAY - timedelta(days=n) for n in range(days)]


class PolicyTest(unittest.TestCase):
    def test_the_last_seven_days_are_kept(self) -> None:
        self.assertTrue(set(nightly(7)) <= keep(nightly(30), TODAY))

    def test_one_dump_per_week_and_month_is_kept(self) -> None:
        kept = keep(nightly(400), TODAY)
        self.assertIn(date(2026, 3, 1), kept)  # first of the month
        self.assertIn(date(2025, 4, 1), kept)  # twelfth month back
        self.assertNotIn(date(2025, 3, 1), kept)  # thirteenth
        self.assertNotIn(date(2026, 3, 3), kept)  # a Tuesday long enough ago
        self.assertLessEqual(len(kept), 7 + 8 + 12)

    def test_nothing_to_keep_of_nothing(self) -> None:
        self.assertEqual(keep([], TODAY), set())
