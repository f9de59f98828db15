// Sweep nodes and sweep jobs: a trial component run over a search space.
#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "spec/loader_internal.h"

namespace weft::spec {
namespace {

constexpr std::string_view kDistributions[] = {
    "choice",      "randint", "uniform",   "loguniform", "quniform",
    "qloguniform", "normal",  "lognormal", "qnormal",    "qlognormal"};

std::optional<SearchDimension> ParseDimension(const Source& src, const yaml::Node* key,
                                              const yaml::Node* value) {
  SearchDimension d;
  d.name = key->text;
  d.loc = src.Loc(key);
  What what("search space `{}`", d.name);
  Fields f(src, value, what, d.loc);
  if (!f.valid()) return std::nullopt;
  d.type = f.String("type", true).value_or("");
  bool known = false;
  for (std::string_view k : kDistributions) known |= k == d.type;
  if (!known) {
    if (!d.type.empty()) {
      src.diags.Error(src.Loc(f.Get("type")), fmt::format("{} has unknown type `{}`", what.str(), d.type),
                      "one of choice, randint, uniform, loguniform, quniform, qloguniform, normal, "
                      "lognormal, qnormal, qlognormal");
    }
    return std::nullopt;
  }
  Diagnostics& diags = src.diags;
  if (d.type == "choice") {
    const yaml::Node* values = f.Get("values", true);
    if (values != nullptr && !values->is_sequence()) {
      diags.Error(src.Loc(values), fmt::format("{}: `values` must be a list", what.str()));
    } else if (values != nullptr) {
      if (values->children.empty()) {
        diags.Error(src.Loc(values), fmt::format("{}: `values` is empty", what.str()),
                    "give at least one value to choose from");
      }
      for (const yaml::Node* v : values->children) {
        if (v->is_mapping()) {  // a nested search space: distributions and fixed values
          std::vector<SearchDimension> option;
          for (size_t i = 0; i < v->entry_count(); ++i) {
            const yaml::Node* entry = v->value(i);
            if (entry->is_mapping()) {
              if (auto nested = ParseDimension(src, v->key(i), entry)) option.push_back(std::move(*nested));
            } else if (auto lit = ScalarLiteral(src, entry, What("search space `{}`", v->key(i)->text))) {
              SearchDimension fixed;
              fixed.name = v->key(i)->text;
              fixed.loc = src.Loc(v->key(i));
              fixed.type = "choice";
              fixed.values = {*lit};
              option.push_back(std::move(fixed));
            }
          }
          if (option.empty()) {
            diags.Error(src.Loc(v), fmt::format("{}: a nested search space is empty", what.str()));
            continue;
          }
          d.options.resize(d.values.size());
          d.options.push_back(std::move(option));
          d.values.push_back(Literal());
        } else if (auto lit = ScalarLiteral(src, v, What("a value of search space `{}`", d.name))) {
          d.values.push_back(*lit);
          if (d.nested()) d.options.emplace_back();
        }
      }
    }
  } else if (d.type == "randint") {
    d.upper = f.Int("upper", 1);
    if (!d.upper && f.Get("upper") == nullptr) f.Get("upper", true);
  } else if (d.type.find("normal") != std::string::npos) {
    d.mu = f.Number("mu");
    d.sigma = f.Number("sigma");
    if (!d.mu) f.Get("mu", true);
    if (!d.sigma) f.Get("sigma", true);
    if (d.sigma && *d.sigma <= 0) {
      diags.Error(src.Loc(f.Get("sigma")), fmt::format("{}: `sigma` must be positive", what.str()));
    }
  } else {
    d.min_value = f.Number("min_value");
    d.max_value = f.Number("max_value");
    if (!d.min_value) f.Get("min_value", true);
    if (!d.max_value) f.Get("max_value", true);
    if (d.min_value && d.max_value && *d.min_value >= *d.max_value) {
      diags.Error(src.Loc(f.Get("min_value")),
                  fmt::format("{}: `min_value` must be less than `max_value`", what.str()));
    }
  }
  if (d.type[0] == 'q') {
    d.q = f.Number("q");
    if (!d.q) f.Get("q", true);
    if (d.q && *d.q <= 0) diags.Error(src.Loc(f.Get("q")), fmt::format("{}: `q` must be positive", what.str()));
  }
  f.Finish();
  return d;
}

}  // namespace

SweepSpec Loader::ParseSweepFields(Fields& f, const Node& node) {
  const Source& src = f.source();
  SweepSpec s;
  s.loc = node.loc;
  if (const yaml::Node* a = f.Get("sampling_algorithm", true)) {
    if (a->is_mapping()) {
      Fields af(src, a, "`sampling_algorithm`", src.Loc(a));
      s.sampling_algorithm = af.String("type", true).value_or("");
      s.seed = af.Int("seed");
      s.rule = af.String("rule").value_or("");
      if (!s.rule.empty() && s.rule != "random" && s.rule != "sobol") {
        diags_.Error(src.Loc(af.Get("rule")), fmt::format("unknown sampling rule `{}`", s.rule),
                     "one of random, sobol");
      }
      af.Finish();
    } else if (auto t = ScalarString(src, a, "`sampling_algorithm`")) {
      s.sampling_algorithm = *t;
    }
    const std::string& alg = s.sampling_algorithm;
    if (!alg.empty() && alg != "random" && alg != "grid" && alg != "bayesian") {
      diags_.Error(src.Loc(a), fmt::format("unknown sampling algorithm `{}`", alg),
                   "one of random, grid, bayesian");
    }
    if (!s.rule.empty() && alg != "random") {
      diags_.Error(src.Loc(a), "a sampling `rule` applies only to random sampling");
    }
  }
  if (const yaml::Node* space = f.Get("search_space", true)) {
    if (!space->is_mapping() || space->entry_count() == 0) {
      diags_.Error(src.Loc(space), "`search_space` must map each hyperparameter to a distribution",
                   "for example `learning_rate: {type: uniform, min_value: 0.01, max_value: 0.1}`");
    } else {
      for (size_t i = 0; i < space->entry_count(); ++i) {
        if (auto d = ParseDimension(src, space->key(i), space->value(i))) {
          s.search_space.push_back(std::move(*d));
        }
      }
    }
  }
  if (const yaml::Node* o = f.Get("objective", true)) {
    Fields of(src, o, "`objective`", src.Loc(o));
    s.goal = of.String("goal", true).value_or("");
    s.primary_metric = of.String("primary_metric", true).value_or("");
    std::string goal = s.goal;
    for (char& c : goal) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!s.goal.empty() && goal != "maximize" && goal != "minimize") {
      diags_.Error(src.Loc(of.Get("goal")), fmt::format("unknown objective goal `{}`", s.goal),
                   "one of maximize, minimize");
    }
    s.goal = goal;  // Azure reads it in any case: `Minimize` minimises
    of.Finish();
  }
  if (const yaml::Node* l = f.Get("limits")) {
    Fields lf(src, l, "`limits`", src.Loc(l));
    s.max_total_trials = lf.Int("max_total_trials", 1);
    s.max_concurrent_trials = lf.Int("max_concurrent_trials", 1);
    s.timeout = lf.Int("timeout", 1);
    s.trial_timeout = lf.Int("trial_timeout", 1);
    if (s.max_total_trials && s.max_concurrent_trials &&
        *s.max_concurrent_trials > *s.max_total_trials) {
      diags_.Warning(src.Loc(lf.Get("max_concurrent_trials")),
                     "`max_concurrent_trials` is larger than `max_total_trials`");
    }
    lf.Finish();
  }
  if (const yaml::Node* e = f.Get("early_termination"); e != nullptr && !e->is_null()) {
    Fields ef(src, e, "`early_termination`", src.Loc(e));
    EarlyTermination& policy = s.early_termination;
    policy.type = ef.String("type", true).value_or("");
    policy.evaluation_interval = ef.Int("evaluation_interval", 0).value_or(0);
    policy.delay_evaluation = ef.Int("delay_evaluation", 0).value_or(0);
    const std::string& et = policy.type;
    if (et == "bandit") {
      policy.slack_factor = ef.Number("slack_factor");
      policy.slack_amount = ef.Number("slack_amount");
      // Azure's SDK writes the one not chosen as 0.
      if (policy.slack_factor && policy.slack_amount) {
        if (*policy.slack_amount == 0 && *policy.slack_factor != 0) policy.slack_amount.reset();
        else if (*policy.slack_factor == 0 && *policy.slack_amount != 0) policy.slack_factor.reset();
      }
      bool factor = policy.slack_factor.has_value();
      bool amount = policy.slack_amount.has_value();
      if (factor == amount) {
        diags_.Error(src.Loc(e), "a bandit policy needs exactly one of `slack_factor` and "
                                 "`slack_amount`");
      }
    } else if (et == "truncation_selection") {
      std::optional<int64_t> pct = ef.Int("truncation_percentage");
      if (!pct && ef.Get("truncation_percentage") == nullptr) ef.Get("truncation_percentage", true);
      if (pct && (*pct < 1 || *pct > 99)) {
        diags_.Error(src.Loc(ef.Get("truncation_percentage")),
                     "`truncation_percentage` must be between 1 and 99");
      }
      policy.truncation_percentage = pct.value_or(0);
      policy.exclude_finished_jobs = ef.Bool("exclude_finished_jobs").value_or(false);
    } else if (!et.empty() && et != "median_stopping") {
      diags_.Error(src.Loc(ef.Get("type")), fmt::format("unknown early termination policy `{}`", et),
                   "one of bandit, median_stopping, truncation_selection");
    }
    ef.Finish();
  }
  // Cross-field rules of Azure's sweep validation, nested spaces included.
  std::vector<const SearchDimension*> every;
  std::function<void(const std::vector<SearchDimension>&)> collect = [&](const auto& space) {
    for (const SearchDimension& d : space) {
      every.push_back(&d);
      for (const auto& option : d.options) collect(option);
    }
  };
  collect(s.search_space);
  for (const SearchDimension* dim : every) {
    const SearchDimension& d = *dim;
    if (s.sampling_algorithm == "bayesian" && d.nested()) {
      diags_.Error(d.loc, fmt::format("bayesian sampling does not support nested search spaces; `{}` has "
                                      "one",
                                      d.name));
    }
    if (s.sampling_algorithm == "grid" && d.type != "choice") {
      diags_.Error(d.loc, fmt::format("grid sampling needs `choice` for every hyperparameter; `{}` "
                                      "is `{}`",
                                      d.name, d.type));
    }
    if (s.sampling_algorithm == "bayesian" && d.type != "choice" && d.type != "uniform" &&
        d.type != "quniform") {
      diags_.Error(d.loc, fmt::format("bayesian sampling supports choice, uniform and quniform; `{}` "
                                      "is `{}`",
                                      d.name, d.type));
    }
  }
  if (s.sampling_algorithm == "bayesian" && !s.early_termination.type.empty()) {
    diags_.Error(src.Loc(f.Get("early_termination")),
                 "bayesian sampling does not support early termination");
  }
  return s;
}

