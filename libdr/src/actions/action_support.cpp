#include "actions/action_support.h"

#include <stdexcept>

namespace dr::actions {

Clock& clock_of(const StepCall& call) {
  if (!call.clock) throw std::logic_error("action '" + call.action + "' called without a clock");
  return *call.clock;
}

std::optional<Duration> time_left(const StepCall& call) {
  // A default-constructed deadline means the caller set none.
  if (call.deadline == Clock::time_point{} || call.deadline == Clock::time_point::max()) return std::nullopt;
  return std::chrono::ceil<Duration>(call.deadline - clock_of(call).now());
}

bool deadline_passed(const StepCall& call) {
  const auto left = time_left(call);
  return left && *left <= Duration::zero();
}

Duration poll_delay(const StepCall& call, Duration wanted) {
  if (const auto left = time_left(call); left && *left < wanted) wanted = *left;
  return std::max(wanted, Duration(1));
}

std::string step_id(const StepCall& call) {
  return call.step ? call.step->id : std::string();
}

DurationParam duration_param(const StepCall& call, std::string_view name) {
  const std::string text = call.param_text(name);
  if (text.empty()) return {};
  if (auto d = parse_duration(text)) return {d, {}};
  return {std::nullopt, std::string(name) + " must be a duration like 90s or 15m, not '" + text + "'"};
}

std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(in[i]); };
  const auto cont = [&](std::size_t i) { return i < in.size() && (byte(i) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < in.size();) {
    const unsigned char c = byte(i);
    std::size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = cont(i + 1) ? 2 : 0;
    } else if (c >= 0xE0 && c <= 0xEF) {
      // No overlong forms (E0 80..9F) and no UTF-16 surrogates (ED A0..BF).
      const bool ok =
          cont(i + 1) && cont(i + 2) && !(c == 0xE0 && byte(i + 1) < 0xA0) && !(c == 0xED && byte(i + 1) > 0x9F);
      len = ok ? 3 : 0;
    } else if (c >= 0xF0 && c <= 0xF4) {
      // No overlong forms (F0 80..8F) and nothing past U+10FFFF (F4 90..).
      const bool ok = cont(i + 1) && cont(i + 2) && cont(i + 3) && !(c == 0xF0 && byte(i + 1) < 0x90) &&
                      !(c == 0xF4 && byte(i + 1) > 0x8F);
      len = ok ? 4 : 0;
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(in.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace dr::actions
