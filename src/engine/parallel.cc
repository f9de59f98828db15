#include "engine/parallel.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/json.h"
#include "store/object.h"

namespace weft::engine {
namespace {

// The first 8 bytes of sha256(salt, name): which names end a run, at each level of cutting.
uint64_t NameHash(const std::string& name, int level) {
  Digest d = Sha256Of(fmt::format("weft-cut-{}\n{}", level, name));
  uint64_t h = 0;
  for (int k = 0; k < 8; ++k) h = (h << 8) | d[static_cast<size_t>(k)];
  return h;
}

// Cuts names[begin, end) into runs: after a name whose hash at `level` is a multiple of
// max_items / 2, once the run has at least max_items / 2 names (so that runs average about 60% of
// max_items, not 40%); a run still longer than max_items is cut again at the next level (a fresh
// hash), and, past a few levels, into equal parts.
void Cut(const std::vector<std::string>& names, size_t begin, size_t end, size_t max_items, int level,
         std::vector<size_t>& out) {
  if (end - begin <= max_items) {
    if (end > begin) out.push_back(end - begin);
    return;
  }
  if (level >= 6) {
    size_t parts = (end - begin + max_items - 1) / max_items;
    for (size_t p = 0; p < parts; ++p) {
      out.push_back((end - begin) * (p + 1) / parts - (end - begin) * p / parts);
    }
    return;
  }
  uint64_t every = std::max<size_t>(1, max_items / 2);
  size_t least = std::max<size_t>(1, (max_items + 1) / 2);
  size_t start = begin;
  for (size_t k = begin; k < end; ++k) {
    if ((k + 1 - start >= least && NameHash(names[k], level) % every == 0) || k + 1 == end) {
      Cut(names, start, k + 1, max_items, level + 1, out);
      start = k + 1;
    }
  }
}

// `--NAME VALUE` or `--NAME=VALUE` among whitespace-separated arguments.
std::vector<std::pair<std::string, std::string>> Flags(const std::string& text) {
  std::vector<std::string> words;
  size_t at = 0;
  while (at < text.size()) {
    size_t start = text.find_first_not_of(" \t\n", at);
    if (start == std::string::npos) break;
    size_t end = text.find_first_of(" \t\n", start);
    words.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    at = end == std::string::npos ? text.size() : end;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t k = 0; k < words.size(); ++k) {
    if (words[k].rfind("--", 0) != 0) continue;
    size_t eq = words[k].find('=');
    if (eq != std::string::npos) {
      out.emplace_back(words[k].substr(2, eq - 2), words[k].substr(eq + 1));
    } else {
      out.emplace_back(words[k].substr(2), k + 1 < words.size() ? words[k + 1] : "");
    }
  }
  return out;
}

std::optional<int64_t> Count(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) {
    return std::nullopt;
  }
  return std::stoll(s);
}

}  // namespace

std::string ParallelSettings::Describe() const {
  std::string keys;
  for (const std::string& k : partition_keys) keys += k + ",";
  return fmt::format("input={} entry_script={} mini_batch_size={} bytes={} partition_keys={} "
                     "mini_batch_error_threshold={} "
                     "error_threshold={} allowed_failed_percent={} max_retries={} timeout={} "
                     "append_row_to={} runtime={}",
                     input, entry_script, mini_batch_size, mini_batch_bytes, keys,
                     mini_batch_error_threshold,
                     error_threshold, allowed_failed_percent, max_retries, timeout_s, append_to,
                     runtime);
}