void Loader::ParseSweepNode(Fields& f, Node& node) {
  const Source& src = f.source();
  ParseNodeCommon(f, node);
  auto spec = std::make_shared<SweepSpec>(ParseSweepFields(f, node));
  const yaml::Node* trial = f.Get("trial", true);
  if (trial != nullptr) {
    std::optional<ComponentSource> cs = ResolveComponent(src, trial, &node.component_ref);
    if (cs && cs->type != "command") {
      diags_.Error(src.Loc(trial), fmt::format("the trial of sweep `{}` must be a command component, "
                                               "not `{}`",
                                               node.name, cs->type));
    } else if (cs) {
      spec->trial = CommandComponentFrom(*cs);
    }
  }
  if (spec->trial) {
    const CommandComponent& t = *spec->trial;
    // The dimensions whose names trials are given (the first of each name).
    std::vector<const SearchDimension*> named;
    std::function<void(const std::vector<SearchDimension>&)> find = [&](const auto& space) {
      for (const SearchDimension& d : space) {
        bool plain = !d.nested() || std::any_of(d.options.begin(), d.options.end(),
                                                 [](const auto& o) { return o.empty(); });
        bool seen = std::any_of(named.begin(), named.end(),
                                [&](const SearchDimension* n) { return n->name == d.name; });
        if (plain && !seen) named.push_back(&d);
        for (const auto& option : d.options) find(option);
      }
    };
    find(spec->search_space);
    std::vector<std::string> names = HyperparameterNames(spec->search_space);
    for (const SearchDimension* dim : named) {
      const SearchDimension& d = *dim;
      bool is_input = t.FindInput(d.name) != nullptr;
      bool used_in_command = false;
      for (const Ref& r : t.command.tmpl.refs) {
        used_in_command |= r.kind == RefKind::kSearchSpace && r.port == d.name;
      }
      if (!is_input && !used_in_command) {
        std::vector<std::string> names;
        for (const InputPort& p : t.inputs) names.push_back(p.name);
        std::string near = Closest(d.name, names);
        diags_.Error(d.loc, fmt::format("search space `{}` is not an input of the trial", d.name),
                     near.empty() ? "search-space keys fill the trial's inputs of the same name"
                                  : fmt::format("did you mean `{}`?", near));
      }
      for (const auto& [name, value] : node.inputs) {
        if (name == d.name) {
          diags_.Warning(value.loc, fmt::format("input `{}` is also in the search space; the "
                                                "search space wins",
                                                name));
        }
      }
    }
    for (const Ref& r : t.command.tmpl.refs) {
      if (r.kind != RefKind::kSearchSpace) continue;
      if (std::find(names.begin(), names.end(), r.port) == names.end()) {
        diags_.Error(t.command.loc, fmt::format("the trial command uses `${{{{search_space.{}}}}}`, "
                                                "which is not in the search space",
                                                r.port));
      }
    }
    CheckNodePorts(diags_, node, t.inputs, t.outputs,
                   fmt::format("trial `{}`", t.name.empty() ? "(inline)" : t.name), true);
  }
  node.sweep = std::move(spec);
}

}  // namespace weft::spec
