import unittest

import textutil


class TextutilTest(unittest.TestCase):
    def test_plural(self):
        self.assertEqual(textutil.plural(0, "visit"), "0 visits")
        self.assertEqual(textutil.plural(1, "visit"), "1 visit")
        self.assertEqual(textutil.plural(2, "visit"), "2 visits")

    def test_short_rev(self):
        self.assertEqual(textutil.short_rev("0123456789abcdef"), "0123456")
        self.assertEqual(textutil.short_rev(""), "-")
        self.assertEqual(textutil.short_rev(None), "-")

    def test_escape(self):
        self.assertEqual(textutil.escape('<a href="x">&'),
                         "&lt;a href=&quot;x&quot;&gt;&amp;")
        self.assertEqual(textutil.escape(None), "")


if __name__ == "__main__":
    unittest.main()
