#include "engine/fingerprint.h"

#include <fmt/format.h>

#include "base/sha256.h"

namespace weft::engine {

void Fingerprint::Seal() {
  // One buffer, hashed once: fingerprints are computed for every step of every run.
  std::string buf = kFingerprintFormat;
  buf.push_back('\0');
  for (const auto& [label, value] : fields) {
    buf += std::to_string(label.size());
    buf += ':';
    buf += label;
    buf += std::to_string(value.size());
    buf += ':';
    buf += value;
  }
  digest = "sha256:" + ToHex(Sha256Of(buf));
}

}  // namespace weft::engine
