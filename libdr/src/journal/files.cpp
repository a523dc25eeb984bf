#include "journal/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dr::journal {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::optional<std::string> make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return "empty directory path";
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string part = path.substr(0, pos);
    if (part.empty()) continue;
    if (::mkdir(part.c_str(), mode) == 0) continue;
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(part.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return "cannot create directory " + part + ": " + errno_text(err == EEXIST ? ENOTDIR : err);
  }
  return std::nullopt;
}

std::optional<std::string> fsync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return "cannot open directory " + path + ": " + errno_text(errno);
  std::optional<std::string> error;
  if (::fsync(fd) != 0) error = "cannot fsync directory " + path + ": " + errno_text(errno);
  ::close(fd);
  return error;
}

std::optional<std::string> read_fd(int fd) {
  std::string out;
  char buf[65536];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
}

std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto out = read_fd(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  return out;
}

int write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace dr::journal
