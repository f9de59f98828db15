// runs/search of the MLflow endpoint: MLflow's filter and order syntax over the runs of
// experiments (app/tracking.h).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/tracking.h"
#include "base/clock.h"

namespace weft::app {
namespace {

constexpr int64_t kSearchedWeftRuns = 1000;  // the newest runs of an experiment a search reads

// `text` matches an SQL LIKE `pattern` (% any run, _ any one character).
bool Like(std::string_view text, std::string_view pattern, bool fold) {
  auto eq = [fold](char a, char b) {
    return fold ? std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b))
                : a == b;
  };
  size_t t = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || (pattern[p] != '%' && eq(pattern[p], text[t])))) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

// One clause of a search filter.
struct Clause {
  std::string entity;  // metric, param, tag, attribute
  std::string key;
  std::string op;
  std::vector<std::string> values;  // one, or IN's list
  bool number = false;
};

class FilterParser {
 public:
  explicit FilterParser(std::string_view text) : s_(text) {}

  Result<std::vector<Clause>> Parse() {
    std::vector<Clause> out;
    Skip();
    if (at_ == s_.size()) return out;
    while (true) {
      Result<Clause> c = ParseClause();
      if (!c.ok()) return c.status();
      out.push_back(std::move(*c));
      Skip();
      if (at_ == s_.size()) return out;
      std::string word = Word();
      if (Upper(word) != "AND") return Fail(fmt::format("expected AND, found `{}`", word));
    }
  }

 private:
  Status Fail(const std::string& why) const {
    return Status::Invalid(fmt::format("invalid filter `{}` at character {}: {}", s_, at_ + 1, why));
  }
  void Skip() {
    while (at_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[at_]))) ++at_;
  }
  static std::string Upper(std::string w) {
    for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return w;
  }
  std::string Word() {
    Skip();
    size_t start = at_;
    while (at_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[at_])) || s_[at_] == '_' || s_[at_] == '.' ||
            s_[at_] == '-' || s_[at_] == '/' || s_[at_] == '+')) {
      ++at_;
    }
    return std::string(s_.substr(start, at_ - start));
  }
  // A quoted text ('...', "..." or `...`), without its quotes.
  std::optional<std::string> Quoted() {
    Skip();
    if (at_ >= s_.size() || std::string_view("'\"`").find(s_[at_]) == std::string_view::npos) {
      return std::nullopt;
    }
    char q = s_[at_++];
    size_t end = s_.find(q, at_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string out(s_.substr(at_, end - at_));
    at_ = end + 1;
    return out;
  }
  Result<Clause> ParseClause() {
    Clause c;
    Skip();
    size_t start = at_;
    while (at_ < s_.size() && s_[at_] != '.' && !std::isspace(static_cast<unsigned char>(s_[at_]))) ++at_;
    std::string entity(s_.substr(start, at_ - start));
    std::string e = entity;
    for (char& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (e == "metric" || e == "metrics") {
      c.entity = "metric";
    } else if (e == "param" || e == "params" || e == "parameter" || e == "parameters") {
      c.entity = "param";
    } else if (e == "tag" || e == "tags") {
      c.entity = "tag";
    } else if (e == "attribute" || e == "attributes" || e == "attr" || e == "run") {
      c.entity = "attribute";
    } else {
      return Fail(fmt::format("`{}` is not metrics, params, tags or attributes", entity));
    }
    if (at_ >= s_.size() || s_[at_] != '.') return Fail("expected `.` and a name");
    ++at_;
    if (std::optional<std::string> q = Quoted()) {
      c.key = *q;
    } else {
      c.key = Word();
    }
    if (c.key.empty()) return Fail("expected a name");
    Skip();
    size_t op_start = at_;
    if (at_ < s_.size() && std::string_view("=!<>").find(s_[at_]) != std::string_view::npos) {
      ++at_;
      if (at_ < s_.size() && s_[at_] == '=') ++at_;
      c.op = std::string(s_.substr(op_start, at_ - op_start));
    } else {
      c.op = Upper(Word());
    }
    static const std::vector<std::string> kOps = {"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN"};
    if (std::find(kOps.begin(), kOps.end(), c.op) == kOps.end()) {
      return Fail(fmt::format("`{}` is not a comparison (= != < <= > >= LIKE ILIKE IN)", c.op));
    }
    if (c.op == "IN") {
      Skip();
      if (at_ >= s_.size() || s_[at_] != '(') return Fail("IN takes a list: ('a', 'b')");
      ++at_;
      while (true) {
        std::optional<std::string> v = Quoted();
        if (!v) return Fail("IN's list holds quoted values");
        c.values.push_back(*v);
        Skip();
        if (at_ < s_.size() && s_[at_] == ',') {
          ++at_;
          continue;
        }
        if (at_ < s_.size() && s_[at_] == ')') {
          ++at_;
          break;
        }
        return Fail("expected `,` or `)`");
      }
    } else if (std::optional<std::string> v = Quoted()) {
      c.values.push_back(*v);
    } else {
      std::string w = Word();
      double d = 0;
      auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), d);
      if (w.empty() || ec != std::errc() || end != w.data() + w.size()) {
        return Fail("expected a number or a quoted value");
      }
      c.values.push_back(w);
      c.number = true;
    }
    bool numeric_key = c.entity == "metric" ||
                       (c.entity == "attribute" && (c.key == "start_time" || c.key == "end_time"));
    bool ordering = c.op == "<" || c.op == "<=" || c.op == ">" || c.op == ">=";
    if (numeric_key && !c.number) return Fail(fmt::format("{}.{} is compared with a number", c.entity, c.key));
    if (!numeric_key && (ordering || c.number)) {
      return Fail(fmt::format("{}.{} is text: compare it with = != LIKE ILIKE and a quoted value",
                              c.entity, c.key));
    }
    if (c.op == "IN" && !(c.entity == "attribute" && c.key == "run_id")) {
      return Fail("IN is for attributes.run_id");
    }
    return c;
  }

  std::string_view s_;
  size_t at_ = 0;
};

