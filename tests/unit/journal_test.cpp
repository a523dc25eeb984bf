#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "dr/journal.h"
#include "dr/sha256.h"
#include "journal/journal_file.h"
#include "test_support.h"

using namespace dr;
using namespace std::chrono_literals;

namespace {

const std::string kRunbookHash = sha256_hex("name: plant\n");

Value fields(std::vector<Value::Entry> entries) {
  return Value::map(std::move(entries));
}
Value str(std::string s) {
  return Value::string(std::move(s));
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::vector<std::string> lines_of(const std::string& data) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto nl = data.find('\n'); nl != std::string::npos; nl = data.find('\n', start)) {
    out.push_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// A finished run of six events, as the engine writes one.
void write_six_events(RunJournal& j, const std::string& runbook = "plant") {
  j.append("run.started",
           fields({{"run_id", str("r1")},
                   {"runbook", str(runbook)},
                   {"operation", str("failover")},
                   {"inputs", fields({{"site", str("hq")}, {"attempts", Value::integer(3)}})}}),
           true);
  j.append(
      "step.intent",
      fields({{"step", str("drain")},
              {"action", str("traffic-manager.disable-endpoint")},
              {"attempt", Value::integer(1)},
              {"undo", fields({{"kind", str("builtin")}, {"captured", fields({{"priority", Value::integer(1)}})}})}}),
      true);
  j.append("step.accepted", fields({{"step", str("drain")}, {"attempt", Value::integer(1)}, {"handle", str("op-17")}}),
           true);
  j.append("step.progress", fields({{"step", str("drain")}, {"attempt", Value::integer(1)}, {"message", str("50%")}}),
           false);
  j.append("step.succeeded",
           fields({{"step", str("drain")},
                   {"attempt", Value::integer(1)},
                   {"outputs", fields({{"ok", Value::boolean(true)}})}}),
           true);
  j.append("run.finished", fields({{"status", str("succeeded")}, {"seconds", Value::number(12.5)}}), true);
}

struct Fixture {
  test::TempDir dir;
  FakeClock clock;
  std::unique_ptr<RunStore> store = make_local_run_store(dir.path().string(), clock);

  std::string six_event_run(const std::string& run_id = "run-1") {
    auto j = store->create(run_id, kRunbookHash);
    write_six_events(*j);
    return store->journal_path(run_id);
  }
  // A copy of `data` as a new run's journal.
  std::string as_run(const std::string& run_id, const std::string& data) {
    std::filesystem::create_directories(store->run_dir(run_id));
    write_all(store->journal_path(run_id), data);
    return store->journal_path(run_id);
  }
};

}  // namespace

TEST_CASE("appended events read back in order, with their fields as written") {
  Fixture f;
  auto j = f.store->create("run-1", kRunbookHash);
  write_six_events(*j);
  REQUIRE(j->events().size() == 6);
  CHECK(j->events()[0].seq == 1);
  CHECK(j->events()[5].seq == 6);
  CHECK(j->events()[0].ts == "2026-01-01T00:00:00.000Z");
  CHECK(j->events()[1].type == "step.intent");

  auto reopened = f.store->open("run-1");
  REQUIRE(reopened->events().size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    const auto& a = j->events()[i];
    const auto& b = reopened->events()[i];
    CHECK(a.seq == b.seq);
    CHECK(a.ts == b.ts);
    CHECK(a.type == b.type);
    CHECK(a.prev == b.prev);
    CHECK(a.hash == b.hash);
    CHECK(a.fields.to_text() == b.fields.to_text());
  }
  const Value& intent = reopened->events()[1].fields;
  CHECK(intent.find("attempt")->kind() == Value::Kind::integer);
  CHECK(intent.find("undo")->find("captured")->find("priority")->as_int() == 1);
  const Value& finished = reopened->events()[5].fields;
  CHECK(finished.find("seconds")->kind() == Value::Kind::number);
  CHECK(finished.find("seconds")->as_number() == 12.5);
  CHECK(reopened->events()[4].fields.find("outputs")->find("ok")->as_bool());
  CHECK(reopened->head_hash() == j->head_hash());
}

TEST_CASE("a line holds seq, ts, type, the fields in their order, then prev, on one line") {
  Fixture f;
  auto path = f.six_event_run();
  const auto lines = lines_of(read_all(path));
  REQUIRE(lines.size() == 6);
  const std::string& first = lines[0];
  CHECK(first.rfind("{\"seq\":1,\"ts\":\"2026-01-01T00:00:00.000Z\",\"type\":\"run.started\",\"run_id\":\"r1\"", 0) ==
        0);
  std::size_t last = 0;
  for (const char* key : {"\"seq\"", "\"ts\"", "\"type\"", "\"run_id\"", "\"runbook\"", "\"operation\"", "\"inputs\"",
                          "\"site\"", "\"attempts\"", "\"prev\""}) {
    const auto pos = first.find(key);
    REQUIRE_MESSAGE(pos != std::string::npos, key);
    CHECK_MESSAGE(pos >= last, key);
    last = pos;
  }
  const std::string tail = "\"prev\":\"" + kRunbookHash + "\"}";
  CHECK(first.substr(first.size() - tail.size()) == tail);
  CHECK(first.find('\n') == std::string::npos);
}

TEST_CASE("each line's prev is the hash of the line before; the first's is the runbook's hash") {
  Fixture f;
  auto j = f.store->create("run-1", kRunbookHash);
  write_six_events(*j);
  const auto lines = lines_of(read_all(f.store->journal_path("run-1")));
  REQUIRE(lines.size() == 6);
  CHECK(j->events()[0].prev == kRunbookHash);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(j->events()[i].hash == sha256_hex(lines[i]));
    if (i > 0) CHECK(j->events()[i].prev == sha256_hex(lines[i - 1]));
  }
  CHECK(j->head_hash() == sha256_hex(lines.back()));

