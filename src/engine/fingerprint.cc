#include "engine/fingerprint.h"

#include <fmt/format.h>

#include "base/sha256.h"

namespace weft::engine {

void Fingerprint::Seal() {
  // One buffer, hashed once: fingerprints are computed for every step of every run.
  std::string buf = kFingerprintFormat;
  buf.push_back('\0');
  for (const auto& [label, value] : fields) {
    buf += std::to_string(label.size());
    buf += ':';
    buf += label;
    buf += std::to_string(value.size());
    buf += ':';
    buf += value;
  }
  digest = "sha256:" + ToHex(Sha256Of(buf));
}

ResolvedInput ResolveInput(const graph::Graph& g, const graph::StepInput& in, const StepPlan& plan,
                           const UpstreamOutput& upstream) {
  const graph::ValueSource& s = in.source;
  ResolvedInput v;
  v.type = s.type;
  switch (s.kind) {
    case graph::ValueSource::Kind::kLiteral:
      v.kind = ResolvedInput::Kind::kLiteral;
      v.literal = s.literal.Render();
      break;
    case graph::ValueSource::Kind::kData: {
      v.kind = ResolvedInput::Kind::kData;
      auto it = plan.data.find(in.name);
      v.object = it == plan.data.end() ? nullptr : &it->second;
      v.origin = spec::IsUri(s.uri) || s.local_path.empty() ? s.uri : s.local_path;
      break;
    }
    case graph::ValueSource::Kind::kStepOutput:
      v.kind = ResolvedInput::Kind::kData;
      v.object = upstream(s.step, s.output);
      v.origin = g.steps[s.step].name + "." + s.output;
      v.from_step = true;
      break;
    default:
      break;
  }
  return v;
}

Fingerprint StepFingerprint(const graph::Graph& g, const graph::Step& step, const StepPlan& plan,
                            const UpstreamOutput& upstream) {
  const spec::CommandComponent& c = *plan.command;
  Fingerprint fp;
  fp.Add("type", spec::NodeTypeName(step.type()));
  fp.Add("command", c.command.text);
  for (const spec::InputPort& p : c.inputs) {
    fp.Add("port " + p.name, fmt::format("{} optional={} default={} mode={}",
                                         spec::PortTypeName(p.type), p.optional,
                                         p.default_value ? p.default_value->Render() : "",
                                         p.mode));
  }
  for (const spec::OutputPort& p : c.outputs) {
    fp.Add("output port " + p.name, fmt::format("{} mode={}", spec::PortTypeName(p.type), p.mode));
  }
  fp.Add("code", plan.code ? "sha256:" + ToHex(plan.code->digest) : "none");
  fp.Add("environment", plan.env->identity);
  for (const graph::StepInput& in : step.inputs) {
    ResolvedInput v = ResolveInput(g, in, plan, upstream);
    std::string value = v.kind == ResolvedInput::Kind::kLiteral ? "literal " + v.literal
                        : v.object != nullptr
                            ? fmt::format("data {} sha256:{}", spec::PortTypeName(v.type),
                                          ToHex(v.object->digest))
                            : "none";
    fp.Add("input " + in.name, value);
  }
  for (const graph::StepOutput& o : step.outputs) {
    if (o.setting != nullptr) {
      fp.Add("output " + o.name,
             fmt::format("type={} mode={} path={} asset={}:{}",
                         o.setting->type ? spec::PortTypeName(*o.setting->type) : "",
                         o.setting->mode, o.setting->path.text, o.setting->asset_name,
                         o.setting->asset_version));
    }
    if (o.pipeline_setting != nullptr) {  // what the output takes from the pipeline's output
      fp.Add("pipeline output " + o.name, fmt::format("type={} file={}", spec::PortTypeName(o.type),
                                                      o.FileName()));
    }
  }
  for (const auto& [k, v] : plan.env_vars) fp.Add("env " + k, v);
  if (plan.parallel) fp.Add("parallel", plan.parallel->Describe());
  if (plan.sweep) fp.Add("sweep", plan.sweep->describe);
  if (!plan.distribution.type.empty()) {
    fp.Add("distribution", fmt::format("{} x{}", plan.distribution.type, plan.distribution.per_instance));
    fp.Add("instance_count", std::to_string(plan.distribution.instances));
  }
  fp.Seal();
  return fp;
}

}  // namespace weft::engine
