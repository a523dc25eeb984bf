// On-site agents as the architecture sketches their protocol ("The on-site agent"). The real
// protocol (schemas/agent-api.yaml) is a later issue; every agent shape the simulator speaks is in
// this file, and docs/simulator.md lists it.
//   POST /v1/actions/{name}/runs   body {"args":{...}}, Idempotency-Key -> 202 run (a replay: the same run)
//   GET  /v1/runs/{id}             -> 200 run
//   POST /v1/runs/{id}/cancel      -> 202 run (409 when it has finished)
//   GET  /v1/health                -> 200 {"status":"ok"} (503 {"status":"unhealthy"})
//   GET  /v1/checks/{name}         -> 200 {"name","status":"pass"|"fail","output"}
// A run: {"id","action","state":"running|succeeded|failed|cancelled","exit-code","output","started","finished"}.
#include "sim/sim_internal.h"

namespace dr::sim::detail {
namespace {

Reply agent_error(int status, const std::string& code, const std::string& message) {
  return Reply::json_body(status, json{{"error", {{"code", code}, {"message", message}}}});
}

const AgentAction* action_of(const Agent& a, const std::string& name) {
  for (const auto& x : a.actions)
    if (x.name == name) return &x;
  return nullptr;
}

json run_json(const State& s, const Agent& a, const AgentRun& run) {
  const AgentAction* act = action_of(a, run.action);
  const Duration d = act ? act->duration : Duration{};
  const bool finished = !run.cancelled && act && !act->hang && s.now() >= run.started + d;
  json j = {{"id", run.id}, {"action", run.action}, {"started", iso_time(run.started_wall)}};
  if (run.cancelled) {
    j["state"] = "cancelled";
  } else if (!finished) {
    j["state"] = "running";
  } else {
    j["state"] = act->exit_code == 0 ? "succeeded" : "failed";
    j["exit-code"] = act->exit_code;
    j["output"] = act->output;
    j["finished"] = iso_time(run.started_wall + d);
  }
  return j;
}

}  // namespace

Routed route_agent(State& s, const Request& r, Agent& agent, const std::string& subpath) {
  const auto seg = split_path(subpath);
  const auto authorized = [&s, &r, &agent]() -> std::optional<Reply> {
    (void)s;
    const auto auth = r.header("Authorization");
    const bool ok = auth && auth->rfind("Bearer ", 0) == 0 && auth->size() > 7 &&
                    (agent.token.empty() || auth->substr(7) == agent.token);
    if (ok) return std::nullopt;
    auto rep = agent_error(401, "Unauthorized", "A valid bearer token is required.");
    rep.headers.emplace_back("WWW-Authenticate", "Bearer");
    return rep;
  };
  const auto wrap = [authorized](std::string op, std::function<Reply()> f) {
    return Routed{std::move(op), "", "", false, {}, [authorized, f] {
                    if (auto denied = authorized()) return *denied;
                    return f();
                  }};
  };
  if (seg.size() == 2 && seg[0] == "v1" && seg[1] == "health" && r.method == "GET")
    return wrap("agent.health", [&agent] {
      return agent.healthy ? Reply::json_body(200, json{{"status", "ok"}, {"agent", agent.name}})
                           : Reply::json_body(503, json{{"status", "unhealthy"}, {"agent", agent.name}});
    });
  if (seg.size() == 3 && seg[0] == "v1" && seg[1] == "checks" && r.method == "GET") {
    const auto name = seg[2];
    return wrap("agent.check", [&agent, name] {
      for (const auto& c : agent.checks)
        if (c.name == name)
          return Reply::json_body(200, json{{"name", name}, {"status", c.ok ? "pass" : "fail"}, {"output", c.output}});
      return agent_error(404, "UnknownCheck", "The agent has no check '" + name + "'.");
    });
  }
  if (seg.size() == 4 && seg[0] == "v1" && seg[1] == "actions" && seg[3] == "runs" && r.method == "POST") {
    const auto name = seg[2];
    return wrap("agent.run", [&s, &r, &agent, name] {
      if (!agent.healthy) return agent_error(503, "Unavailable", "The agent is not healthy.");
      if (!action_of(agent, name)) return agent_error(404, "UnknownAction", "The agent has no action '" + name + "'.");
      const auto body = parse_json(r.body.empty() ? "{}" : r.body);
      if (!body || !body->is_object())
        return agent_error(400, "BadRequest", "The body must be a JSON object {\"args\":{...}}.");
      const auto key = r.header("Idempotency-Key").value_or("");
      if (!key.empty())
        for (const auto& run : agent.runs)
          if (run.idempotency_key == key) {
            if (run.action != name)
              return agent_error(409, "IdempotencyKeyReused", "The Idempotency-Key was used for another action.");
            return Reply::json_body(202, run_json(s, agent, run));
          }
      AgentRun run{s.guid(), name, key, s.now(), s.wall(), false, body->value("args", json::object()).dump()};
      agent.runs.push_back(run);
      auto rep = Reply::json_body(202, run_json(s, agent, run));
      rep.headers.emplace_back("Location", "/v1/runs/" + run.id);
      return rep;
    });
  }
  if (seg.size() >= 3 && seg[0] == "v1" && seg[1] == "runs") {
    const auto id = seg[2];
    const bool cancel = seg.size() == 4 && seg[3] == "cancel" && r.method == "POST";
    if ((seg.size() == 3 && r.method == "GET") || cancel)
      return wrap(cancel ? "agent.cancel" : "agent.run-status", [&s, &agent, id, cancel] {
        for (auto& run : agent.runs)
          if (run.id == id) {
            if (cancel) {
              if (run_json(s, agent, run)["state"] != "running")
                return agent_error(409, "Finished", "The run has already finished.");
              run.cancelled = true;
              return Reply::json_body(202, run_json(s, agent, run));
            }
            return Reply::json_body(200, run_json(s, agent, run));
          }
        return agent_error(404, "UnknownRun", "The agent has no run '" + id + "'.");
      });
  }
  return Routed{"agent.unknown", "", "", false, {}, [&r] {
                  return agent_error(404, "NotFound", "The agent does not serve '" + r.method + " " + r.path + "'.");
                }};
}

json agent_state(State& s) {
  json a = json::array();
  for (const auto& ag : s.world.agents) {
    json runs = json::array();
    for (const auto& run : ag.runs) {
      auto j = run_json(s, ag, run);
      j["idempotency-key"] = run.idempotency_key;
      j["args"] = json::parse(run.args_json, nullptr, false);
      runs.push_back(j);
    }
    json actions = json::array(), checks = json::array();
    for (const auto& x : ag.actions) actions.push_back(x.name);
    for (const auto& x : ag.checks) checks.push_back({{"name", x.name}, {"ok", x.ok}});
    a.push_back({{"name", ag.name},
                 {"url", ag.url},
                 {"healthy", ag.healthy},
                 {"actions", actions},
                 {"checks", checks},
                 {"runs", runs}});
  }
  return a;
}

}  // namespace dr::sim::detail
