import unittest

import quote


class QuoteTest(unittest.TestCase):
    def test_pick_cycles(self):
        self.assertEqual(quote.pick(1), quote.QUOTES[0])
        self.assertEqual(quote.pick(len(quote.QUOTES) + 1), quote.QUOTES[0])
        self.assertEqual(quote.pick(0), quote.QUOTES[0])

    def test_render(self):
        self.assertIn(quote.render({"visits": 2}), quote.QUOTES)


if __name__ == "__main__":
    unittest.main()