std::optional<std::string> Attribute(const TrackedRun& r, const std::string& key) {
  if (key == "status") return r.record.status;
  if (key == "run_name") return r.record.name;
  if (key == "run_id") return r.record.id;
  if (key == "user_id") return r.record.user;
  if (key == "artifact_uri") return r.artifact_uri;
  if (key == "lifecycle_stage") return r.record.lifecycle;
  return std::nullopt;
}

std::optional<double> NumberOf(const FoundRun& f, const std::string& entity, const std::string& key) {
  if (entity == "attribute") {
    if (key == "start_time") return static_cast<double>(f.run.record.start_ms);
    if (key == "end_time") return static_cast<double>(f.run.record.end_ms);
    return std::nullopt;
  }
  for (const TrackedMetric& m : f.data.Latest()) {
    if (m.key == key) return m.value;
  }
  return std::nullopt;
}

std::optional<std::string> TextOf(const FoundRun& f, const std::string& entity, const std::string& key) {
  if (entity == "attribute") return Attribute(f.run, key);
  const auto& list = entity == "param" ? f.data.params : f.data.tags;
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return std::nullopt;
}

Result<bool> Matches(const FoundRun& f, const Clause& c) {
  bool numeric = c.entity == "metric" || (c.entity == "attribute" && (c.key == "start_time" || c.key == "end_time"));
  if (numeric) {
    std::optional<double> v = NumberOf(f, c.entity, c.key);
    if (!v) return false;
    double want = std::stod(c.values.front());
    if (c.op == "=") return *v == want;
    if (c.op == "!=") return *v != want;
    if (c.op == "<") return *v < want;
    if (c.op == "<=") return *v <= want;
    if (c.op == ">") return *v > want;
    if (c.op == ">=") return *v >= want;
    return Status::Invalid(fmt::format("{}.{} cannot be compared with {}", c.entity, c.key, c.op));
  }
  if (c.entity == "attribute" && !Attribute(f.run, c.key)) {
    return Status::Invalid(fmt::format(
        "`attributes.{}` is not one of status, run_name, run_id, user_id, artifact_uri, "
        "lifecycle_stage, start_time, end_time",
        c.key));
  }
  std::optional<std::string> v = TextOf(f, c.entity, c.key);
  if (!v) return false;
  if (c.op == "=") return *v == c.values.front();
  if (c.op == "!=") return *v != c.values.front();
  if (c.op == "LIKE") return Like(*v, c.values.front(), false);
  if (c.op == "ILIKE") return Like(*v, c.values.front(), true);
  if (c.op == "IN") return std::find(c.values.begin(), c.values.end(), *v) != c.values.end();
  return Status::Invalid(fmt::format("{}.{} is text: {} does not apply", c.entity, c.key, c.op));
}

struct Order {
  std::string entity;
  std::string key;
  bool ascending = true;
};

