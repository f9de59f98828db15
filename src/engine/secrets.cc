#include "engine/secrets.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "base/fs.h"

namespace weft::engine {

Redactor Redactor::ForSecrets(const std::vector<std::string>& names,
                              const std::vector<std::pair<std::string, std::string>>& set) {
  Redactor r;
  for (const std::string& name : names) {
    if (const char* v = std::getenv(name.c_str()); v != nullptr) r.Add(v);
    for (const auto& [k, v] : set) {
      if (k == name) r.Add(v);
    }
  }
  return r;
}

void Redactor::Add(const std::string& value) {
  if (value.size() < kMinLength || std::find(values_.begin(), values_.end(), value) != values_.end()) {
    return;
  }
  values_.push_back(value);
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Apply(std::string text) const {
  for (const std::string& v : values_) {
    for (size_t at = 0; (at = text.find(v, at)) != std::string::npos; at += std::strlen(kMask)) {
      text.replace(at, v.size(), kMask);
    }
  }
  return text;
}

Status Redactor::ApplyToFile(const std::string& path) const {
  if (values_.empty()) return Status::Ok();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Ok();  // no log: nothing to hide
  size_t longest = values_.front().size();
  std::string tmp = path + ".redacting";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Io(fmt::format("{}: cannot write: {}", tmp, std::strerror(errno)));
  // Blocks overlap by the longest secret less one byte, so a value split across two blocks is
  // still found; the overlap is carried into the next block instead of written.
  std::string carry;
  bool changed = false;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::string block = carry + std::string(buf.data(), static_cast<size_t>(in.gcount()));
    std::string masked = Apply(block);
    changed |= masked != block;
    bool last = !in;
    // Keep back a tail that could be the start of a secret, unless this was the end.
    size_t keep = last ? 0 : std::min(masked.size(), longest - 1);
    out.write(masked.data(), static_cast<std::streamsize>(masked.size() - keep));
    carry = masked.substr(masked.size() - keep);
  }
  out.close();
  if (!changed) {
    std::remove(tmp.c_str());
    return Status::Ok();
  }
  if (!out || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Io(fmt::format("{}: cannot rewrite with its secrets masked: {}", path, std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace weft::engine
