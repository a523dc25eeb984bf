// The few POSIX file operations the journal and the lock need, with errors as text.
#pragma once

#include <optional>
#include <string>

namespace dr::journal {

// "No space left on device" for errno.
std::string errno_text(int err);

// mkdir -p with `mode` for the directories it creates. Returns an error text, or nullopt.
std::optional<std::string> make_dirs(const std::string& path, unsigned mode);

// fsync of a directory, so a file created in it survives a power cut. Returns an error text.
std::optional<std::string> fsync_dir(const std::string& path);

// The whole content of an open file from offset 0. Returns nullopt and sets errno on error.
std::optional<std::string> read_fd(int fd);

// The whole content of a file, or nullopt (errno set) when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

// Writes all of `data` with write(2), looping on partial writes and EINTR. Returns 0 or errno.
int write_all(int fd, const char* data, std::size_t size);

}  // namespace dr::journal
