#pragma once
// Blocking POSIX file calls completed in full: they retry EINTR and short transfers, and report
// failures as errno values (no exceptions). Run them where blocking is allowed (the storage
// thread, or a command's own thread).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tributary::io {

/// The system's text for an errno value ("No space left on device").
std::string system_message(int error);

/// Writes all of `data` to `fd`. Returns 0, or the errno of the failed write (what was written
/// before it stays written).
int write_full(int fd, std::string_view data);

/// Reads `n` bytes at `offset` into `out`, fewer only when the file ends first. Returns the number
/// of bytes read, or -errno.
ssize_t pread_full(int fd, char* out, std::size_t n, std::uint64_t offset);

}  // namespace tributary::io
