// SHA-256, incremental. OpenSSL does the work behind this adapter (sha256.cc).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace weft {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Ends the hash; the object must not be updated afterwards.
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest Sha256Of(std::string_view bytes);
// HMAC-SHA256 of `data` with `key` (RFC 2104), as webhook receivers check signatures.
Digest HmacSha256(std::string_view key, std::string_view data);
// Lower-case hex of a digest (64 characters).
std::string ToHex(const Digest& d);

}  // namespace weft