  const auto v = verify_journal(f.store->journal_path("run-1"), kRunbookHash);
  CHECK(v.ok);
  CHECK(v.lines == 6);
  CHECK(v.bad_line == 0);
  CHECK(v.head_hash == j->head_hash());
}

TEST_CASE("fields that are not a map, or that use an envelope key, are refused and nothing is written") {
  Fixture f;
  auto j = f.store->create("run-1", kRunbookHash);
  CHECK_THROWS_AS(j->append("run.started", str("x"), true), std::invalid_argument);
  CHECK_THROWS_AS(j->append("run.started", fields({{"seq", Value::integer(9)}}), true), std::invalid_argument);
  CHECK_THROWS_AS(j->append("run.started", fields({{"prev", str("x")}}), true), std::invalid_argument);
  CHECK_THROWS_AS(j->append("run.started", fields({{"a", str("x")}, {"a", str("y")}}), true), std::invalid_argument);
  CHECK(read_all(f.store->journal_path("run-1")).empty());
  j->append("run.started", fields({}), true);
  CHECK(j->events().size() == 1);
  CHECK(verify_journal(f.store->journal_path("run-1"), kRunbookHash).ok);
}

TEST_CASE("a journal cut at every byte of its last line recovers to the five whole events before it") {
  Fixture f;
  const std::string data = read_all(f.six_event_run());
  const auto last_start = data.rfind('\n', data.size() - 2) + 1;
  const std::string five = data.substr(0, last_start);
  for (std::size_t cut = last_start; cut < data.size(); ++cut) {
    CAPTURE(cut);
    const std::string run_id = "cut-" + std::to_string(cut);
    const auto path = f.as_run(run_id, data.substr(0, cut));
    auto j = f.store->open(run_id);
    REQUIRE(j->events().size() == 5);
    CHECK(read_all(path) == five);  // the torn tail is gone from the file too
    j->append("run.interrupted", fields({}), false);
    CHECK(j->events().back().seq == 6);
    const auto v = verify_journal(path, kRunbookHash);
    CHECK(v.ok);
    CHECK(v.lines == 6);
  }
}

TEST_CASE("garbage appended after the last line is cut back on open") {
  Fixture f;
  const std::string data = read_all(f.six_event_run());
  int n = 0;
  for (std::string garbage : {std::string("garbage"), std::string(4096, '\0'), std::string("{\"seq\":7,\"ts\""),
                              std::string("\xff\xfe\x01junk\n"), std::string("{}\n"), std::string("[1,2,3]\n"),
                              std::string("{\"seq\":7}\n")}) {
    CAPTURE(garbage);
    const std::string run_id = "garbage-" + std::to_string(n++);
    const auto path = f.as_run(run_id, data + garbage);
    auto j = f.store->open(run_id);
    REQUIRE(j->events().size() == 6);
    CHECK(read_all(path) == data);
    j->append("run.started", fields({}), true);
    CHECK(verify_journal(path, kRunbookHash).ok);
  }
}

