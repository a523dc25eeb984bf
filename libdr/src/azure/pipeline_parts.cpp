// Retry delays (CONTRACTS.md §6, azure-sdk-for-cpp's RetryPolicy), token buckets and the small
// readings of a request the pipeline needs.
#include "azure/pipeline_parts.h"

#include <cmath>
#include <ctime>
#include <random>

#include "azure/credentials.h"

namespace dr::azure::detail {
namespace {

std::optional<long long> whole_number(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  if (i == text.size()) return std::nullopt;
  long long v = 0;
  for (; i < text.size() && text[i] != ' '; ++i) {
    if (text[i] < '0' || text[i] > '9' || v > 1'000'000'000'000LL) return std::nullopt;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

std::optional<std::string> header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(name)) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Duration> server_retry_delay(const HttpHeaders& headers, Clock::wall_time now) {
  for (const char* name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
    if (const auto v = header(headers, name)) {
      if (const auto ms = whole_number(*v)) return Duration(*ms);
    }
  }
  const auto v = header(headers, "retry-after");
  if (!v) return std::nullopt;
  if (const auto s = whole_number(*v)) return std::chrono::seconds(*s);
  // RFC 9110 also allows an HTTP-date: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  if (const char* end = strptime(v->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm); end && *end == '\0') {
    const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
    const auto wait = std::chrono::duration_cast<Duration>(at - now);
    return wait.count() > 0 ? wait : Duration(0);
  }
  return std::nullopt;
}

Duration backoff_delay(int retry, Duration base, Duration cap) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.3);
  const double ms = static_cast<double>(base.count()) * std::pow(2.0, std::max(0, retry - 1)) * jitter(rng);
  const double capped = std::min(ms, static_cast<double>(cap.count()));
  return Duration(static_cast<Duration::rep>(capped));
}

std::string subscription_of(std::string_view path_or_url) {
  const std::string text = lower(path_or_url);
  constexpr std::string_view marker = "/subscriptions/";
  const auto at = text.find(marker);
  if (at == std::string::npos) return {};
  const auto start = at + marker.size();
  const auto end = text.find_first_of("/?#", start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

OpKind op_kind_of(std::string_view method) {
  const std::string m = lower(method);
  if (m == "get" || m == "head") return OpKind::read;
  if (m == "delete") return OpKind::del;
  return OpKind::write;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

bool clock_wait(Clock& clock, Clock::time_point until, const std::atomic<bool>* cancelled) {
  // Nobody notifies this local condition variable, so a cancel is noticed at the next slice.
  constexpr auto kSlice = std::chrono::milliseconds(200);
  std::mutex mu;
  std::condition_variable cv;
  const auto is_cancelled = [&] { return cancelled && cancelled->load(); };
  for (auto now = clock.now(); now < until; now = clock.now()) {
    if (is_cancelled()) return false;
    std::unique_lock lock(mu);
    clock.wait_until(cancelled ? std::min(until, now + kSlice) : until, cv, lock, is_cancelled);
  }
  return !is_cancelled();
}

RequestBuckets::RequestBuckets(Clock& clock, Limit read, Limit write, Limit del)
    : clock_(clock), limits_{read, write, del} {}

Duration RequestBuckets::reserve(const std::string& subscription, OpKind kind) {
  const auto& limit = limits_[static_cast<int>(kind)];
  if (limit.capacity <= 0 || limit.refill <= 0) return Duration(0);
  std::lock_guard g(mu_);
  const auto now = clock_.now();
  auto [it, fresh] = buckets_.try_emplace({subscription, static_cast<int>(kind)});
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = limit.capacity;
  } else if (now > b.updated) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(limit.capacity, b.tokens + elapsed * limit.refill);
  }
  b.updated = std::max(b.updated, now);
  b.tokens -= 1;
  if (b.tokens >= 0) return Duration(0);
  return Duration(static_cast<Duration::rep>(std::ceil(-b.tokens / limit.refill * 1000.0)));
}

}  // namespace dr::azure::detail
