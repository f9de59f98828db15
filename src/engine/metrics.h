// Metrics a step logs: JSON lines appended to the file named by $WEFT_METRICS, one object per
// value: {"name": "accuracy", "value": 0.93, "step": 3, "timestamp": 1764000000000}, where `step`
// (the training step) and `timestamp` (milliseconds since 1970) are optional. Parameters and tags
// (MLflow's log_param and set_tag, through weft's shim) are lines {"param": "alpha", "value": "0.1"}
// and {"tag": "estimator_name", "value": "SVC"}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"

namespace weft::engine {

struct MetricsFile {
  std::vector<meta::MetricRecord> metrics;
  std::vector<meta::ParamRecord> params;
  std::vector<std::string> problems;  // "line N: why", for lines that are not a metric
};

// Reads a step's metrics file; a missing file has no metrics. `default_ms` stamps values logged
// without a timestamp.
Result<MetricsFile> ReadMetrics(const std::string& path, int64_t default_ms);

// One JSON line for `weft log-metric` (and anything else that logs for a step).
std::string MetricLine(const std::string& name, double value, int64_t step, int64_t timestamp_ms);
// One JSON line of a param or tag (`kind`: param, tag).
std::string ParamLine(const std::string& kind, const std::string& name, const std::string& value);
// Appends lines to a metrics file in one write (O_APPEND: concurrent writers' lines do not
// interleave), creating it when missing.
Status AppendLines(const std::string& path, std::string_view lines);

}  // namespace weft::engine
