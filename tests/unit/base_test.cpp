#include <doctest/doctest.h>

#include "dr/diagnostic.h"
#include "dr/duration.h"
#include "dr/interpolation.h"
#include "dr/sha256.h"
#include "dr/suggest.h"
#include "dr/value.h"

using namespace dr;
using namespace std::chrono_literals;

TEST_CASE("durations are read as operators write them and refused without a unit") {
  CHECK(parse_duration("90s") == Duration(90s));
  CHECK(parse_duration("15m") == Duration(15min));
  CHECK(parse_duration("1h30m") == Duration(90min));
  CHECK(parse_duration("250ms") == Duration(250ms));
  CHECK(parse_duration("2d") == Duration(48h));
  CHECK(parse_duration("1m30s500ms") == Duration(90500ms));
  CHECK_FALSE(parse_duration("90"));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("15 m"));
  CHECK_FALSE(parse_duration("1.5h"));
  CHECK_FALSE(parse_duration("5w"));
  CHECK_FALSE(parse_duration("m"));
  CHECK_FALSE(parse_duration("99999999999999999999s"));  // overflow is refused, not wrapped
}

TEST_CASE("durations print in their shortest exact form") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(26h) == "1d2h");
  CHECK(format_duration(61s) == "1m1s");
  for (const char* text : {"1h30m", "1m30s", "2d", "45m", "1d1h1m1s"})
    CHECK(format_duration(*parse_duration(text)) == text);
}

TEST_CASE("the nearest name is suggested only when it is a plausible typo") {
  const std::vector<std::string> keys{"depends-on", "description", "tier", "failover", "failback"};
  CHECK(nearest_name("depend-on", keys) == "depends-on");
  CHECK(nearest_name("dependson", keys) == "depends-on");
  CHECK(nearest_name("teir", keys) == "tier");  // a transposition is one edit
  CHECK(nearest_name("failovr", keys) == "failover");
  CHECK(nearest_name("zzzzzz", keys).empty());
  CHECK(nearest_name("x", keys).empty());
  CHECK(edit_distance("abc", "acb") == 1);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("diagnostics print as file:line:col with the suggestion, sorted and deduplicated") {
  Diagnostics d;
  d.error({"b.yaml", 2, 1}, "second");
  d.error({"a.yaml", 9, 5}, "unknown key 'depend-on'", "depends-on");
  d.error({"b.yaml", 2, 1}, "second");
  d.warning({"a.yaml", 1, 1}, "careful");
  d.sort_and_dedupe();
  REQUIRE(d.all().size() == 3);
  CHECK(d.error_count() == 2);
  CHECK(d.all()[0].str() == "a.yaml:1:1: warning: careful");
  CHECK(d.all()[1].str() == "a.yaml:9:5: error: unknown key 'depend-on' (did you mean 'depends-on'?)");
  CHECK(d.all()[2].str() == "b.yaml:2:1: error: second");
}

TEST_CASE("sha256 matches the published test vector") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("templates parse references and the $${ escape, and resolve with secrets flagged") {
  std::string error, suggestion;
  auto t = parse_template("https://${inputs.host}/x/$${not-a-ref}?k=${env.API_KEY}", error, suggestion);
  REQUIRE(t);
  CHECK(t->has_refs());
  CHECK_FALSE(t->is_single_ref());
  auto r = resolve_template(*t, [](const Reference& ref) -> std::optional<std::string> {
    if (ref.kind == Reference::Kind::input) return "gw.example";
    if (ref.kind == Reference::Kind::env) return "k3y";
    return std::nullopt;
  });
  CHECK(r.text == "https://gw.example/x/${not-a-ref}?k=k3y");
  CHECK(r.secret);
  auto unresolved = resolve_template(*t, [](const Reference&) { return std::optional<std::string>{}; });
  CHECK(unresolved.text == "https://${inputs.host}/x/${not-a-ref}?k=${env.API_KEY}");
  CHECK_FALSE(unresolved.secret);

  auto single = parse_template("${file./etc/edgedr/token}", error, suggestion);
  REQUIRE(single);
  CHECK(single->is_single_ref());
  CHECK(single->pieces[0].ref->kind == Reference::Kind::file);
  CHECK(single->pieces[0].ref->name == "/etc/edgedr/token");

  CHECK_FALSE(parse_template("${steps.a.b}", error, suggestion));
  CHECK(error.find("expected ${steps.SERVICE.STEP.OUTPUT}") != std::string::npos);
  CHECK_FALSE(parse_template("${env.1BAD}", error, suggestion));
  CHECK_FALSE(parse_template("${file}", error, suggestion));
  CHECK_FALSE(parse_template("${input.x}", error, suggestion));
  CHECK(suggestion == "inputs");
}

TEST_CASE("values print as compact text") {
  auto v = Value::map({{"a", Value::integer(1)}, {"b", Value::list({Value::string("x"), Value::boolean(true)})}});
  CHECK(v.to_text() == "{a: 1, b: [x, true]}");
  CHECK(v.find("a")->as_int() == 1);
  CHECK(v.find("zz") == nullptr);
}
