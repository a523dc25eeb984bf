// The ARM pipeline's parts that tests and the pipeline share: retry delays, the client-side token
// buckets, the subscription a request counts against. Internal to azure.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "dr/azure.h"

namespace dr::azure::detail {

// The server's wait: retry-after-ms, x-ms-retry-after-ms (milliseconds), else Retry-After in
// seconds or as an HTTP-date (relative to `now`). nullopt when none is given or readable.
std::optional<Duration> server_retry_delay(const HttpHeaders& headers, Clock::wall_time now);

// min(base * 2^(retry-1) * jitter, cap), jitter uniform in [0.8, 1.3]; retry counts from 1.
Duration backoff_delay(int retry, Duration base, Duration cap);

// "0000-..." from ".../subscriptions/{id}/...", lower-cased; "" when the path names none.
std::string subscription_of(std::string_view path_or_url);

OpKind op_kind_of(std::string_view method);

// "Too Many Requests" for 429; "" for codes it does not know.
const char* reason_phrase(int status);

// Waits on `clock` until `until`, in slices so that `cancelled` is seen; false when cancelled.
bool clock_wait(Clock& clock, Clock::time_point until, const std::atomic<bool>* cancelled);

// Token buckets per (subscription, kind): a request takes one token, waiting for the refill when
// the bucket is empty, so a large runbook paces itself below ARM's limits instead of meeting 429s.
class RequestBuckets {
 public:
  struct Limit {
    double capacity = 0, refill = 0;  // refill per second; either <= 0: no limit
  };
  RequestBuckets(Clock& clock, Limit read, Limit write, Limit del);
  // How long the caller must wait before its token is available (zero: take it now). The token
  // is reserved, so concurrent callers queue up behind one another instead of stampeding.
  Duration reserve(const std::string& subscription, OpKind kind);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated{};
  };
  Clock& clock_;
  Limit limits_[3];
  std::mutex mu_;
  std::map<std::pair<std::string, int>, Bucket> buckets_;
};

}  // namespace dr::azure::detail
