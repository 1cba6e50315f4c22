import os
import tempfile
import unittest

import server


class ServerPageTest(unittest.TestCase):
    def info(self, group):
        return {"job_id": "42", "group": group, "db": "runbot_42",
                "revisions": {"server": "a" * 40, "addons": "b" * 40, "web": ""},
                "versions": {"server": "6.0", "addons": "6.0", "web": "6.0"}}

    def test_page_shows_job_and_escapes_branch_names(self):
        page = server.render_page(self.info("trunk-<script>"), [], 3,
                                  "<header>{title}</header>", "<footer></footer>")
        self.assertIn("<td id=\"job\">42</td>", page)
        self.assertIn("trunk-&lt;script&gt;", page)
        self.assertNotIn("<script>", page.replace('<script src="/static/app.js">', ""))
        self.assertIn("3 visits", page)
        self.assertIn("aaaaaaa", page)

    def test_broken_addon_is_shown_not_raised(self):
        addons = [{"name": "bad", "description": "", "module": None, "error": "Boom: x"}]
        page = server.render_page(self.info("trunk"), addons, 1)
        self.assertIn("not loaded: Boom: x", page)
        self.assertIn("Addons (0 loaded)", page)


class ServerVisitsTest(unittest.TestCase):
    def test_db_path_adds_suffix_in_cwd(self):
        self.assertEqual(server.db_path("runbot_7"), os.path.abspath("runbot_7.sqlite"))
        self.assertEqual(server.db_path("/tmp/x.db"), "/tmp/x.db")

    def test_visits_persist_in_the_database(self):
        with tempfile.TemporaryDirectory() as tmp:
            name = os.path.join(tmp, "runbot_1")
            self.assertEqual(server.Visits(name).add("/"), 1)
            self.assertEqual(server.Visits(name).add("/"), 2)
            self.assertEqual(server.Visits("").add("/"), 1)


if __name__ == "__main__":
    unittest.main()
