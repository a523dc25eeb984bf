// A cpp-httplib server on 127.0.0.1 (a free port) in its own thread, for tests of code that
// speaks HTTP. Register handlers on `server` before start().
#pragma once

#include <httplib.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace dr::test {

template <typename ServerT = httplib::Server>
class LocalHttpServer {
 public:
  template <typename... Args>
  explicit LocalHttpServer(Args&&... args) : server(std::forward<Args>(args)...) {}
  ~LocalHttpServer() {
    server.stop();
    if (thread_.joinable()) thread_.join();
  }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  void start() {
    port_ = server.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a port on 127.0.0.1");
    thread_ = std::thread([this] { server.listen_after_bind(); });
    // stop() before the loop runs would be lost and the join would hang.
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  int port() const { return port_; }
  std::string url(const std::string& path, const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }

  ServerT server;

 private:
  int port_ = 0;
  std::thread thread_;
};

}  // namespace dr::test