Result<ParallelSettings> ReadParallelSettings(const spec::ParallelComponent& pc,
                                              const spec::Node& node, int64_t per_instance) {
  ParallelSettings s;
  auto located = [&](const SourceLoc& at, const std::string& what) {
    std::string where = at.file ? fmt::format("{}:{}:{}: ", *at.file, at.line, at.col) : "";
    return Status::Invalid(fmt::format("{}step {}: {}", where, node.name, what));
  };
  s.input = pc.input_data.tmpl.refs.empty() ? "" : pc.input_data.tmpl.refs[0].port;
  s.entry_script = pc.task.entry_script;
  s.partition_keys = pc.partition_keys;
  if (!pc.mini_batch_size.empty()) {
    if (std::optional<int64_t> n = Count(pc.mini_batch_size)) {
      if (*n < 1) return located(pc.loc, "`mini_batch_size` is at least 1");
      s.mini_batch_size = *n;
      s.mini_batch_bytes = *n;
    } else {  // "10kb", "1.5 mb": the loader checked the form
      std::string text = pc.mini_batch_size;
      double number = std::strtod(text.c_str(), nullptr);
      char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back() == 'b' || text.back() == 'B'
                                                                                ? text[text.size() - 2]
                                                                                : text.back())));
      double scale = unit == 'k' ? 1024.0 : unit == 'm' ? 1024.0 * 1024 : unit == 'g' ? 1024.0 * 1024 * 1024 : 1;
      s.mini_batch_bytes = std::max<int64_t>(1, static_cast<int64_t>(number * scale));
      s.size_given = true;
    }
  }
  s.mini_batch_error_threshold = pc.mini_batch_error_threshold.value_or(-1);
  s.error_threshold = pc.error_threshold.value_or(-1);
  s.max_retries = pc.max_retries.value_or(2);
  s.timeout_s = pc.retry_timeout.value_or(60);
  if (!pc.logging_level.empty()) s.logging_level = pc.logging_level;
  const spec::Text& a = pc.task.append_row_to;
  if (!a.empty() && !a.tmpl.refs.empty()) s.append_to = a.tmpl.refs[0].port;
  for (const auto& [flag, value] : Flags(pc.task.program_arguments.text)) {
    if (flag == "error_threshold" || flag == "allowed_failed_percent") {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || v < -1) {
        s.warnings.push_back(fmt::format("step {}: program argument --{} is `{}`, not a number; weft "
                                         "leaves it to the script",
                                         node.name, flag, value));
      } else if (flag == "error_threshold") {
        s.error_threshold = static_cast<int64_t>(v);
      } else {
        s.allowed_failed_percent = v;
      }
    } else if (flag == "task_overhead_timeout" || flag == "progress_update_timeout" ||
               flag == "first_task_creation_timeout" || flag == "resource_monitor_interval" ||
               flag == "copy_logs_to_parent" || flag == "metrics_name_prefix" ||
               flag == "push_metrics_to_parent") {
      s.warnings.push_back(fmt::format("step {}: program argument --{} configures Azure ML's agents "
                                       "and means nothing to weft (the script still receives it)",
                                       node.name, flag));
    }
  }
  int64_t instances = node.resources.instance_count.value_or(pc.resources.instance_count.value_or(1));
  s.per_instance = std::max<int64_t>(1, pc.max_concurrency_per_instance.value_or(per_instance));
  s.workers = std::max<int64_t>(1, instances) * s.per_instance;
  return s;
}

std::vector<size_t> CutByContent(const std::vector<std::string>& names, size_t max_items) {
  std::vector<size_t> out;
  Cut(names, 0, names.size(), std::max<size_t>(1, max_items), 0, out);
  return out;
}

Result<std::vector<ListedFile>> ListFiles(const std::string& path) {
  std::vector<ListedFile> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    Result<Digest> d = store::HashFile(path, false);
    if (!d.ok()) return d.status();
    out.push_back({std::filesystem::path(path).filename().string(), *d});
    return out;
  }
  std::filesystem::recursive_directory_iterator it(
      path, std::filesystem::directory_options::follow_directory_symlink, ec);
  if (ec) return Status::Io(fmt::format("{}: cannot list: {}", path, ec.message()));
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Io(fmt::format("{}: cannot list: {}", path, ec.message()));
    if (!it->is_regular_file(ec)) continue;
    std::string full = it->path().string();
    Result<Digest> d = store::HashFile(full, false);
    if (!d.ok()) return d.status();
    out.push_back({full.substr(path.size() + 1), *d});
  }
  std::sort(out.begin(), out.end(), [](const ListedFile& a, const ListedFile& b) { return a.name < b.name; });
  return out;
}

std::string CachedResultPath(const std::string& cache_dir, const std::string& key) {
  return fmt::format("{}/{}/{}.json", cache_dir, key.substr(0, 2), key);
}

