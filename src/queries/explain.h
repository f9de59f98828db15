// Why a step ran or was reused, field by field against the nearest earlier fingerprint of the same
// step (same experiment and step path, else the latest run of the same component).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "meta/meta.h"
#include "store/store.h"

namespace weft::queries {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Lines describing how `now` differs from `before` ("input lr: 0.1 -> 0.2", "code: train.py
// changed", "environment: scikit-learn 1.2.1 -> 1.3.0"). Code folders are compared file by file
// through the store; environments by what the metadata store says each identity stands for.
std::vector<std::string> DiffFields(const Fields& now, const Fields& before,
                                    const store::Store& store, meta::MetaStore& meta);

// The explanation of step `step` of `run`, one line each.
Result<std::vector<std::string>> Explain(meta::MetaStore& meta, const store::Store& store,
                                         const meta::RunRecord& run, const std::string& step);

}  // namespace weft::queries
