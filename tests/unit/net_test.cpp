#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "dr/http.h"
#include "unit/local_http_server.h"
#include "unit/test_support.h"

using namespace dr;
using namespace std::chrono_literals;
using Server = dr::test::LocalHttpServer<>;

namespace {

// A port on 127.0.0.1 that nothing listens on (bound, read, closed).
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

HttpRequest get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  return r;
}

}  // namespace

TEST_CASE("a GET sends its headers and returns status, headers and body") {
  Server s;
  s.server.Get("/health", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 200;
    res.set_header("X-Seen-Trace", req.get_header_value("X-Trace"));
    res.set_header("X-Seen-Agent", req.get_header_value("User-Agent"));
    res.set_content("ok", "text/plain");
  });
  s.start();

  HttpClient client;
  HttpRequest req = get(s.url("/health"));
  req.headers = {{"X-Trace", "abc-123"}};
  auto res = client.send(req);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "ok");
  CHECK_FALSE(res->body_truncated);
  CHECK(res->header("x-seen-trace") == "abc-123");
  CHECK(res->header("CONTENT-TYPE") == "text/plain");
  CHECK(res->header("X-Seen-Agent").value_or("").starts_with("edgedr/"));
  CHECK_FALSE(res->header("X-Missing"));
}

TEST_CASE("a POST sends its body and any status comes back as a response, not an error") {
  Server s;
  s.server.Post("/items", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content("got " + req.body + " as " + req.get_header_value("Content-Type"), "text/plain");
  });
  s.server.Put("/items", [](const httplib::Request&, httplib::Response& res) { res.status = 503; });
  s.start();

  HttpClient client;
  HttpRequest req = get(s.url("/items"));
  req.method = "POST";
  req.body = R"({"a":1})";
  req.headers = {{"Content-Type", "application/json"}};
  auto res = client.send(req);
  REQUIRE(res);
  CHECK(res->status == 201);
  CHECK(res->body == R"(got {"a":1} as application/json)");

  req.method = "put";
  res = client.send(req);
  REQUIRE(res);
  CHECK(res->status == 503);
}

TEST_CASE("consecutive requests on one client reuse the connection") {
  Server s;
  s.server.Get("/port", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.remote_port), "text/plain");
  });
  s.start();
  HttpClient client;
  auto first = client.send(get(s.url("/port")));
  auto second = client.send(get(s.url("/port")));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->body == second->body);
}

TEST_CASE("a server slower than total_timeout gives a retryable timeout error") {
  Server s;
  s.server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1s);
    res.set_content("late", "text/plain");
  });
  s.start();
  HttpClient client;
  HttpRequest req = get(s.url("/slow"));
  req.total_timeout = 100ms;
  const auto started = std::chrono::steady_clock::now();
  auto res = client.send(req);
  REQUIRE_FALSE(res);
  CHECK(res.error().kind == HttpError::Kind::timeout);
  CHECK(res.error().retryable);
  CHECK(std::chrono::steady_clock::now() - started < 900ms);
}

TEST_CASE("a body longer than the cap is cut and flagged") {
  Server s;
  s.server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'x'), "text/plain");
  });
  s.start();
  HttpClient client(HttpClient::Options{.body_cap = 10});
  auto res = client.send(get(s.url("/big")));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == std::string(10, 'x'));
  CHECK(res->body_truncated);
}

TEST_CASE("plain http to a remote host is refused before anything is sent") {
  HttpClient client;
  // 192.0.2.0/24 is TEST-NET-1: nothing answers there, so a sent request would hang until timeout.
  for (const char* url : {"http://192.0.2.1/health", "http://example.com/x?sig=secret-value"}) {
    auto res = client.send(get(url));
    REQUIRE_FALSE(res);
    CHECK(res.error().kind == HttpError::Kind::refused_url);
    CHECK_FALSE(res.error().retryable);
  }
  auto res = client.send(get("http://example.com/x"));
  REQUIRE_FALSE(res);
  CHECK(res.error().message == "plain http:// is only allowed to loopback addresses; use https:// for example.com");

  CHECK_FALSE(check_url("http://127.0.0.1:8080/"));
  CHECK_FALSE(check_url("http://127.9.8.7/"));
  CHECK_FALSE(check_url("http://localhost/"));
  CHECK_FALSE(check_url("http://LOCALHOST:1/"));
  CHECK_FALSE(check_url("http://[::1]:8443/"));
  CHECK_FALSE(check_url("https://example.com/"));
  CHECK(check_url("http://128.0.0.1/"));
  CHECK(check_url("http://localhost.example.com/"));
  CHECK(check_url("http://[::2]/"));
}

TEST_CASE("schemes other than http and https, and relative URLs, are refused") {
  HttpClient client;
  for (const char* url :
       {"ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://localhost/", "example.com/health", ""}) {
    CAPTURE(url);
    auto res = client.send(get(url));
    REQUIRE_FALSE(res);
    CHECK(res.error().kind == HttpError::Kind::refused_url);
    CHECK_FALSE(res.error().retryable);
  }
  CHECK(check_url("ftp://127.0.0.1/file")->message ==
        "unsupported URL scheme 'ftp' in ftp://127.0.0.1/file; use https://");
}

TEST_CASE("a closed port gives a retryable connect error") {
  HttpClient client;
  auto res = client.send(get("http://127.0.0.1:" + std::to_string(closed_port()) + "/"));
  REQUIRE_FALSE(res);
  CHECK(res.error().kind == HttpError::Kind::connect);
  CHECK(res.error().retryable);
  CHECK_FALSE(res.error().message.empty());
}

