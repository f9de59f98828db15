#include "meta/meta.h"

namespace weft::meta {

std::optional<store::ObjectRef> OutputRecord::Ref() const {
  std::optional<Digest> d = store::ParseHex(digest);
  if (!d) return std::nullopt;
  store::ObjectRef ref;
  ref.digest = *d;
  ref.type = type;
  ref.name = object_name;
  ref.bytes = static_cast<uint64_t>(bytes);
  return ref;
}

}  // namespace weft::meta
