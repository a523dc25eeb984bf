// Journal lines as JSON: dr::Value <-> nlohmann::ordered_json, and one event <-> one line.
// Internal to the journal module; nothing outside libdr/src/journal sees nlohmann.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dr/journal.h"

namespace dr::journal {

using ordered_json = nlohmann::ordered_json;

// Maps keep their keys in the order written; lists, integers, numbers, booleans, null and strings
// map one to one.
ordered_json value_to_json(const Value& v);
// The reverse. Throws std::runtime_error for nesting deeper than a journal ever writes.
Value json_to_value(const ordered_json& j);

// One line, without its newline: {"seq", "ts", "type", the fields in order, "prev"}. Throws
// std::invalid_argument when `fields` is not a map or uses one of the envelope's keys.
std::string serialize_event(std::int64_t seq, const std::string& ts, const std::string& type, const Value& fields,
                            const std::string& prev);

// A line read back: the event (with `hash` = SHA-256 of the line), or why it is not one.
struct ParsedLine {
  std::optional<JournalEvent> event;
  std::string problem;  // "not valid JSON (byte 17)", "missing key \"prev\"", ...
};
ParsedLine parse_event_line(std::string_view line);

}  // namespace dr::journal
