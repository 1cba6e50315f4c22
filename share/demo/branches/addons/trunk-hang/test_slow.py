import unittest

import slow


class SlowTest(unittest.TestCase):
    def test_wait_for_reply(self):
        self.assertEqual(slow.wait_for_reply(), "price: 42")


if __name__ == "__main__":
    unittest.main()