Result<std::vector<Order>> ParseOrder(const std::vector<std::string>& order_by) {
  std::vector<Order> out;
  for (const std::string& text : order_by) {
    Order o;
    std::string t = text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    auto ends_with = [&](const char* word) {
      size_t n = std::string_view(word).size();
      if (t.size() <= n) return false;
      std::string tail = t.substr(t.size() - n);
      for (char& c : tail) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return tail == word && std::isspace(static_cast<unsigned char>(t[t.size() - n - 1]));
    };
    if (ends_with("DESC")) {
      o.ascending = false;
      t.resize(t.size() - 4);
    } else if (ends_with("ASC")) {
      t.resize(t.size() - 3);
    }
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    Result<std::vector<Clause>> c = FilterParser(t + " = 'x'").Parse();
    // An order names what a clause would: reuse the filter's reading of names.
    Result<std::vector<Clause>> n = FilterParser(t + " = 0").Parse();
    const Result<std::vector<Clause>>& ok = c.ok() ? c : n;
    if (!ok.ok() || ok->size() != 1) {
      return Status::Invalid(fmt::format("invalid order_by `{}`: expected e.g. `metrics.rmse DESC`", text));
    }
    o.entity = ok->front().entity;
    o.key = ok->front().key;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

Result<std::vector<FoundRun>> SearchTrackedRuns(meta::MetaStore& meta, const ws::Workspace& ws,
                                                const TrackingScope& scope,
                                                const RunSearch& search) {
  Result<std::vector<Clause>> clauses = FilterParser(search.filter).Parse();
  if (!clauses.ok()) return clauses.status();
  Result<std::vector<Order>> order = ParseOrder(search.order_by);
  if (!order.ok()) return order.status();
  int64_t now_ms = NowNs() / 1'000'000;
  Result<std::vector<meta::MlflowExperimentRecord>> experiments = Experiments(meta, scope, now_ms);
  if (!experiments.ok()) return experiments.status();
  std::vector<std::string> ids;
  for (int64_t id : search.experiments) {
    auto e = std::find_if(experiments->begin(), experiments->end(),
                          [&](const auto& x) { return x.id == id; });
    if (e == experiments->end()) return Status::NotFound(fmt::format("No Experiment with id={} exists", id));
    meta::RunFilter f;
    f.project = scope.project;
    f.experiment = e->name;
    Result<std::vector<meta::RunRecord>> runs = meta.Runs(kSearchedWeftRuns, f);
    if (!runs.ok()) return runs.status();
    for (const meta::RunRecord& run : *runs) {
      Result<std::vector<meta::StepRecord>> steps = meta.Steps(run.id);
      if (!steps.ok()) return steps.status();
      for (const meta::StepRecord& s : *steps) {
        if (s.status == meta::StepStatus::kReused || s.attempt < 1) continue;
        if (s.jobs <= 1) {
          ids.push_back(StepRunId(run.id, s.index, 0, s.attempt));
          continue;
        }
        Result<std::vector<meta::JobRecord>> jobs = meta.Jobs(run.id, s.index);
        if (!jobs.ok()) return jobs.status();
        for (const meta::JobRecord& j : *jobs) {
          if (j.attempt >= 1) ids.push_back(StepRunId(run.id, s.index, j.job, j.attempt));
        }
      }
    }
  }
  Result<std::vector<meta::MlflowRunRecord>> own = meta.MlflowRuns(scope.project);
  if (!own.ok()) return own.status();
  for (const meta::MlflowRunRecord& r : *own) {
    if (std::find(search.experiments.begin(), search.experiments.end(), r.experiment) !=
        search.experiments.end()) {
      ids.push_back(r.id);
    }
  }
  std::vector<FoundRun> out;
  for (const std::string& id : ids) {
    Result<TrackedRun> run = FindTrackedRun(meta, ws, scope, id);
    if (!run.ok()) continue;  // gone meanwhile
    bool deleted = run->record.lifecycle == "deleted";
    if ((deleted && !search.deleted) || (!deleted && !search.active)) continue;
    Result<TrackedData> data = DataOf(meta, *run);
    if (!data.ok()) return data.status();
    FoundRun f{std::move(*run), std::move(*data)};
    bool keep = true;
    for (const Clause& c : *clauses) {
      Result<bool> m = Matches(f, c);
      if (!m.ok()) return m.status();
      keep = keep && *m;
    }
    if (keep) out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(), [&](const FoundRun& a, const FoundRun& b) {
    for (const Order& o : *order) {
      bool numeric = o.entity == "metric" || o.key == "start_time" || o.key == "end_time";
      if (numeric) {
        std::optional<double> x = NumberOf(a, o.entity, o.key), y = NumberOf(b, o.entity, o.key);
        if (x == y) continue;
        if (!x) return false;  // runs without the value go last
        if (!y) return true;
        return o.ascending ? *x < *y : *x > *y;
      }
      std::optional<std::string> x = TextOf(a, o.entity, o.key), y = TextOf(b, o.entity, o.key);
      if (x == y) continue;
      if (!x) return false;
      if (!y) return true;
      return o.ascending ? *x < *y : *x > *y;
    }
    if (a.run.record.start_ms != b.run.record.start_ms) return a.run.record.start_ms > b.run.record.start_ms;
    return a.run.record.id < b.run.record.id;
  });
  return out;
}

}  // namespace weft::app
