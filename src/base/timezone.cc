#include "base/timezone.h"

#include <unicode/basictz.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <fmt/format.h>

namespace weft {

struct TimeZone::Impl {
  std::unique_ptr<icu::BasicTimeZone> zone;
};

TimeZone::TimeZone(std::string id, std::shared_ptr<const Impl> impl)
    : id_(std::move(id)), impl_(std::move(impl)) {}

namespace {

std::string Utf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

// The tz-database zone of a known name, or "" (ICU answers unknown names with its "Etc/Unknown").
std::string CanonicalId(const std::string& name) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString windows_id;
  icu::TimeZone::getIDForWindowsID(icu::UnicodeString::fromUTF8(name), nullptr, windows_id, status);
  if (U_SUCCESS(status) && !windows_id.isEmpty()) return Utf8(windows_id);
  status = U_ZERO_ERROR;
  icu::UnicodeString canonical;
  UBool system = false;
  icu::TimeZone::getCanonicalID(icu::UnicodeString::fromUTF8(name), canonical, system, status);
  if (U_SUCCESS(status) && system) return name;
  return {};
}

}  // namespace

Result<TimeZone> TimeZone::Find(const std::string& name) {
  std::string id = name == "UTC" ? std::string("Etc/UTC") : CanonicalId(name);
  if (id.empty()) {
    return Status::NotFound(fmt::format(
        "`{}` is not a time zone: give a Windows time-zone name (\"Pacific Standard Time\", "
        "\"W. Europe Standard Time\", \"UTC\") or a tz-database one (\"Europe/Berlin\")",
        name));
  }
  std::unique_ptr<icu::TimeZone> zone(
      icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(id)));
  auto* basic = dynamic_cast<icu::BasicTimeZone*>(zone.get());
  if (basic == nullptr) return Status::Internal(fmt::format("ICU has no rules for `{}`", id));
  zone.release();
  auto impl = std::make_shared<Impl>();
  impl->zone.reset(basic);
  return TimeZone(id, std::move(impl));
}

TimeZone TimeZone::Utc() {
  Result<TimeZone> utc = Find("UTC");
  return std::move(utc).value();
}

int64_t TimeZone::ToUtc(int64_t local) const {
  UErrorCode status = U_ZERO_ERROR;
  int32_t raw = 0;
  int32_t dst = 0;
  impl_->zone->getOffsetFromLocal(static_cast<UDate>(local) * 1000.0, UCAL_TZ_LOCAL_FORMER,
                                  UCAL_TZ_LOCAL_FORMER, raw, dst, status);
  if (U_FAILURE(status)) return local;
  return local - (static_cast<int64_t>(raw) + dst) / 1000;
}

int64_t TimeZone::ToLocal(int64_t utc) const {
  UErrorCode status = U_ZERO_ERROR;
  int32_t raw = 0;
  int32_t dst = 0;
  impl_->zone->getOffset(static_cast<UDate>(utc) * 1000.0, false, raw, dst, status);
  if (U_FAILURE(status)) return utc;
  return utc + (static_cast<int64_t>(raw) + dst) / 1000;
}

}  // namespace weft
