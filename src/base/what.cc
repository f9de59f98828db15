#include "base/what.h"

#include <fmt/format.h>

namespace weft {

std::string What::str() const {
  if (pattern_ == nullptr) return owned_;
  if (!args_) return pattern_;
  return fmt::format(fmt::runtime(pattern_), a_, b_);
}

}  // namespace weft