TEST_CASE("damage before the last line is refused with its line number and the file is left alone") {
  Fixture f;
  const std::string data = read_all(f.six_event_run());
  auto lines = lines_of(data);

  SUBCASE("a byte that breaks the JSON") {
    lines[2][0] = 'X';
  }
  SUBCASE("a byte inside a value, still valid JSON") {
    const auto pos = lines[2].find("drain");
    REQUIRE(pos != std::string::npos);
    lines[2][pos] = 'D';
  }
  const std::string damaged = join_lines(lines);
  f.as_run("damaged", damaged);
  try {
    f.store->open("damaged");
    FAIL("open() accepted a damaged journal");
  } catch (const JournalError& e) {
    const std::string what = e.what();
    CHECK_MESSAGE(what.find("line 3") != std::string::npos, what);
    CHECK_MESSAGE(what.find("refusing to continue") != std::string::npos, what);
  }
  CHECK(read_all(f.store->journal_path("damaged")) == damaged);
}

TEST_CASE("a damaged line followed by a torn one is still refused") {
  Fixture f;
  const std::string data = read_all(f.six_event_run());
  f.as_run("twice", data + "junk\n{\"seq\":8");
  CHECK_THROWS_WITH_AS(f.store->open("twice"), doctest::Contains("line 7 is damaged"), JournalError);
}

TEST_CASE("verify names the exact line of an edit, a deletion, an insertion or a reordering") {
  Fixture f;
  const std::string path = f.six_event_run();
  const auto lines = lines_of(read_all(path));
  auto check_bad_line = [&](std::vector<std::string> changed, int expected_line) {
    const auto copy = f.dir.write("copy.jsonl", join_lines(changed));
    const auto v = verify_journal(copy, kRunbookHash);
    CHECK_FALSE(v.ok);
    CHECK_MESSAGE(v.bad_line == expected_line, v.problem);
    CHECK(v.problem.rfind("line " + std::to_string(expected_line) + ": ", 0) == 0);
    CHECK(v.head_hash == (expected_line > 1 ? sha256_hex(changed[static_cast<std::size_t>(expected_line) - 2]) : ""));
    return v;
  };

  SUBCASE("an edited value") {
    for (std::size_t k = 0; k < 5; ++k) {  // an edit of the last line is only seen against the head hash
      CAPTURE(k);
      auto changed = lines;
      const auto pos = changed[k].find("\"ts\":\"2026");
      REQUIRE(pos != std::string::npos);
      changed[k][pos + 6] = '3';  // 2026 -> 3026
      check_bad_line(changed, static_cast<int>(k + 1));
    }
  }
  SUBCASE("an edited prev") {
    auto changed = lines;
    changed[3].replace(changed[3].size() - 3, 1, changed[3][changed[3].size() - 3] == 'a' ? "b" : "a");
    check_bad_line(changed, 4);
  }
  SUBCASE("a deleted line") {
    for (std::size_t k = 0; k < 5; ++k) {
      CAPTURE(k);
      auto changed = lines;
      changed.erase(changed.begin() + static_cast<long>(k));
      check_bad_line(changed, static_cast<int>(k + 1));
    }
  }
  SUBCASE("an inserted line") {
    auto changed = lines;
    changed.insert(changed.begin() + 3, lines[1]);  // a copy of line 2 as line 4
    check_bad_line(changed, 4);
    changed = lines;
    changed.push_back(lines[2]);  // a copy appended at the end
    check_bad_line(changed, 7);
  }
  SUBCASE("two lines swapped") {
    auto changed = lines;
    std::swap(changed[2], changed[3]);
    check_bad_line(changed, 3);
  }
  SUBCASE("a line that is not JSON") {
    auto changed = lines;
    changed[4] = "not json";
    auto v = check_bad_line(changed, 5);
    CHECK(v.problem.find("not valid JSON") != std::string::npos);
  }
  SUBCASE("a line without prev") {
    auto changed = lines;
    changed[1] = R"({"seq":2,"ts":"2026-01-01T00:00:00.000Z","type":"step.intent"})";
    auto v = check_bad_line(changed, 2);
    CHECK(v.problem.find("missing key \"prev\"") != std::string::npos);
  }
  CHECK(read_all(path) == join_lines(lines));  // verification never repairs
}

