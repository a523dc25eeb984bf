#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "dr/catalogue.h"
#include "test_support.h"

using namespace dr;

TEST_CASE("the v1 catalogue holds every action of runbook-format.md section 5") {
  const auto& c = Catalogue::v1();
  for (const char* name : {"traffic-manager.disable-endpoint",
                           "traffic-manager.enable-endpoint",
                           "traffic-manager.set-priority",
                           "traffic-manager.set-weight",
                           "traffic-manager.wait-endpoint",
                           "site-recovery.failover",
                           "site-recovery.test-failover",
                           "site-recovery.test-failover-cleanup",
                           "site-recovery.commit",
                           "site-recovery.cancel",
                           "site-recovery.reprotect",
                           "site-recovery.check-health",
                           "backup.backup-now",
                           "backup.restore",
                           "backup.check-recovery-point",
                           "agent.run",
                           "agent.check",
                           "http.probe",
                           "wait",
                           "manual.approve",
                           "exec"})
    CHECK_MESSAGE(c.find(name), name);
  CHECK(c.actions().size() == 21);
}

TEST_CASE("built-in undos name actions that exist and only mutating actions have them") {
  for (const auto& a : Catalogue::v1().actions()) {
    if (a.builtin_undo.empty()) continue;
    CHECK_MESSAGE(Catalogue::v1().find(a.builtin_undo), a.name);
    CHECK_MESSAGE(a.mutating, a.name);
  }
  CHECK(Catalogue::v1().find("site-recovery.test-failover")->builtin_undo == "site-recovery.test-failover-cleanup");
  CHECK(Catalogue::v1().find("traffic-manager.disable-endpoint")->builtin_undo == "traffic-manager.enable-endpoint");
}

TEST_CASE("every parameter name is kebab-case and exactly-one-of groups name real parameters") {
  for (const auto& a : Catalogue::v1().actions()) {
    std::set<std::string> seen;
    for (const auto& p : a.params) {
      CHECK_MESSAGE(seen.insert(p.name).second, (a.name + " repeats " + p.name));
      for (char ch : p.name) CHECK_MESSAGE(((ch >= 'a' && ch <= 'z') || ch == '-'), (a.name + "." + p.name));
      if (p.type == ParamType::target) CHECK(p.target_kind.has_value());
    }
    for (const auto& group : a.exactly_one_of)
      for (const auto& name : group) CHECK_MESSAGE(a.param(name), (a.name + " group names " + name));
  }
}

TEST_CASE("docs/actions.md documents every action and every parameter") {
  std::ifstream f(dr::test::source_path("docs/actions.md"));
  REQUIRE_MESSAGE(f, "docs/actions.md is missing");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  for (const auto& a : Catalogue::v1().actions()) {
    CHECK_MESSAGE(doc.find("`" + a.name + "`") != std::string::npos, a.name);
    for (const auto& p : a.params)
      CHECK_MESSAGE(doc.find("`" + p.name + "`") != std::string::npos, (a.name + " parameter " + p.name));
  }
}

TEST_CASE("docs/actions.md states each action's default timeout as the catalogue sets it") {
  std::ifstream f(dr::test::source_path("docs/actions.md"));
  REQUIRE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  for (const auto& a : Catalogue::v1().actions()) {
    const auto section = doc.find("### " + a.name + "\n");
    REQUIRE_MESSAGE(section != std::string::npos, a.name);
    const auto next = doc.find("\n### ", section + 4);
    const std::string body = doc.substr(section, next - section);
    const std::string want = a.duration_param.empty() ? "Default timeout: " + format_duration(a.default_timeout) + "."
                                                      : "Default timeout: its duration + " +
                                                            format_duration(a.default_timeout) + ".";
    CHECK_MESSAGE(body.find(want) != std::string::npos, (a.name + " should say '" + want + "'"));
  }
}