std::vector<MiniBatch> PlanMiniBatches(const std::vector<ListedFile>& files, size_t max_items,
                                       const std::string& base, const std::string& cache_dir) {
  std::vector<std::string> names;
  names.reserve(files.size());
  for (const ListedFile& f : files) names.push_back(f.name);
  std::vector<MiniBatch> out;
  size_t at = 0;
  for (size_t n : CutByContent(names, max_items)) {
    MiniBatch b;
    b.index = static_cast<int64_t>(out.size());
    std::string what = "weft-mini-batch-1\n" + base + "\n";
    for (size_t k = at; k < at + n; ++k) {
      b.items.push_back(files[k].name);
      ++b.count;
      what += fmt::format("{}\n{}\n", files[k].name.size(), files[k].name) + ToHex(files[k].digest) + "\n";
    }
    at += n;
    b.key = ToHex(Sha256Of(what));
    struct stat st {};
    b.reused = ::stat(CachedResultPath(cache_dir, b.key).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
               st.st_size > 0;  // (a crash of the machine can leave one empty)
    out.push_back(std::move(b));
  }
  return out;
}

bool IsTable(const std::string& path) {
  Result<std::string> text = ReadFileCapped(path + "/MLTable", 1 << 20);
  if (!text.ok()) return false;
  for (const char* read : {"read_delimited", "read_json_lines", "read_parquet"}) {
    if (text->find(read) != std::string::npos) return true;
  }
  return false;
}

Result<std::vector<MiniBatch>> TableMiniBatches(const std::string& planned, const std::string& base,
                                                const std::string& cache_dir, size_t* rows) {
  std::optional<Json> j = Json::Parse(planned);
  const Json* batches = j ? j->Find("batches") : nullptr;
  const Json* total = j ? j->Find("rows") : nullptr;
  if (!batches || !batches->Items() || !total || !total->Int()) {
    return Status::Internal("weft's table planner printed no mini-batches");
  }
  *rows = static_cast<size_t>(*total->Int());
  std::vector<MiniBatch> out;
  for (const Json& item : *batches->Items()) {
    const Json* which = item.Find("rows");
    const Json* digest = item.Find("digest");
    const Json* count = item.Find("items");
    if (!which || !digest || !digest->String() || !count || !count->Int()) {
      return Status::Internal("weft's table planner printed a malformed mini-batch");
    }
    MiniBatch b;
    b.index = static_cast<int64_t>(out.size());
    b.count = *count->Int();
    Json rows_json = Json::MakeObject().Set("rows", *which);
    if (const Json* p = item.Find("partition")) rows_json.Set("partition", *p);
    b.rows = rows_json.Dump(-1);
    const Json* partition = item.Find("partition");
    b.key = ToHex(Sha256Of(fmt::format("weft-mini-batch-rows-1\n{}\n{}\n{}\n", base, *digest->String(),
                                       partition ? partition->Dump(-1) : "")));
    struct stat st {};
    b.reused = ::stat(CachedResultPath(cache_dir, b.key).c_str(), &st) == 0 && st.st_size > 0;
    out.push_back(std::move(b));
  }
  return out;
}

Gathered GatherResults(const std::vector<MiniBatch>& batches, const std::string& results_dir,
                       const std::string& cache_dir) {
  Gathered g;
  for (const MiniBatch& b : batches) {
    std::string cached = CachedResultPath(cache_dir, b.key);
    std::string path = b.reused || b.kept ? cached : fmt::format("{}/{}.json", results_dir, b.index);
    Result<std::string> text = ReadFileCapped(path, size_t{1} << 30);
    std::optional<Json> j = text.ok() ? Json::Parse(*text) : std::nullopt;
    const Json* ok = j ? j->Find("ok") : nullptr;
    const Json* lines = j ? j->Find("lines") : nullptr;
    bool succeeded = ok && ok->Bool() && *ok->Bool() && lines && lines->Items();
    (b.reused ? g.reused : g.ran) += 1;
    if (!succeeded && b.reused) ::unlink(cached.c_str());  // damaged: the next run computes it
    if (!succeeded) {
      const Json* failed = j ? j->Find("failed_items") : nullptr;
      const Json* error = j ? j->Find("error") : nullptr;
      ++g.failed_batches;
      g.failed_items += failed && failed->Int() ? static_cast<size_t>(*failed->Int())
                                                 : static_cast<size_t>(b.count);
      if (g.first_failure.empty()) {
        std::string why = !j ? "no worker finished it"
                          : error && error->String() ? *error->String()
                                                     : "its results cannot be read";
        std::string items = b.items.empty() ? fmt::format("{} rows", b.count) : b.items.front();
        if (b.items.size() > 1) items += fmt::format(" and {} more", b.items.size() - 1);
        g.first_failure = fmt::format("mini-batch {} ({}): {}", b.index, items, why);
      }
      continue;
    }
    for (const Json& line : *lines->Items()) {
      if (const std::string* s = line.String()) g.lines.push_back(*s);
    }
  }
  return g;
}

std::string CheckThresholds(const ParallelSettings& s, const Gathered& g, size_t batches, size_t items) {
  if (s.mini_batch_error_threshold >= 0 &&
      g.failed_batches > static_cast<size_t>(s.mini_batch_error_threshold)) {
    return fmt::format("{} of {} mini-batches failed, more than mini_batch_error_threshold ({}); "
                       "first: {}",
                       g.failed_batches, batches, s.mini_batch_error_threshold, g.first_failure);
  }
  if (s.error_threshold >= 0 && g.failed_items > static_cast<size_t>(s.error_threshold)) {
    return fmt::format("{} of {} items failed, more than error_threshold ({}); first: {}",
                       g.failed_items, items, s.error_threshold, g.first_failure);
  }
  if (s.allowed_failed_percent >= 0 && items > 0 &&
      static_cast<double>(g.failed_items) * 100 > s.allowed_failed_percent * static_cast<double>(items)) {
    return fmt::format("{} of {} items failed, more than allowed_failed_percent ({:g}%); first: {}",
                       g.failed_items, items, s.allowed_failed_percent, g.first_failure);
  }
  return "";
}

}  // namespace weft::engine
