// What weft asks of the operating system beyond plain file I/O: the clock, the environment
// variables, which processes are alive, and the copies that fill a disk. Passed explicitly to the
// engine and the store, so that tests can use a fake clock, a fake process table and a disk that
// fills up, without anything in production code reading a fault variable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace weft {

class Os {
 public:
  virtual ~Os() = default;

  // Nanoseconds since 1970 (the system clock: comparable with file mtimes).
  virtual int64_t NowNs() const = 0;

  // The environment weft was started with ("NAME=value"), and one variable of it.
  virtual std::vector<std::string> Environment() const = 0;
  virtual std::optional<std::string> GetEnv(const std::string& name) const = 0;

  // This process, and whether another one is the very process recorded: alive (not a zombie),
  // with the start time recorded (a reused pid has another), on this boot of this machine.
  virtual int64_t Pid() const = 0;
  virtual std::string ProcessStartTime(int64_t pid) const = 0;  // empty when it has ended
  virtual std::string BootId() const = 0;

  // Copies a regular file's bytes and executable bit to a new file, then fsyncs it; on failure
  // nothing is left at `to`. (The store's copies go through here.)
  virtual Status CopyFile(const std::string& from, const std::string& to) const = 0;
};

// The real operating system.
const Os& RealOs();

// `bytes` bytes from the kernel's cryptographic random source (getrandom), as lowercase hex.
std::string RandomHex(size_t bytes);

}  // namespace weft
