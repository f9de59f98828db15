#include "engine/metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/json.h"

namespace weft::engine {

Result<MetricsFile> ReadMetrics(const std::string& path, int64_t default_ms) {
  MetricsFile out;
  if (StatPath(path) == PathKind::kMissing) return out;
  Result<std::string> text = ReadFileCapped(path, size_t{256} << 20);
  if (!text.ok()) return text.status();
  size_t line_no = 0;
  for (size_t start = 0; start < text->size();) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto problem = [&](const std::string& why) {
      if (out.problems.size() < 20) out.problems.push_back(fmt::format("line {}: {}", line_no, why));
    };
    std::string why;
    std::optional<Json> j = Json::Parse(line, &why);
    if (!j || !j->Members()) {
      problem(j || why == "not valid JSON" ? "not a JSON object" : why);
      continue;
    }
    const char* kind = j->Find("param") != nullptr ? "param" : "tag";
    if (const Json* key = j->Find(kind); key != nullptr) {
      const Json* value = j->Find("value");
      if (key->String() == nullptr || key->String()->empty() || value == nullptr) {
        problem("a param or tag needs a name and a `value`");
        continue;
      }
      std::string text = value->String() != nullptr ? *value->String() : value->Dump(-1);
      out.params.push_back({kind, *key->String(), std::move(text)});
      continue;
    }
    const Json* name = j->Find("name");
    const Json* value = j->Find("value");
    double number = 0;
    bool numeric = value != nullptr && value->Number().has_value();
    if (numeric) number = *value->Number();
    if (name == nullptr || name->String() == nullptr || name->String()->empty()) {
      problem("no `name`");
      continue;
    }
    if (!numeric || !std::isfinite(number)) {
      problem(fmt::format("metric `{}` has no numeric `value`", *name->String()));
      continue;
    }
    meta::MetricRecord m{*name->String(), number, -1, default_ms};
    if (const Json* step = j->Find("step"); step != nullptr && step->Int() != nullptr) m.step = *step->Int();
    if (const Json* ts = j->Find("timestamp"); ts != nullptr && ts->Number()) {
      m.timestamp_ms = static_cast<int64_t>(*ts->Number());
    }
    out.metrics.push_back(std::move(m));
  }
  return out;
}

std::string MetricLine(const std::string& name, double value, int64_t step, int64_t timestamp_ms) {
  Json j = Json::MakeObject();
  j.Set("name", name).Set("value", value);
  if (step >= 0) j.Set("step", step);
  j.Set("timestamp", timestamp_ms);
  return j.Dump(-1) + "\n";
}

std::string ParamLine(const std::string& kind, const std::string& name, const std::string& value) {
  return Json::MakeObject().Set(kind, name).Set("value", value).Dump(-1) + "\n";
}

Status AppendLines(const std::string& path, std::string_view lines) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Io(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  ssize_t n = ::write(fd, lines.data(), lines.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(lines.size())) return Status::Io(fmt::format("{}: write failed", path));
  return Status::Ok();
}

}  // namespace weft::engine