TEST_CASE("verify reports a torn last line and leaves it in place") {
  Fixture f;
  const std::string path = f.six_event_run();
  const std::string data = read_all(path);
  const auto lines = lines_of(data);
  write_all(path, data + "{\"seq\":7,");
  const auto v = verify_journal(path, kRunbookHash);
  CHECK_FALSE(v.ok);
  CHECK(v.lines == 7);
  CHECK(v.bad_line == 7);
  CHECK(v.problem == "line 7: torn last line (no newline)");
  CHECK(v.head_hash == sha256_hex(lines[5]));
  CHECK(read_all(path) == data + "{\"seq\":7,");
}

TEST_CASE("the first prev must be the runbook's hash") {
  Fixture f;
  const std::string path = f.six_event_run();
  CHECK(verify_journal(path, kRunbookHash).ok);
  CHECK(verify_journal(path).ok);  // not checked when not given
  const auto v = verify_journal(path, sha256_hex("name: another\n"));
  CHECK_FALSE(v.ok);
  CHECK(v.bad_line == 1);
  CHECK(v.problem.find("runbook") != std::string::npos);
}

TEST_CASE("verify of a missing or empty journal fails") {
  Fixture f;
  CHECK_FALSE(verify_journal(f.dir.file("nope.jsonl")).ok);
  const auto v = verify_journal(f.dir.write("empty.jsonl", ""));
  CHECK_FALSE(v.ok);
  CHECK(v.bad_line == 1);
}

TEST_CASE("after a failed write, every later append throws without writing") {
  Fixture f;
  SUBCASE("a full device") {
    auto j = journal::open_journal_at_path_for_test("/dev/full", kRunbookHash, f.clock);
    CHECK_THROWS_WITH_AS(j->append("run.started", fields({}), true), doctest::Contains("No space left on device"),
                         JournalError);
    CHECK_THROWS_WITH_AS(j->append("run.finished", fields({}), true), doctest::Contains("an earlier write failed"),
                         JournalError);
    CHECK(j->events().empty());
  }
  SUBCASE("a descriptor that cannot be written") {
    auto created = f.store->create("run-1", kRunbookHash);
    auto* j = dynamic_cast<journal::JournalFile*>(created.get());
    REQUIRE(j);
    const auto path = f.store->journal_path("run-1");
    j->append("run.started", fields({}), true);
    const std::string before = read_all(path);

    const int read_only = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const int good = j->swap_fd_for_test(read_only);
    CHECK_THROWS_AS(j->append("step.intent", fields({}), true), JournalError);
    // Even with a working descriptor back, nothing more is written.
    ::close(j->swap_fd_for_test(good));
    CHECK_THROWS_WITH_AS(j->append("step.intent", fields({}), true), doctest::Contains("an earlier write failed"),
                         JournalError);
    CHECK(read_all(path) == before);
    CHECK(j->events().size() == 1);
    CHECK(verify_journal(path, kRunbookHash).ok);
  }
}

TEST_CASE("a run id is never reused and an unknown run cannot be opened") {
  Fixture f;
  f.store->create("run-1", kRunbookHash);
  CHECK_THROWS_AS(f.store->create("run-1", kRunbookHash), JournalError);
  CHECK_THROWS_WITH_AS(f.store->open("run-2"), doctest::Contains("no run 'run-2'"), JournalError);
  CHECK_THROWS_AS(f.store->create("../escape", kRunbookHash), std::invalid_argument);
}

TEST_CASE("a journal that never got its first whole event cannot be opened") {
  Fixture f;
  f.as_run("torn-first", "{\"seq\":1,\"ts");
  CHECK_THROWS_WITH_AS(f.store->open("torn-first"), doctest::Contains("no complete event"), JournalError);
  CHECK(read_all(f.store->journal_path("torn-first")) == "{\"seq\":1,\"ts");
}

