import unittest

import counter


class CounterTest(unittest.TestCase):
    def test_ordinal(self):
        cases = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th",
                 13: "13th", 21: "21st", 102: "102nd", 111: "111th"}
        for number, text in cases.items():
            self.assertEqual(counter.ordinal(number), text)

    def test_render(self):
        self.assertIn("the 2nd visitor", counter.render({"visits": 2}))


if __name__ == "__main__":
    unittest.main()
