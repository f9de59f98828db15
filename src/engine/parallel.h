// Parallel steps (`type: parallel`): one input split into mini-batches, each given to the entry
// script's run() by worker processes (env/runtime/weft_parallel.py), the results gathered in
// mini-batch order. (engine/ internal.)
//
// Reuse goes below the step: a mini-batch is named by a key over what its results depend on (the
// step's fingerprint without the split input, and its items' names and contents); a finished
// mini-batch's results are kept under that key, and a later run that plans a mini-batch with the
// same key takes them instead of running it. So that adding files does not move every later
// mini-batch, boundaries are cut by the names themselves (content-defined), not by position.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "base/status.h"
#include "spec/model.h"

namespace weft::engine {

struct MiniBatch {
  int64_t index = 0;               // its place in the step's order
  std::string key;                 // hex digest: what its results depend on
  std::vector<std::string> items;  // files: paths relative to the split input
  int64_t count = 0;               // items (files, or a table's rows)
  std::string rows;  // tables: which rows, as the worker reads them (JSON), and the partition
  bool reused = false;             // its results were kept by an earlier run
  bool kept = false;               // run now, and its results are kept already
  int result = 0;                  // run now: its worker's result, once read (1 ok, -1 failed)
};

// What a parallel step is asked to do, read from its component (spec::ParallelComponent).
struct ParallelSettings {
  std::string input;         // the input that is split
  std::string entry_script;  // relative to the code folder
  int64_t mini_batch_size = 10;        // files per mini-batch
  int64_t mini_batch_bytes = 1 << 20;  // tables: about this much text per mini-batch
  bool size_given = false;             // mini_batch_size was a size ("10kb")
  std::vector<std::string> partition_keys;  // tables: one mini-batch per combination
  int64_t mini_batch_error_threshold = -1;  // failed mini-batches allowed; -1: any
  int64_t error_threshold = -1;             // failed items allowed; -1: any
  double allowed_failed_percent = -1;       // failed items allowed, in percent; -1: any
  int64_t max_retries = 2;                  // further calls of run() after a failed one
  int64_t timeout_s = 60;                   // per run() call
  std::string logging_level = "INFO";
  std::string append_to;  // the output `append_row_to` names; empty: results are dropped
  int64_t workers = 1;       // instance_count x per_instance
  int64_t per_instance = 1;  // max_concurrency_per_instance
  std::string runtime;  // the identity of weft's worker code
  std::vector<std::string> warnings;  // driver arguments weft reads or leaves to the script

  // What changes results, for the step's fingerprint (workers do not).
  std::string Describe() const;
};

// Reads the settings. Azure ML's driver also reads some settings from
// `program_arguments`: `--error_threshold` and `--allowed_failed_percent` are honoured; the others
// (timeouts of Azure's agents, log copying, metric pushing) mean nothing here and are warned
// about. All of them still reach the script.
// `per_instance`: workers per instance when max_concurrency_per_instance is not given.
Result<ParallelSettings> ReadParallelSettings(const spec::ParallelComponent& pc,
                                              const spec::Node& node, int64_t per_instance);

// Cuts `names` (sorted) into runs of at most `max_items`, at names whose hash says so: adding or
// removing a name changes only the run it falls in (and, rarely, a neighbour when it is itself a
// boundary). Returns each run's length, in order.
std::vector<size_t> CutByContent(const std::vector<std::string>& names, size_t max_items);

// The files under `path` (a folder, walked recursively, or one file) with their content digests,
// sorted by name.
struct ListedFile {
  std::string name;  // relative to `path`; a file's own name when `path` is a file
  Digest digest{};
};
Result<std::vector<ListedFile>> ListFiles(const std::string& path);

// Plans the mini-batches of `files`; `base` is what every mini-batch's results depend on besides
// its items. Marks those whose results `cache_dir` holds as reused.
std::vector<MiniBatch> PlanMiniBatches(const std::vector<ListedFile>& files, size_t max_items,
                                       const std::string& base, const std::string& cache_dir);

// Whether the folder at `path` is a table to split into rows: it has an MLTable file that reads
// its paths (read_delimited, read_json_lines, read_parquet). An MLTable of paths only splits
// into files.
bool IsTable(const std::string& path);

// The mini-batches of a table, from what weft's worker module printed when asked to plan it
// (`python -m weft_parallel --weft-plan-table`): {"rows": N, "batches": [{"rows", "items",
// "digest", "partition"?}]}. Sets `rows` to the table's row count.
Result<std::vector<MiniBatch>> TableMiniBatches(const std::string& planned, const std::string& base,
                                                const std::string& cache_dir, size_t* rows);

// Where a mini-batch's results are kept across runs: `<cache_dir>/<key[0:2]>/<key>.json`.
std::string CachedResultPath(const std::string& cache_dir, const std::string& key);

// What the workers did, read back in mini-batch order.
struct Gathered {
  size_t ran = 0, reused = 0;
  size_t failed_batches = 0, failed_items = 0;
  std::string first_failure;        // "mini-batch 3 (a.txt, ...): why"
  std::vector<std::string> lines;   // every result line, in mini-batch order
};

// Reads every mini-batch's results: reused and kept ones from the cache, the others from
// `results_dir` (`<index>.json`, written by the workers; a missing one failed: no worker finished
// it). Results are written without fsync: a reused one that no longer parses (a crash of the
// machine cut it short) counts as failed and leaves the cache, so the next run computes it.
Gathered GatherResults(const std::vector<MiniBatch>& batches, const std::string& results_dir,
                       const std::string& cache_dir);

// The step's verdict on what was gathered: an error message when the thresholds are exceeded,
// else empty.
std::string CheckThresholds(const ParallelSettings& s, const Gathered& g, size_t batches, size_t items);

}  // namespace weft::engine
