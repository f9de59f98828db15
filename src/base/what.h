// What a message is about ("input `lr` of job `train`"), formatted only when a message is made.
//
// Loading describes every value it reads in case it must complain about it; building those
// descriptions eagerly would cost more than the loading itself. A What holds a pattern and up to
// two arguments by reference (they must outlive it), or an owned string.
#pragma once

#include <string>
#include <string_view>

namespace weft {

class What {
 public:
  What(const char* text) : pattern_(text) {}  // NOLINT: a fixed description
  What(std::string text) : owned_(std::move(text)) {}  // NOLINT: an already built description
  // `pattern` uses `{}` for `a` and then `b`.
  What(const char* pattern, std::string_view a, std::string_view b = {})
      : pattern_(pattern), a_(a), b_(b), args_(true) {}

  std::string str() const;

 private:
  const char* pattern_ = nullptr;
  std::string owned_;
  std::string_view a_, b_;
  bool args_ = false;
};

}  // namespace weft
