// Template implementation of ApplyOptionals (included by expr.h).
#pragma once

namespace weft::spec {

template <typename HasValue>
std::string ApplyOptionals(std::string_view text, const Template& t, HasValue has_value) {
  std::string out;
  size_t pos = 0;
  for (const OptionalSegment& seg : t.optionals) {
    out.append(text.substr(pos, seg.begin - pos));
    bool keep = true;
    for (const Ref& r : t.refs) {
      if (r.begin >= seg.begin && r.end <= seg.end && !has_value(r)) keep = false;
    }
    if (keep) out.append(text.substr(seg.begin + 3, seg.end - seg.begin - 5));
    pos = seg.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace weft::spec
