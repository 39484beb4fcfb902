import unittest

from stats.median import median


class MedianTest(unittest.TestCase):
    def test_odd_sample(self) -> None:
        self.assertEqual(median([5.0, 1.0, 3.0]), 3.0)

    def test_even_sample(self) -> None:
        self.assertEqual(median([4.0, 1.0, 3.0, 2.0]), 2.5)

    def test_empty_sample_has_no_median(self) -> None:
        self.assertIsNone(median([]))
