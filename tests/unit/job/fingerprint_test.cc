#include "job/fingerprint.h"

#include <gtest/gtest.h>

namespace runbot {
namespace {

const ErrorContext kJob231{{"/srv/runbot/jobs/231", "/run/openerp-runbot/job"}};
const ErrorContext kJob305{{"/srv/runbot/jobs/305", "/run/openerp-runbot/job"}};

struct Row {
  const char* logged;      // as job 231 logged it
  const char* normalised;  // what its fingerprint hashes
};

// Real-looking lines of Odoo, pytest, gcc and npm logs.
const Row kTable[] = {
    {"2024-05-03 10:12:45,123 48213 ERROR runbot_231 odoo.modules.loading: Failed to load "
     "module sale_stock",
     "<time> <n> ERROR runbot_<n> odoo.modules.loading: Failed to load module sale_stock"},
    {"2024-05-03 10:12:46,001 48213 ERROR runbot_231 odoo.addons.sale.tests.test_sale: FAIL: "
     "TestSale.test_confirm_12",
     "<time> <n> ERROR runbot_<n> odoo.addons.sale.tests.test_sale: FAIL: "
     "TestSale.test_confirm_<n>"},
    {"ValueError: <sale.order(42,) object at 0x7f3a2c1d5e50> expected singleton",
     "ValueError: <sale.order(<n>,) object at <addr>> expected singleton"},
    {"psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "
     "\"res_users_login_key\" DETAIL: Key (login)=(user_1714731165) already exists.",
     "psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "
     "\"res_users_login_key\" DETAIL: Key (login)=(user_<n>) already exists."},
    {"FAILED tests/test_api.py::test_timeout[0.5] - AssertionError: assert 3 == 4",
     "FAILED tests/test_api.py::test_timeout[<n>.<n>] - AssertionError: assert <n> == <n>"},
    {"E       FileNotFoundError: [Errno 2] No such file or directory: "
     "'/tmp/pytest-of-runbot/pytest-12/test_load0/data.json'",
     "E FileNotFoundError: [Errno <n>] No such file or directory: '<tmp>'"},
    {"\x1b[31mFAILED\x1b[0m tests/test_db.py::test_session - KeyError: "
     "'3f2b8c1e-9d4a-4b7e-8f1a-2c3d4e5f6a7b'",
     "FAILED tests/test_db.py::test_session - KeyError: '<uuid>'"},
    {"/srv/runbot/jobs/231/src/server/engine.c:112:5: error: 'count' undeclared (first use in "
     "this function)",
     "<job>/src/server/engine.c:<n>:<n>: error: 'count' undeclared (first use in this function)"},
    {"/run/openerp-runbot/job/src/server/engine.c:112:5: error: 'count' undeclared (first use "
     "in this function)",
     "<job>/src/server/engine.c:<n>:<n>: error: 'count' undeclared (first use in this function)"},
    {"npm ERR! A complete log of this run can be found in: "
     "/root/.npm/_logs/2024-05-03T10_12_45_123Z-debug-0.log",
     "npm ERR! A complete log of this run can be found in: "
     "/root/.npm/_logs/<time>-debug-<n>.log"},
    {"npm ERR! code ELIFECYCLE", "npm ERR! code ELIFECYCLE"},
    {"npm ERR! node v18.19.0 npm v9.2.0 in worker2",
     "npm ERR! node v18.<n>.<n> npm v9.<n>.<n> in worker2"},
    {"fatal: reference is not a tree: 1a2b3c4d5e6f7a8b9c0d",
     "fatal: reference is not a tree: <hex>"},
    {"ERROR at 12:00:01.5: worker 7 died after 0.52s",
     "ERROR at <time>: worker <n> died after <n>.<n>s"},
    {"Traceback (most recent call last):\n  File \"/srv/runbot/jobs/231/src/server/a.py\", line "
     "3, in <module>\n    main()\nZeroDivisionError: division by zero",
     "Traceback (most recent call last):\nFile \"<job>/src/server/a.py\", line <n>, in "
     "<module>\nmain()\nZeroDivisionError: division by zero"},
};

TEST(Fingerprint, NormalisationTable) {
  for (const Row& row : kTable) EXPECT_EQ(normalise_error(row.logged, kJob231), row.normalised);
}

TEST(Fingerprint, SameErrorInAnotherJobOrGroupHasTheSameFingerprint) {
  EXPECT_EQ(error_fingerprint("2024-05-03 10:12:45,123 48213 ERROR runbot_231 odoo.sql_db: bad "
                              "query at /srv/runbot/jobs/231/src/x.py:10",
                              kJob231),
            error_fingerprint("2025-01-09 23:59:59,999 7 ERROR runbot_305 odoo.sql_db: bad "
                              "query at /srv/runbot/jobs/305/src/x.py:11",
                              kJob305));
  EXPECT_EQ(error_fingerprint("x", kJob231).size(), 16u);
}

TEST(Fingerprint, DifferentErrorsStayApart) {
  auto fp = [](const char* s) { return error_fingerprint(s, kJob231); };
  EXPECT_NE(fp("ERROR Failed to load module sale_stock"),
            fp("ERROR Failed to load module purchase"));
  EXPECT_NE(fp("KeyError: 'name'"), fp("KeyError: 'login'"));
  EXPECT_NE(fp("error: 'count' undeclared"), fp("error: 'total' undeclared"));
  // Words of hex letters only are words, not ids.
  EXPECT_EQ(normalise_error("decade deadbeef accede", kJob231), "decade deadbeef accede");
}

TEST(Fingerprint, SummaryIsOneBoundedLine) {
  EXPECT_EQ(error_summary("ERROR boom"), "ERROR boom");
  EXPECT_EQ(error_summary("Traceback (most recent call last):\n  File \"a.py\", line 3\n"
                          "ValueError: x\n"),
            "Traceback (most recent call last): … ValueError: x");
  std::string s = error_summary(std::string(100, 'a') + "é" + std::string(300, 'b'), 102);
  EXPECT_LE(s.size(), 102u);
  EXPECT_EQ(s, std::string(99, 'a') + "…");
}

}  // namespace
}  // namespace runbot
