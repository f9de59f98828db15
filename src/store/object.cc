#include "store/object.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "base/interrupt.h"

namespace weft::store {
namespace {

const char* ModeOf(EntryKind k) {
  switch (k) {
    case EntryKind::kFile:
      return "100644";
    case EntryKind::kExecutable:
      return "100755";
    case EntryKind::kLink:
      return "120000";
    case EntryKind::kFolder:
      return "040000";
  }
  return "100644";
}

}  // namespace

Digest FileDigest(std::string_view bytes, bool executable) {
  Sha256 h;
  h.Update(fmt::format("file {} {}", executable ? "x" : "-", bytes.size()));
  h.Update(std::string_view("\0", 1));
  h.Update(bytes);
  return h.Finish();
}

Digest LinkDigest(std::string_view target) {
  Sha256 h;
  h.Update(fmt::format("link {}", target.size()));
  h.Update(std::string_view("\0", 1));
  h.Update(target);
  return h.Finish();
}

Digest TreeDigest(std::vector<TreeEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
  Sha256 h;
  h.Update(fmt::format("tree {}", entries.size()));
  h.Update(std::string_view("\0", 1));
  for (const TreeEntry& e : entries) {
    h.Update(fmt::format("{} {}:", ModeOf(e.kind), e.name.size()));
    h.Update(e.name);
    h.Update(std::string_view(reinterpret_cast<const char*>(e.digest.data()), e.digest.size()));
  }
  return h.Finish();
}

Result<Digest> HashFile(const std::string& path, bool executable) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  off_t size = ::lseek(fd, 0, SEEK_END);
  ::lseek(fd, 0, SEEK_SET);
  Sha256 h;
  h.Update(fmt::format("file {} {}", executable ? "x" : "-", size));
  h.Update(std::string_view("\0", 1));
  std::unique_ptr<char[]> buf(new char[1 << 20]);  // not zeroed: read() fills it
  off_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.get(), 1 << 20);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::Io(fmt::format("{}: read failed: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    if (Interrupted()) {
      ::close(fd);
      return InterruptedStatus(("while hashing " + path).c_str());
    }
    total += n;
    h.Update(std::string_view(buf.get(), static_cast<size_t>(n)));
  }
  ::close(fd);
  if (total != size) return Status::Io(fmt::format("{}: changed while it was read", path));
  return h.Finish();
}

bool LinkStaysInside(std::string_view rel_path, std::string_view target) {
  if (target.empty() || target[0] == '/') return false;
  // Depth of the link's folder below the root, then walk the target's components.
  int depth = static_cast<int>(std::count(rel_path.begin(), rel_path.end(), '/'));
  size_t start = 0;
  while (start <= target.size()) {
    size_t slash = target.find('/', start);
    if (slash == std::string_view::npos) slash = target.size();
    std::string_view part = target.substr(start, slash - start);
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    start = slash + 1;
  }
  return true;
}

std::optional<Digest> ParseHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Digest d{};
  for (size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[2 * i]);
    int lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return d;
}

}  // namespace weft::store
