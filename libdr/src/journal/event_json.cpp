#include "journal/event_json.h"

#include <stdexcept>

#include "dr/sha256.h"
#include "dr/value_json.h"

namespace dr::journal {

namespace {

// Far deeper than any event (a few levels of outputs), shallow enough that a hostile line cannot
// exhaust the stack of the recursive conversion.
constexpr int kMaxDepth = 128;

constexpr std::string_view kEnvelope[] = {"seq", "ts", "type", "prev"};

bool is_envelope_key(std::string_view key) {
  for (auto k : kEnvelope)
    if (k == key) return true;
  return false;
}

Value to_value(const ordered_json& j, int depth) {
  if (depth > kMaxDepth) throw std::runtime_error("nested too deeply");
  switch (j.type()) {
    case ordered_json::value_t::null: return Value::null();
    case ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case ordered_json::value_t::number_integer: return Value::integer(j.get<std::int64_t>());
    case ordered_json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
      return Value::integer(static_cast<std::int64_t>(u));
    }
    case ordered_json::value_t::number_float: return Value::number(j.get<double>());
    case ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(to_value(item, depth + 1));
      return Value::list(std::move(items));
    }
    case ordered_json::value_t::object: {
      std::vector<Value::Entry> entries;
      entries.reserve(j.size());
      for (const auto& [key, item] : j.items()) entries.emplace_back(key, to_value(item, depth + 1));
      return Value::map(std::move(entries));
    }
    case ordered_json::value_t::binary:
    case ordered_json::value_t::discarded: break;
  }
  throw std::runtime_error("unsupported JSON value");
}

}  // namespace

ordered_json value_to_json(const Value& v) {
  return value_as_json<ordered_json>(v);
}

Value json_to_value(const ordered_json& j) {
  return to_value(j, 0);
}

std::string serialize_event(std::int64_t seq, const std::string& ts, const std::string& type, const Value& fields,
                            const std::string& prev) {
  if (!fields.is_map()) throw std::invalid_argument("journal event '" + type + "': fields must be a map");
  ordered_json line = ordered_json::object();
  line["seq"] = seq;
  line["ts"] = ts;
  line["type"] = type;
  for (const auto& [key, item] : fields.entries()) {
    if (is_envelope_key(key))
      throw std::invalid_argument("journal event '" + type + "': the field name '" + key + "' is reserved");
    if (line.contains(key))
      throw std::invalid_argument("journal event '" + type + "': the field '" + key + "' is given twice");
    line[key] = value_to_json(item);
  }
  line["prev"] = prev;
  // Invalid UTF-8 (say, a remote error message) is replaced rather than thrown: the journal must
  // record the event, and the hash covers exactly the bytes written.
  return line.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ParsedLine parse_event_line(std::string_view line) {
  ParsedLine out;
  ordered_json j;
  try {
    j = ordered_json::parse(line.begin(), line.end());
  } catch (const ordered_json::parse_error& e) {
    out.problem = "not valid JSON (byte " + std::to_string(e.byte) + ")";
    return out;
  }
  if (!j.is_object()) {
    out.problem = "not a JSON object";
    return out;
  }
  for (auto key : kEnvelope) {
    if (!j.contains(key)) {
      out.problem = "missing key \"" + std::string(key) + "\"";
      return out;
    }
  }
  if (!j["seq"].is_number_integer() || j["seq"].get<std::int64_t>() < 1) {
    out.problem = "\"seq\" is not a positive integer";
    return out;
  }
  for (const char* key : {"ts", "type", "prev"}) {
    if (!j[key].is_string()) {
      out.problem = "\"" + std::string(key) + "\" is not a string";
      return out;
    }
  }
  JournalEvent e;
  e.seq = j["seq"].get<std::int64_t>();
  e.ts = j["ts"].get<std::string>();
  e.type = j["type"].get<std::string>();
  e.prev = j["prev"].get<std::string>();
  std::vector<Value::Entry> fields;
  try {
    for (const auto& [key, item] : j.items())
      if (!is_envelope_key(key)) fields.emplace_back(key, json_to_value(item));
  } catch (const std::runtime_error& err) {
    out.problem = err.what();
    return out;
  }
  e.fields = Value::map(std::move(fields));
  e.hash = sha256_hex(line);
  out.event = std::move(e);
  return out;
}

}  // namespace dr::journal
