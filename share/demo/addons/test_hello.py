import unittest

import hello


class HelloTest(unittest.TestCase):
    def test_greet(self):
        self.assertEqual(hello.greet("runbot"), "Hello, runbot!")

    def test_greet_without_name(self):
        self.assertEqual(hello.greet("  "), "Hello, world!")

    def test_render_uses_the_group(self):
        self.assertEqual(hello.render({"group": "trunk"}), "Hello, trunk!")


if __name__ == "__main__":
    unittest.main()
