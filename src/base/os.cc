#include "base/os.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fs.h"

extern char** environ;

namespace weft {
namespace {

class RealOsImpl final : public Os {
 public:
  int64_t NowNs() const override { return weft::NowNs(); }

  std::vector<std::string> Environment() const override {
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) out.emplace_back(*e);
    return out;
  }

  std::optional<std::string> GetEnv(const std::string& name) const override {
    const char* v = std::getenv(name.c_str());
    return v == nullptr ? std::nullopt : std::optional<std::string>(v);
  }

  int64_t Pid() const override { return ::getpid(); }

  // Field 22 of /proc/PID/stat (the start time in clock ticks), empty for a zombie or nothing.
  std::string ProcessStartTime(int64_t pid) const override {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) return {};
    char state = stat[close + 2];
    if (state == 'Z' || state == 'X') return {};
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
      if (i == 22) return field;
    }
    return {};
  }

  std::string BootId() const override {
    static const std::string id = [] {
      std::ifstream in("/proc/sys/kernel/random/boot_id");
      std::string s;
      std::getline(in, s);
      return s;
    }();
    return id;
  }

  Status CopyFile(const std::string& from, const std::string& to) const override {
    return weft::CopyFile(from, to);
  }
};

}  // namespace

const Os& RealOs() {
  static const RealOsImpl os;
  return os;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);  // (EINTR: again)
  }
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

}  // namespace weft