TEST_CASE("a header value with a line break is refused instead of injecting a header") {
  Server s;
  s.server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  s.start();
  HttpClient client;
  HttpRequest req = get(s.url("/"));
  req.headers = {{"X-Name", "a\r\nX-Injected: 1"}};
  auto res = client.send(req);
  REQUIRE_FALSE(res);
  CHECK(res.error().message == "the value of header 'X-Name' contains a line break or NUL");
  CHECK(res.error().message.find("Injected") == std::string::npos);
}

TEST_CASE("redirects are returned as they are unless following is asked for") {
  Server s;
  const auto target = std::make_shared<std::string>();
  s.server.Get("/old", [target](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", *target);
  });
  s.server.Get("/new", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("auth=" + req.get_header_value("Authorization") + " trace=" + req.get_header_value("X-Trace"),
                    "text/plain");
  });
  s.server.Get("/loop", [](const httplib::Request&, httplib::Response& res) {
    res.status = 307;
    res.set_header("Location", "/loop");
  });
  s.start();
  HttpClient client;
  HttpRequest req = get(s.url("/old"));
  req.headers = {{"Authorization", "Bearer s3cret"}, {"X-Trace", "t1"}};

  *target = "/new";
  auto res = client.send(req);
  REQUIRE(res);
  CHECK(res->status == 302);

  req.follow_redirects = true;
  res = client.send(req);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "auth=Bearer s3cret trace=t1");

  SUBCASE("credentials are not carried to another origin") {
    *target = "http://localhost:" + std::to_string(s.port()) + "/new";
    res = client.send(req);
    REQUIRE(res);
    CHECK(res->body == "auth= trace=t1");
  }
  SUBCASE("each hop is checked like the first URL") {
    *target = "http://192.0.2.1/new";
    res = client.send(req);
    REQUIRE_FALSE(res);
    CHECK(res.error().kind == HttpError::Kind::refused_url);
  }
  SUBCASE("a redirect loop ends") {
    req.url = s.url("/loop");
    res = client.send(req);
    REQUIRE_FALSE(res);
    CHECK(res.error().message.find("more than 5 redirects") == 0);
  }
}

TEST_CASE("TLS is verified: a self-signed server fails unless its certificate is given as ca_file") {
  dr::test::TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                          " -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
                          " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    MESSAGE("skipped: the openssl command is not available");
    return;
  }
  dr::test::LocalHttpServer<httplib::SSLServer> s(cert.c_str(), key.c_str());
  s.server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("secure", "text/plain"); });
  s.start();

  HttpClient client;
  auto res = client.send(get(s.url("/", "https")));
  REQUIRE_FALSE(res);
  CHECK(res.error().kind == HttpError::Kind::tls);
  CHECK_FALSE(res.error().retryable);

  HttpRequest req = get(s.url("/", "https"));
  req.ca_file = cert;
  res = client.send(req);
  REQUIRE(res);
  CHECK(res->body == "secure");
}

TEST_CASE("credential headers are redacted, by exact name or by a telling word in the name") {
  for (const char* name :
       {"Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "x-ms-authorization-auxiliary", "X-Api-Key",
        "x-goog-api-key", "X-Auth-Token", "Client-Secret", "DB_PASSWORD"}) {
    CAPTURE(name);
    CHECK(redact_header(name, "hunter2") == "[redacted]");
  }
  for (const char* name : {"Content-Type", "Accept", "x-ms-client-request-id", "Retry-After"}) {
    CAPTURE(name);
    CHECK(redact_header(name, "value") == "value");
  }
}

TEST_CASE("credential-like query values and userinfo passwords are masked in URLs") {
  CHECK(redact_url("https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=abc%2Bdef&se=2026") ==
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=[redacted]&se=2026");
  CHECK(redact_url("https://f.azurewebsites.net/api/x?code=K3y==&name=a#frag") ==
        "https://f.azurewebsites.net/api/x?code=[redacted]&name=a#frag");
  CHECK(redact_url("https://h/p?access_token=t&API_KEY=k&client_secret=s&password=p&plain=v") ==
        "https://h/p?access_token=[redacted]&API_KEY=[redacted]&client_secret=[redacted]&password=[redacted]&plain=v");
  CHECK(redact_url("https://user:pa55@host:8443/p?q=1") == "https://user:[redacted]@host:8443/p?q=1");
  CHECK(redact_url("https://host/path") == "https://host/path");
  CHECK(redact_url("https://host/path?flag&token") == "https://host/path?flag&token");
  CHECK(redact_url("https://host/p?") == "https://host/p?");
}

TEST_CASE("the simulation route sends every request to the simulator with the original URL in a header") {
  Server server;
  server.server.Get(R"(/.*)", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.path + "?" + req.get_param_value("q") + " from " + req.get_header_value(kSimOriginalUrlHeader),
                    "text/plain");
  });
  server.start();
  set_simulation_route(server.url("/"));
  HttpClient client;
  HttpRequest req;
  req.url = "https://historian.example.invalid:8443/health/check?q=1";
  auto res = client.send(req);
  req.url = "http://remote.example.invalid/plain";  // still refused: the policy sees the original URL
  auto refused = client.send(req);
  set_simulation_route("");
  CHECK(simulation_route().empty());
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "/health/check?1 from https://historian.example.invalid:8443/health/check?q=1");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == HttpError::Kind::refused_url);
}
