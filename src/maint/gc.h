// `weft gc`: removes the store objects nothing needs any more.
//
// Kept: every asset version's object, and everything the retained runs use (their steps' inputs,
// outputs, code snapshots, and the outputs of attempts their reused steps reuse). Retained: the
// newest `keep_runs` runs (all runs when not given) and every run still marked running (in flight,
// or interrupted and resumable). The caller holds the workspace lock exclusively, so no run is
// using or about to use anything. A later run that needed a removed object computes it again:
// reuse checks that an output still exists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"
#include "store/store.h"

namespace weft::maint {

struct GcOptions {
  int64_t keep_runs = -1;  // negative: keep every run
  bool dry_run = false;    // report only
};

struct GcReport {
  uint64_t objects = 0;                // in the store before
  std::vector<std::string> removed;    // hex digests (would be, with dry_run)
  uint64_t removed_bytes = 0;          // the sizes of their files (shared content counted each time)
  uint64_t blobs = 0, blob_bytes = 0;  // file contents freed (not with dry_run)
};

Result<GcReport> CollectGarbage(meta::MetaStore& meta, store::Store& store, const GcOptions& options);

}  // namespace weft::maint
