// A streaming JSON writer for the plan document, byte for byte what nlohmann's dump(2) prints.
//
// Building the plan as an nlohmann tree and dumping it cost more than loading the runbook: a
// 10,000-service plan is some 40,000 nodes of a dozen fields, each an allocation, then a 16 MB
// string. The writer appends straight to the output instead. Anything it does not format itself
// (a string that needs escaping, a fraction) goes through nlohmann, so the bytes and the error
// on invalid UTF-8 stay exactly nlohmann's.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace dr::plan_json {

class JsonWriter {
 public:
  // Appends to `out`; with a `sink`, hands what it has to the sink every 64 KiB or so, so a large
  // document never sits in memory whole.
  explicit JsonWriter(std::string& out, std::ostream* sink = nullptr) : out_(out), sink_(sink) {}
  ~JsonWriter() { flush(); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void flush();

  // Containers. A key comes before each value of an object, never before one of an array.
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k);

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(std::int64_t i);
  void value(int i) { value(static_cast<std::int64_t>(i)); }
  void value(std::size_t n);
  void value(double d);
  void value(bool b);
  void null();

 private:
  struct Level {
    bool empty = true;  // nothing written inside yet
  };
  void open(char opening);
  void close(char closing);
  void before_value();  // the separator and indentation a value needs where it stands
  void newline_indent(std::size_t depth);
  void string(std::string_view s);

  std::string& out_;
  std::ostream* sink_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

}  // namespace dr::plan_json