TEST_CASE("the run store lists runs with their runbook, operation, start and status") {
  Fixture f;
  {
    auto j = f.store->create("20260101T000000Z-aaaaaa", kRunbookHash);
    write_six_events(*j);
  }
  auto lock_service = make_local_lock_service(f.dir.path().string(), f.clock);
  auto live = f.store->create("20260101T000100Z-bbbbbb", kRunbookHash);
  live->append("run.started", fields({{"runbook", str("plant")}, {"operation", str("failback")}}), true);
  live->append("step.intent", fields({{"step", str("drain")}}), true);
  {
    auto paused = f.store->create("20260101T000200Z-cccccc", kRunbookHash);
    paused->append("run.started", fields({{"runbook", str("yard")}, {"operation", str("failover")}}), true);
    paused->append("run.paused", fields({{"reason", str("step drain failed")}}), true);
  }

  auto runs = f.store->list();
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].run_id == "20260101T000000Z-aaaaaa");
  CHECK(runs[0].runbook == "plant");
  CHECK(runs[0].operation == "failover");
  CHECK(runs[0].started == "2026-01-01T00:00:00.000Z");
  CHECK(runs[0].status == "succeeded");
  CHECK(runs[0].path == f.store->journal_path("20260101T000000Z-aaaaaa"));
  CHECK(runs[1].run_id == "20260101T000100Z-bbbbbb");
  CHECK(runs[1].operation == "failback");
  CHECK(runs[1].status == "crashed");  // no lock held, no end recorded
  CHECK(runs[2].status == "paused");

  {
    LockHolder me{"alice", "plant-gw-01", 0, "20260101T000100Z-bbbbbb", ""};
    auto lock = lock_service->acquire("plant", me, 0ms);
    CHECK(f.store->list()[1].status == "running");
    CHECK(f.store->list()[0].status == "succeeded");  // the lock names another run
  }
  CHECK(f.store->list()[1].status == "crashed");
}

TEST_CASE("the run store lists nothing when it has no runs yet") {
  Fixture f;
  CHECK(f.store->list().empty());
}

TEST_CASE("run ids are the start time to the second and six hex digits") {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 11 / 23} + 9h + 26min + 38s + 123ms;
  const auto id = new_run_id(t);
  REQUIRE(id.size() == 23);
  CHECK(id.substr(0, 17) == "20261123T092638Z-");
  CHECK(id.find_first_not_of("0123456789abcdef", 17) == std::string::npos);
  CHECK(new_run_id(t) != new_run_id(t));  // 1 in 16 million to collide
}

