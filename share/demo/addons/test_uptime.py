import unittest

import uptime


class UptimeTest(unittest.TestCase):
    def test_duration(self):
        self.assertEqual(uptime.duration(4), "4s")
        self.assertEqual(uptime.duration(65), "1m 05s")
        self.assertEqual(uptime.duration(3723), "1h 02m 03s")
        self.assertEqual(uptime.duration(-3), "0s")


if __name__ == "__main__":
    unittest.main()
