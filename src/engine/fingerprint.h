// A step's fingerprint: sha256 over a versioned prefix and labelled, length-prefixed fields.
//
// The fields describe what the step *is*: its command template and port specs, the digest of its
// code snapshot, its environment's identity, its literal inputs as rendered and the content digests
// of its data inputs, its output settings as templates, and the run settings that change results
// (environment variables, distribution, instance count). Never paths, run ids, timestamps, secret
// values or where it runs. The fields are stored so that `weft explain` can say what changed.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace weft::engine {

struct Fingerprint {
  std::vector<std::pair<std::string, std::string>> fields;  // (label, value), in order
  std::string digest;                                       // "sha256:<hex>"

  void Add(std::string label, std::string value) {
    fields.emplace_back(std::move(label), std::move(value));
  }
  // Computes `digest` from the fields.
  void Seal();
};

constexpr const char* kFingerprintFormat = "weft-fingerprint-1";

}  // namespace weft::engine
