// `weft fsck`: reads every byte of the store and checks it against its name.
//
// Every blob (file content) is re-hashed; every object's tree is re-hashed (reusing the blob
// digests just computed, so each content is read once). What does not match its name goes to
// `.weft/store/quarantine/`, so nothing uses it again: a run that needed it computes it again.
// Then every digest the database refers to is looked up: asset versions must have their object;
// a run's output may be missing only because `weft gc` removed it or fsck quarantined it. The
// caller holds the workspace lock exclusively.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "meta/meta.h"
#include "store/store.h"

namespace weft::maint {

struct FsckReport {
  uint64_t blobs = 0, objects = 0, bytes = 0;  // checked
  std::vector<std::string> bad_blobs;           // hex, quarantined
  std::vector<std::string> bad_objects;         // hex, quarantined
  std::vector<std::string> missing_assets;      // "data clean:1 (sha256:...)"
  uint64_t missing_run_objects = 0;             // referenced by runs, not in the store
  bool clean() const { return bad_blobs.empty() && bad_objects.empty() && missing_assets.empty(); }
};

Result<FsckReport> CheckStore(meta::MetaStore& meta, store::Store& store);

}  // namespace weft::maint