TEST_CASE("the default state directory follows XDG_STATE_HOME, else HOME") {
  const char* old_xdg = std::getenv("XDG_STATE_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string saved_xdg = old_xdg ? old_xdg : "";
  const std::string saved_home = old_home ? old_home : "";
  ::setenv("HOME", "/home/alice", 1);
  ::setenv("XDG_STATE_HOME", "/var/state", 1);
  CHECK(default_state_dir() == "/var/state/edgedr");
  ::setenv("XDG_STATE_HOME", "relative/state", 1);  // ignored, as the XDG spec says
  CHECK(default_state_dir() == "/home/alice/.local/state/edgedr");
  ::unsetenv("XDG_STATE_HOME");
  CHECK(default_state_dir() == "/home/alice/.local/state/edgedr");
  if (old_xdg) ::setenv("XDG_STATE_HOME", saved_xdg.c_str(), 1);
  if (old_home)
    ::setenv("HOME", saved_home.c_str(), 1);
  else
    ::unsetenv("HOME");
}

// --- the run lock ----------------------------------------------------------------------------

TEST_CASE("a second acquire of a held lock fails with the holder's details") {
  test::TempDir dir;
  FakeClock clock;
  auto locks = make_local_lock_service(dir.path().string(), clock);
  LockHolder me{"alice", "plant-gw-01", 0, "20261123T092638Z-3fa9c1", ""};
  auto lock = locks->acquire("plant", me, 0ms);
  CHECK(read_all(dir.file("locks/plant.lock")).find("\"run_id\":\"20261123T092638Z-3fa9c1\"") != std::string::npos);

  for (Duration timeout : {Duration(0), Duration(30s)}) {  // on a FakeClock the 30 s pass at once
    const auto before = clock.now();
    try {
      locks->acquire("plant", LockHolder{"bob", "h2", 0, "other", ""}, timeout);
      FAIL("the lock was taken twice");
    } catch (const LockHeld& e) {
      CHECK(e.holder.pid == static_cast<long>(::getpid()));
      CHECK(e.holder.run_id == "20261123T092638Z-3fa9c1");
      CHECK(e.holder.holder == "alice");
      CHECK(e.holder.since == "2026-01-01T00:00:00.000Z");
      CHECK(e.scope == "plant");
      const std::string what = e.what();
      CHECK(what == "runbook 'plant' is locked by run 20261123T092638Z-3fa9c1 by alice on plant-gw-01 (pid " +
                        std::to_string(::getpid()) +
                        ") since 2026-01-01T00:00:00.000Z; wait for it to finish, or if that process is gone run: "
                        "edgedr unlock plant --force");
    }
    CHECK(clock.now() - before >= timeout);
  }
  // Another scope is independent.
  CHECK(locks->acquire("yard", me, 0ms));

  lock.reset();
  CHECK(read_all(dir.file("locks/plant.lock")).empty());
  CHECK_FALSE(locks->holder("plant"));
  CHECK(locks->acquire("plant", me, 0ms));
}

TEST_CASE("a lock holder prints as run, user, host, pid and start") {
  LockHolder h{"alice", "plant-gw-01", 4242, "20261123T092638Z-3fa9c1", "2026-11-23T09:26:38.000Z"};
  CHECK(h.str() == "run 20261123T092638Z-3fa9c1 by alice on plant-gw-01 (pid 4242) since 2026-11-23T09:26:38.000Z");
  CHECK(LockHolder{}.str().find("another process") != std::string::npos);
}

TEST_CASE("a lock held by a process that dies is free at once, and holder() names the live holder") {
  test::TempDir dir;
  FakeClock clock;
  auto locks = make_local_lock_service(dir.path().string(), clock);
  CHECK_FALSE(locks->holder("plant"));

  int ready[2], go[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(go) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int status = 1;
    try {
      FakeClock child_clock;
      auto child_locks = make_local_lock_service(dir.path().string(), child_clock);
      auto lock = child_locks->acquire("plant", LockHolder{"carol", "edge-2", 0, "child-run", ""}, 0ms);
      char c = 'r';
      if (::write(ready[1], &c, 1) == 1 && ::read(go[0], &c, 1) == 1) status = 0;
      ::_exit(status);  // without unlocking: the kernel drops the flock
    } catch (...) {
      ::_exit(2);
    }
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);

  auto holder = locks->holder("plant");
  REQUIRE(holder);
  CHECK(holder->pid == static_cast<long>(child));
  CHECK(holder->run_id == "child-run");
  CHECK(holder->host == "edge-2");
  CHECK_THROWS_AS(locks->acquire("plant", LockHolder{"alice", "h", 0, "mine", ""}, 0ms), LockHeld);

  c = 'g';
  REQUIRE(::write(go[1], &c, 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  for (int fd : {ready[0], ready[1], go[0], go[1]}) ::close(fd);

  CHECK_FALSE(locks->holder("plant"));  // the file still names the child, but nobody holds it
  auto lock = locks->acquire("plant", LockHolder{"alice", "h", 0, "mine", ""}, 0ms);
  CHECK(locks->holder("plant")->run_id == "mine");
}

TEST_CASE("force unlock removes the lock file and returns who held it") {
  test::TempDir dir;
  FakeClock clock;
  auto locks = make_local_lock_service(dir.path().string(), clock);
  CHECK_FALSE(locks->force_unlock("plant"));  // nothing to remove

  auto stuck = locks->acquire("plant", LockHolder{"alice", "h1", 0, "stuck-run", ""}, 0ms);
  auto removed = locks->force_unlock("plant");
  REQUIRE(removed);
  CHECK(removed->run_id == "stuck-run");
  CHECK_FALSE(std::filesystem::exists(dir.file("locks/plant.lock")));

  auto next = locks->acquire("plant", LockHolder{"bob", "h2", 0, "next-run", ""}, 0ms);
  CHECK(locks->holder("plant")->run_id == "next-run");
  stuck.reset();  // the old holder letting go does not disturb the new one
  CHECK(locks->holder("plant")->run_id == "next-run");
}

TEST_CASE("a lock scope must be a plain file name") {
  test::TempDir dir;
  FakeClock clock;
  auto locks = make_local_lock_service(dir.path().string(), clock);
  CHECK_THROWS_AS(locks->acquire("../x", LockHolder{}, 0ms), std::invalid_argument);
  CHECK_THROWS_AS(locks->holder(""), std::invalid_argument);
}
