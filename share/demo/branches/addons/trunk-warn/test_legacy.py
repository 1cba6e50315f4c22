import unittest

import legacy


class LegacyTest(unittest.TestCase):
    def test_render(self):
        self.assertEqual(legacy.render({}), "LEGACY ADDON STILL WORKS")


if __name__ == "__main__":
    unittest.main()
