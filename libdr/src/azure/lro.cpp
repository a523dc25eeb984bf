// Long-running operations (CONTRACTS.md §0): what to poll after a 201/202, and one poll of it.
#include <nlohmann/json.hpp>

#include "azure/credentials.h"
#include "azure/pipeline_parts.h"

namespace dr::azure {

std::optional<std::string> ArmResponse::header(std::string_view name) const {
  const std::string wanted = detail::lower(name);
  for (const auto& [k, v] : headers) {
    if (detail::lower(k) == wanted) return v;
  }
  return std::nullopt;
}

namespace {

Duration retry_after_or(const HttpHeaders& headers, Duration fallback) {
  // Only the plain seconds form counts here: an LRO's Retry-After is a poll interval.
  const auto d = detail::server_retry_delay(headers, std::chrono::system_clock::now());
  return d && d->count() > 0 ? *d : fallback;
}

}  // namespace

std::optional<Lro> lro_from(const ArmResponse& accepted) {
  if (accepted.status != 201 && accepted.status != 202) return std::nullopt;
  const auto async_operation = accepted.header("Azure-AsyncOperation");
  const auto location = accepted.header("Location");
  Lro lro;
  if (async_operation && !async_operation->empty()) {
    lro.kind = Lro::Kind::async_operation;
    lro.url = *async_operation;
    lro.location = location.value_or("");
  } else if (location && !location->empty()) {
    lro.kind = Lro::Kind::location;
    lro.url = *location;
    lro.location = *location;
  } else {
    return std::nullopt;
  }
  lro.retry_after = retry_after_or(accepted.headers, std::chrono::seconds(30));
  return lro;
}

tl::expected<LroStatus, ArmError> poll_lro(Arm& arm, const Lro& lro, Clock::time_point deadline) {
  ArmRequest request;
  request.path = lro.url;
  request.deadline = deadline;
  auto response = arm.send(request);
  LroStatus status;
  if (!response) {
    // A Location URL reports the operation's failure as an ARM error status.
    if (lro.kind == Lro::Kind::location && response.error().kind == ArmError::Kind::http) {
      status.state = LroStatus::State::failed;
      status.error = response.error().message;
      return status;
    }
    return tl::unexpected(response.error());
  }
  status.body = response->body;
  status.retry_after = retry_after_or(response->headers, lro.retry_after);
  if (lro.kind == Lro::Kind::location) {
    status.state = response->status == 202 ? LroStatus::State::running : LroStatus::State::succeeded;
    return status;
  }
  const auto body = nlohmann::json::parse(response->body, nullptr, false);
  const auto field = body.is_object() ? body.find("status") : body.end();
  if (!body.is_object() || field == body.end() || !field->is_string()) {
    ArmError e;
    e.kind = ArmError::Kind::http;
    e.status = response->status;
    e.request_id = response->request_id;
    e.retryable = true;
    e.message = "GET " + redact_url(lro.url) + ": the operation status has no \"status\" (request id " +
                (response->request_id.empty() ? "none" : response->request_id) + ")";
    return tl::unexpected(e);
  }
  const std::string word = detail::lower(field->get<std::string>());
  if (word == "succeeded") {
    status.state = LroStatus::State::succeeded;
  } else if (word == "failed") {
    status.state = LroStatus::State::failed;
    status.error = arm_error_text(response->body);
    if (status.error.empty()) status.error = "the operation failed without an error";
  } else if (word == "canceled" || word == "cancelled") {
    status.state = LroStatus::State::cancelled;
    status.error = arm_error_text(response->body);
  } else {
    status.state = LroStatus::State::running;  // InProgress, NotStarted, Running, anything new
  }
  return status;
}

}  // namespace dr::azure
