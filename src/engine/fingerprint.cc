#include "engine/fingerprint.h"

#include <fmt/format.h>

#include "base/sha256.h"

namespace weft::engine {

void Fingerprint::Seal() {
  Sha256 h;
  h.Update(kFingerprintFormat);
  h.Update(std::string_view("\0", 1));
  for (const auto& [label, value] : fields) {
    h.Update(fmt::format("{}:{}{}:", label.size(), label, value.size()));
    h.Update(value);
  }
  digest = "sha256:" + ToHex(h.Finish());
}

}  // namespace weft::engine
