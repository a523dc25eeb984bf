// The world file (docs/simulator.md): YAML read onto a base world, field by field, so a small file
// can make one endpoint unhealthy or one job slow in a world derived from a runbook.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "dr/sim.h"
#include "yaml/yaml_reader.h"

namespace dr::sim {
namespace {

class Reader : public yaml::YamlReader {
 public:
  using YamlReader::YamlReader;
  template <typename F>
  void list(const YAML::Node& n, const std::string& what, F on_item) {
    if (!n.IsSequence()) {
      error(n, "expected a list of " + what);
      return;
    }
    for (const auto& item : n) on_item(item);
  }

  bool str(const YAML::Node& n, std::string& out) {
    if (!n.IsScalar()) {
      error(n, "expected a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }
  bool integer(const YAML::Node& n, int& out, long lo, long hi) {
    try {
      if (n.IsScalar()) {
        const long v = n.as<long>();
        if (v >= lo && v <= hi) {
          out = static_cast<int>(v);
          return true;
        }
      }
    } catch (const YAML::Exception&) {
    }
    error(n, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    return false;
  }
  bool number(const YAML::Node& n, double& out, double lo, double hi) {
    try {
      if (n.IsScalar()) {
        const double v = n.as<double>();
        if (v >= lo && v <= hi) {
          out = v;
          return true;
        }
      }
    } catch (const YAML::Exception&) {
    }
    std::ostringstream os;
    os << "expected a number from " << lo << " to " << hi;
    error(n, os.str());
    return false;
  }
  bool boolean(const YAML::Node& n, bool& out) {
    try {
      if (n.IsScalar()) {
        out = n.as<bool>();
        return true;
      }
    } catch (const YAML::Exception&) {
    }
    error(n, "expected true or false");
    return false;
  }
  bool duration(const YAML::Node& n, Duration& out) {
    if (n.IsScalar())
      if (auto d = parse_duration(n.Scalar())) {
        out = *d;
        return true;
      }
    error(n, "expected a duration such as 30s, 5m or 1h30m");
    return false;
  }
  bool one_of(const YAML::Node& n, std::string& out, const std::vector<std::string>& allowed) {
    std::string v;
    if (!str(n, v)) return false;
    for (const auto& a : allowed)
      if (a.size() == v.size() && std::equal(a.begin(), a.end(), v.begin(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
          })) {
        out = a;
        return true;
      }
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    error(n, "expected one of: " + list);
    return false;
  }
};

template <typename T>
T& find_or_add(std::vector<T>& v, const std::string& name) {
  for (auto& x : v)
    if (x.name == name) return x;
  v.push_back(T{});
  v.back().name = name;
  return v.back();
}

// A named entry is either a list item with `name:` or a map key; both forms are accepted.
template <typename F>
void named_entries(Reader& r, const YAML::Node& n, const std::string& what, F on_entry) {
  if (n.IsMap()) {
    for (const auto& kv : n) on_entry(kv.first.Scalar(), kv.second);
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!item.IsMap() || !item["name"]) {
        r.error(item, "expected a map with a name for each " + what);
        continue;
      }
      on_entry(item["name"].Scalar(), item);
    }
  } else {
    r.error(n, "expected a list (or a map by name) of " + what);
  }
}

void read_buckets(Reader& r, const YAML::Node& n, Buckets& b) {
  if (n.IsScalar()) {
    bool on = true;
    if (n.Scalar() == "off" || n.Scalar() == "on") {
      b.enabled = n.Scalar() == "on";
    } else if (r.boolean(n, on)) {
      b.enabled = on;
    }
    return;
  }
  const auto bucket = [&](const YAML::Node& m, double& cap, double& refill, const std::string& what) {
    r.each(m, what, {"capacity", "refill"}, [&](const std::string& k, const YAML::Node& v) {
      if (k == "capacity")
        r.number(v, cap, 1, 1e9);
      else
        r.number(v, refill, 0, 1e9);
    });
  };
  r.each(n, "limits", {"enabled", "reads", "writes", "deletes"}, [&](const std::string& k, const YAML::Node& v) {
    if (k == "enabled")
      r.boolean(v, b.enabled);
    else if (k == "reads")
      bucket(v, b.read_capacity, b.read_refill, "limits.reads");
    else if (k == "writes")
      bucket(v, b.write_capacity, b.write_refill, "limits.writes");
    else
      bucket(v, b.delete_capacity, b.delete_refill, "limits.deletes");
  });
}

void read_endpoint(Reader& r, const YAML::Node& n, TmEndpoint& e) {
  r.each(n, "endpoint '" + e.name + "'",
         {"name", "type", "target", "status", "priority", "weight", "location", "healthy"},
         [&](const std::string& k, const YAML::Node& v) {
           int i = 0;
           if (k == "type")
             r.one_of(v, e.type, {"AzureEndpoints", "ExternalEndpoints", "NestedEndpoints"});
           else if (k == "target")
             r.str(v, e.target);
           else if (k == "status")
             r.one_of(v, e.status, {"Enabled", "Disabled"});
           else if (k == "priority" && r.integer(v, i, 1, 1000))
             e.priority = i;
           else if (k == "weight" && r.integer(v, i, 1, 1000))
             e.weight = i;
           else if (k == "location")
             r.str(v, e.location);
           else if (k == "healthy")
             r.boolean(v, e.healthy);
         });
}

void read_profiles(Reader& r, const YAML::Node& n, World& w) {
  r.list(n, "Traffic Manager profiles", [&](const YAML::Node& item) {
    if (!item.IsMap() || !item["profile"]) {
      r.error(item, "expected a map with `profile:` (the profile name)");
      return;
    }
    TmProfile* p = nullptr;
    const auto name = item["profile"].Scalar();
    for (auto& x : w.profiles)
      if (x.name == name) p = &x;
    if (!p) {
      w.profiles.push_back({});
      p = &w.profiles.back();
      p->name = name;
    }
    r.each(item, "profile '" + name + "'",
           {"profile", "subscription", "resource-group", "routing", "status", "ttl", "endpoints"},
           [&](const std::string& k, const YAML::Node& v) {
             if (k == "subscription")
               r.str(v, p->subscription);
             else if (k == "resource-group")
               r.str(v, p->resource_group);
             else if (k == "routing")
               r.one_of(v, p->routing, {"Performance", "Priority", "Weighted", "Geographic", "MultiValue", "Subnet"});
             else if (k == "status")
               r.one_of(v, p->status, {"Enabled", "Disabled"});
             else if (k == "ttl")
               r.integer(v, p->ttl, 0, 2147483647);
             else if (k == "endpoints")
               named_entries(r, v, "endpoint", [&](const std::string& en, const YAML::Node& ev) {
                 read_endpoint(r, ev, find_or_add(p->endpoints, en));
               });
           });
  });
}

const std::vector<std::string> kAsrScenarios = {"failover", "test-failover", "test-failover-cleanup",
                                                "commit",   "cancel",        "reprotect"};

void read_recovery_vaults(Reader& r, const YAML::Node& n, World& w) {
  r.list(n, "Site Recovery vaults", [&](const YAML::Node& item) {
    if (!item.IsMap() || !item["vault"]) {
      r.error(item, "expected a map with `vault:` (the vault name)");
      return;
    }
    const auto name = item["vault"].Scalar();
    AsrVault* vault = nullptr;
    for (auto& x : w.recovery_vaults)
      if (x.name == name) vault = &x;
    if (!vault) {
      w.recovery_vaults.push_back({});
      vault = &w.recovery_vaults.back();
      vault->name = name;
    }
    r.each(item, "vault '" + name + "'",
           {"vault", "subscription", "resource-group", "durations", "fail", "items", "plans"},
           [&](const std::string& k, const YAML::Node& v) {
             if (k == "subscription")
               r.str(v, vault->subscription);
             else if (k == "resource-group")
               r.str(v, vault->resource_group);
             else if (k == "durations") {
               std::set<std::string> known(kAsrScenarios.begin(), kAsrScenarios.end());
               r.each(v, "durations", known, [&](const std::string& s, const YAML::Node& d) {
                 Duration x{};
                 if (r.duration(d, x)) vault->durations[s] = x;
               });
             } else if (k == "fail") {
               r.list(v, "scenarios", [&](const YAML::Node& s) {
                 std::string x;
                 if (r.one_of(s, x, kAsrScenarios)) vault->failing.push_back(x);
               });
             } else if (k == "items") {
               named_entries(r, v, "protected item", [&](const std::string& in, const YAML::Node& iv) {
                 auto& it = find_or_add(vault->items, in);
                 r.each(iv, "protected item '" + in + "'",
                        {"name", "fabric", "container", "friendly-name", "provider", "health", "lag", "location"},
                        [&](const std::string& ik, const YAML::Node& x) {
                          if (ik == "fabric")
                            r.str(x, it.fabric);
                          else if (ik == "container")
                            r.str(x, it.container);
                          else if (ik == "friendly-name")
                            r.str(x, it.friendly_name);
                          else if (ik == "provider")
                            r.str(x, it.provider);
                          else if (ik == "health")
                            r.one_of(x, it.replication_health, {"Normal", "Warning", "Critical"});
                          else if (ik == "lag")
                            r.duration(x, it.lag);
                          else if (ik == "location") {
                            std::string loc;
                            if (r.one_of(x, loc, {"Primary", "Recovery"}) && loc == "Recovery") it.phase = "committed";
                          } else if (ik == "replicating") {
                            // After a failover, commit and reprotect: active at the recovery site,
                            // replicating back (what a failback starts from).
                            std::string dir;
                            if (r.one_of(x, dir, {"primary-to-recovery", "recovery-to-primary"}))
                              it.reversed = dir == "recovery-to-primary";
                          }
                        });
               });
             } else if (k == "plans") {
               named_entries(r, v, "recovery plan", [&](const std::string& pn, const YAML::Node& pv) {
                 auto& plan = find_or_add(vault->plans, pn);
                 r.each(pv, "recovery plan '" + pn + "'", {"name", "items"},
                        [&](const std::string& pk, const YAML::Node& x) {
                          if (pk != "items") return;
                          plan.items.clear();
                          r.list(x, "item names", [&](const YAML::Node& s) {
                            std::string in;
                            if (r.str(s, in)) plan.items.push_back(in);
                          });
                        });
               });
             }
           });
    for (const auto& plan : vault->plans)
      for (const auto& in : plan.items)
        if (std::none_of(vault->items.begin(), vault->items.end(), [&](const AsrItem& i) { return i.name == in; }))
          find_or_add(vault->items, in);
  });
}

void read_backup_vaults(Reader& r, const YAML::Node& n, World& w) {
  r.list(n, "Backup vaults", [&](const YAML::Node& item) {
    if (!item.IsMap() || !item["vault"]) {
      r.error(item, "expected a map with `vault:` (the vault name)");
      return;
    }
    const auto name = item["vault"].Scalar();
    BackupVault* vault = nullptr;
    for (auto& x : w.backup_vaults)
      if (x.name == name) vault = &x;
    if (!vault) {
      w.backup_vaults.push_back({});
      vault = &w.backup_vaults.back();
      vault->name = name;
    }
    r.each(item, "vault '" + name + "'",
           {"vault", "subscription", "resource-group", "backup-duration", "restore-duration", "operation-delay", "fail",
            "items"},
           [&](const std::string& k, const YAML::Node& v) {
             if (k == "subscription")
               r.str(v, vault->subscription);
             else if (k == "resource-group")
               r.str(v, vault->resource_group);
             else if (k == "backup-duration")
               r.duration(v, vault->backup_duration);
             else if (k == "restore-duration")
               r.duration(v, vault->restore_duration);
             else if (k == "operation-delay")
               r.duration(v, vault->operation_delay);
             else if (k == "fail") {
               r.list(v, "operations", [&](const YAML::Node& s) {
                 std::string x;
                 if (r.one_of(s, x, {"backup", "restore"}))
                   (x == "backup" ? vault->fail_backup : vault->fail_restore) = true;
               });
             } else if (k == "items") {
               named_entries(r, v, "backup item", [&](const std::string& in, const YAML::Node& iv) {
                 auto& it = find_or_add(vault->items, in);
                 r.each(iv, "backup item '" + in + "'", {"name", "container", "fabric", "recovery-points"},
                        [&](const std::string& ik, const YAML::Node& x) {
                          if (ik == "container")
                            r.str(x, it.container);
                          else if (ik == "fabric")
                            r.str(x, it.fabric);
                          else if (ik == "recovery-points") {
                            it.recovery_points.clear();
                            r.list(x, "recovery points", [&](const YAML::Node& p) {
                              RecoveryPoint rp;
                              r.each(p, "recovery point", {"id", "time", "type"},
                                     [&](const std::string& pk, const YAML::Node& pv) {
                                       if (pk == "id")
                                         r.str(pv, rp.id);
                                       else if (pk == "type")
                                         r.str(pv, rp.type);
                                       else if (auto t = parse_rfc3339(pv.IsScalar() ? pv.Scalar() : ""))
                                         rp.time = *t;
                                       else
                                         r.error(pv, "expected an RFC 3339 UTC time such as 2026-11-23T08:00:00Z");
                                     });
                              if (rp.id.empty()) r.error(p, "a recovery point needs an `id:`");
                              it.recovery_points.push_back(rp);
                            });
                          }
                        });
               });
             }
           });
  });
}

void read_agents(Reader& r, const YAML::Node& n, World& w) {
  named_entries(r, n, "agent", [&](const std::string& name, const YAML::Node& v) {
    auto& a = find_or_add(w.agents, name);
    r.each(v, "agent '" + name + "'", {"name", "url", "token", "healthy", "actions", "checks"},
           [&](const std::string& k, const YAML::Node& x) {
             if (k == "url")
               r.str(x, a.url);
             else if (k == "token")
               r.str(x, a.token);
             else if (k == "healthy")
               r.boolean(x, a.healthy);
             else if (k == "actions")
               named_entries(r, x, "agent action", [&](const std::string& an, const YAML::Node& av) {
                 auto& act = find_or_add(a.actions, an);
                 if (av.IsNull()) return;
                 r.each(av, "agent action '" + an + "'", {"name", "duration", "exit-code", "output", "hang"},
                        [&](const std::string& ak, const YAML::Node& y) {
                          if (ak == "duration")
                            r.duration(y, act.duration);
                          else if (ak == "exit-code")
                            r.integer(y, act.exit_code, 0, 255);
                          else if (ak == "output")
                            r.str(y, act.output);
                          else if (ak == "hang")
                            r.boolean(y, act.hang);
                        });
               });
             else if (k == "checks")
               named_entries(r, x, "agent check", [&](const std::string& cn, const YAML::Node& cv) {
                 auto& c = find_or_add(a.checks, cn);
                 if (cv.IsNull()) return;
                 r.each(cv, "agent check '" + cn + "'", {"name", "ok", "output"},
                        [&](const std::string& ck, const YAML::Node& y) {
                          if (ck == "ok")
                            r.boolean(y, c.ok);
                          else if (ck == "output")
                            r.str(y, c.output);
                        });
               });
           });
  });
}

void read_probes(Reader& r, const YAML::Node& n, World& w) {
  r.list(n, "probes", [&](const YAML::Node& item) {
    if (!item.IsMap() || !item["url"]) {
      r.error(item, "expected a map with `url:`");
      return;
    }
    const auto url = item["url"].Scalar();
    Probe* p = nullptr;
    for (auto& x : w.probes)
      if (x.url == url) p = &x;
    if (!p) {
      w.probes.push_back({});
      p = &w.probes.back();
      p->url = url;
    }
    r.each(item, "probe '" + url + "'", {"url", "status", "body"}, [&](const std::string& k, const YAML::Node& v) {
      if (k == "status")
        r.integer(v, p->status, 100, 599);
      else if (k == "body")
        r.str(v, p->body);
    });
  });
}

void read_faults(Reader& r, const YAML::Node& n, World& w) {
  r.list(n, "fault rules", [&](const YAML::Node& item) {
    FaultRule f;
    f.name = "fault-" + std::to_string(w.faults.size() + 1);
    r.each(item, "fault rule",
           {"name", "method", "path", "operation", "count", "after", "probability", "effect", "status", "code",
            "message", "retry-after", "delay"},
           [&](const std::string& k, const YAML::Node& v) {
             if (k == "name")
               r.str(v, f.name);
             else if (k == "method")
               r.one_of(v, f.method, {"GET", "PUT", "PATCH", "POST", "DELETE", "HEAD"});
             else if (k == "path") {
               if (r.str(v, f.path_regex)) try {
                   std::regex re(f.path_regex);
                 } catch (const std::regex_error& e) {
                   r.error(v, std::string("expected an ECMAScript regular expression: ") + e.what());
                 }
             } else if (k == "operation")
               r.str(v, f.operation);
             else if (k == "count")
               r.integer(v, f.count, 0, 1000000000);
             else if (k == "after")
               r.integer(v, f.after, 0, 1000000000);
             else if (k == "probability")
               r.number(v, f.probability, 0, 1);
             else if (k == "effect") {
               std::string e;
               if (r.one_of(v, e, {"status", "delay", "reset", "truncate", "invalid-json"}))
                 f.effect = e == "status"     ? FaultRule::Effect::status
                            : e == "delay"    ? FaultRule::Effect::delay
                            : e == "reset"    ? FaultRule::Effect::reset
                            : e == "truncate" ? FaultRule::Effect::truncate
                                              : FaultRule::Effect::invalid_json;
             } else if (k == "status")
               r.integer(v, f.status, 100, 599);
             else if (k == "code")
               r.str(v, f.error_code);
             else if (k == "message")
               r.str(v, f.error_message);
             else if (k == "retry-after") {
               int s = 0;
               if (r.integer(v, s, 0, 86400)) f.retry_after = s;
             } else if (k == "delay")
               r.duration(v, f.delay);
           });
    if (item.IsMap() && item["status"] && !item["effect"]) f.effect = FaultRule::Effect::status;
    if (item.IsMap() && item["delay"] && !item["effect"] && !item["status"]) f.effect = FaultRule::Effect::delay;
    w.faults.push_back(std::move(f));
  });
}

}  // namespace

tl::expected<World, Diagnostics> load_world_text(const std::string& name, std::string_view text, World base) {
  Diagnostics diags;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    diags.error({name, e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
    return tl::unexpected(diags);
  }
  if (root.IsNull()) return base;
  Reader r(name, diags);
  World& w = base;
  r.each(root, "the world",
         {"tenant", "tokens", "token-lifetime", "probe-delay", "seed", "limits", "traffic-manager", "site-recovery",
          "backup", "agents", "probes", "faults"},
         [&](const std::string& k, const YAML::Node& v) {
           if (k == "tenant")
             r.str(v, w.tenant);
           else if (k == "tokens")
             r.list(v, "tokens", [&](const YAML::Node& t) {
               std::string s;
               if (r.str(t, s)) w.tokens.push_back(s);
             });
           else if (k == "token-lifetime")
             r.duration(v, w.token_lifetime);
           else if (k == "probe-delay")
             r.duration(v, w.probe_delay);
           else if (k == "seed") {
             int s = 0;
             if (r.integer(v, s, 0, 2147483647)) w.seed = static_cast<std::uint64_t>(s);
           } else if (k == "limits")
             read_buckets(r, v, w.buckets);
           else if (k == "traffic-manager")
             read_profiles(r, v, w);
           else if (k == "site-recovery")
             read_recovery_vaults(r, v, w);
           else if (k == "backup")
             read_backup_vaults(r, v, w);
           else if (k == "agents")
             read_agents(r, v, w);
           else if (k == "probes")
             read_probes(r, v, w);
           else if (k == "faults")
             read_faults(r, v, w);
         });
  if (diags.has_errors()) return tl::unexpected(diags);
  return base;
}

tl::expected<World, Diagnostics> load_world(const std::string& path, World base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Diagnostics diags;
    diags.error({path, 0, 0}, "cannot read the world file (does it exist, and may edgedr read it?)");
    return tl::unexpected(diags);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_world_text(path, ss.str(), std::move(base));
}

}  // namespace dr::sim
