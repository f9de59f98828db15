// `weft gc`: frees the disk space nothing needs any more.
//
// Store objects: kept are every asset version's object, and everything the retained runs use
// (their steps' inputs, outputs, code snapshots, and the outputs of attempts their reused steps
// reuse). Retained: the newest `keep_runs` runs (all runs when not given) and every run still
// marked running (in flight, or interrupted and resumable). A later run that needed a removed
// object computes it again: reuse checks that an output still exists.
//
// Kept results of parallel steps' mini-batches: with `keep_runs`, those written or last reused
// before the oldest retained run was created (all are kept when every run is).
//
// Run folders: the working folders (`work/`) and staged outputs of every attempt of the runs not
// retained, and the working folders of the succeeded attempts of the retained ones; logs,
// commands, metrics files, failed attempts of retained runs and submission records stay.
//
// What is freed is measured as the disk counts it (allocated blocks; a file with several names
// counts once, and only when every name goes), before anything is removed: a dry run reports
// what the real one frees. The caller holds the workspace lock exclusively, so no run is using or
// about to use anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"
#include "store/store.h"
#include "workspace/workspace.h"

namespace weft::maint {

struct GcOptions {
  int64_t keep_runs = -1;  // negative: keep every run
  bool dry_run = false;    // report only
};

struct GcReport {
  uint64_t objects = 0;               // in the store before
  std::vector<std::string> removed;   // hex digests (would be, with dry_run)
  std::vector<std::string> folders;   // run folders removed (would be, with dry_run)
  std::vector<std::string> batches;   // kept mini-batch results removed (would be)
  uint64_t store_bytes = 0;           // freed in the store: objects, contents, leftovers
  uint64_t run_bytes = 0;             // freed in run folders and mini-batch results
};

Result<GcReport> CollectGarbage(meta::MetaStore& meta, store::Store& store, const ws::Workspace& ws,
                                const GcOptions& options);

}  // namespace weft::maint
