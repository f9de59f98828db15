// Mini-batches: content-defined boundaries, keys, reading results back, and the thresholds.
#include "engine/parallel.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace weft::engine {
namespace {

std::vector<std::string> Names(int n, const char* pattern = "img_{:05d}.png") {
  std::vector<std::string> out;
  for (int k = 0; k < n; ++k) out.push_back(fmt::format(fmt::runtime(pattern), k));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ListedFile> Listed(const std::vector<std::string>& names) {
  std::vector<ListedFile> out;
  for (const std::string& n : names) out.push_back({n, Sha256Of(n)});
  return out;
}

// The runs CutByContent makes, as sets of names.
std::set<std::vector<std::string>> Runs(const std::vector<std::string>& names, size_t max) {
  std::set<std::vector<std::string>> out;
  size_t at = 0;
  for (size_t n : CutByContent(names, max)) {
    out.insert(std::vector<std::string>(names.begin() + at, names.begin() + at + n));
    at += n;
  }
  EXPECT_EQ(at, names.size());
  return out;
}

TEST(MiniBatchTest, RunsCoverEveryNameOnceAndNeverExceedTheSize) {
  for (size_t max : {1, 2, 3, 10, 100}) {
    std::vector<std::string> names = Names(5000);
    std::vector<size_t> sizes = CutByContent(names, max);
    size_t total = 0;
    for (size_t s : sizes) {
      EXPECT_GE(s, 1u);
      EXPECT_LE(s, max);
      total += s;
    }
    EXPECT_EQ(total, names.size()) << max;
    // Not cut needlessly small: on average more than half of the size.
    if (max > 2) {
      EXPECT_GE(total * 2, sizes.size() * max) << max;
    }
  }
  EXPECT_TRUE(CutByContent({}, 10).empty());
}

TEST(MiniBatchTest, AddingANameChangesOnlyTheRunItFallsIn) {
  std::vector<std::string> names = Names(2000);
  std::set<std::vector<std::string>> before = Runs(names, 10);
  size_t changed_total = 0;
  for (int k = 0; k < 100; ++k) {  // 100 separate additions, each among the old names
    std::string added = fmt::format("img_{:05d}.png~", k * 19 + 3);
    std::vector<std::string> more = names;
    more.push_back(added);
    std::sort(more.begin(), more.end());
    std::set<std::vector<std::string>> after = Runs(more, 10);
    size_t gone = 0;
    for (const auto& run : before) gone += !after.count(run);
    // The run that gained the name changes (unless the name starts a run of its own); when the
    // new name is itself a boundary, or the run grew past the size, a neighbouring cut may move
    // with it: never more than a few.
    EXPECT_LE(gone, 4u) << added;
    size_t with = 0;
    for (const auto& run : after) with += std::count(run.begin(), run.end(), added);
    EXPECT_EQ(with, 1u);
    changed_total += gone;
  }
  EXPECT_LE(changed_total, 100u * 13 / 10);  // mostly just the one
}

TEST(MiniBatchTest, KeysDependOnItemsContentAndWhatTheStepIs) {
  testing::TempDir dir;
  std::vector<ListedFile> files = Listed(Names(100));
  std::vector<MiniBatch> a = PlanMiniBatches(files, 10, "step A", dir.path());
  std::vector<MiniBatch> same = PlanMiniBatches(files, 10, "step A", dir.path());
  std::vector<MiniBatch> other = PlanMiniBatches(files, 10, "step B", dir.path());
  ASSERT_EQ(a.size(), same.size());
  std::set<std::string> keys;
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].index, static_cast<int64_t>(k));
    EXPECT_EQ(a[k].key, same[k].key);
    EXPECT_NE(a[k].key, other[k].key);
    EXPECT_FALSE(a[k].reused);
    keys.insert(a[k].key);
  }
  EXPECT_EQ(keys.size(), a.size());
  // One file's content changes: only its mini-batch's key does.
  files[42].digest = Sha256Of("changed");
  std::vector<MiniBatch> edited = PlanMiniBatches(files, 10, "step A", dir.path());
  ASSERT_EQ(edited.size(), a.size());
  size_t differ = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    bool has = std::find(a[k].items.begin(), a[k].items.end(), files[42].name) != a[k].items.end();
    EXPECT_EQ(a[k].key != edited[k].key, has) << k;
    differ += a[k].key != edited[k].key;
  }
  EXPECT_EQ(differ, 1u);
  // A kept result makes its mini-batch reused.
  dir.Write(CachedResultPath(dir.path(), a[3].key).substr(dir.path().size() + 1), "{}");
  std::vector<MiniBatch> again = PlanMiniBatches(Listed(Names(100)), 10, "step A", dir.path());
  for (size_t k = 0; k < again.size(); ++k) EXPECT_EQ(again[k].reused, k == 3) << k;
}

TEST(MiniBatchTest, GatheringReadsResultsInOrderAndCountsWhatFailedOrNeverFinished) {
  testing::TempDir dir;
  std::vector<MiniBatch> batches(4);
  for (int k = 0; k < 4; ++k) {
    batches[static_cast<size_t>(k)].index = k;
    batches[static_cast<size_t>(k)].key = fmt::format("{:02d}{}", k, std::string(62, 'a'));
    batches[static_cast<size_t>(k)].items = {fmt::format("f{}a", k), fmt::format("f{}b", k)};
    batches[static_cast<size_t>(k)].count = 2;
  }
  batches[1].reused = true;
  dir.Write(CachedResultPath("cache", batches[1].key), R"({"ok": true, "lines": ["b1", "b2"]})");
  dir.Write("results/0.json", R"({"ok": true, "lines": ["a1", "a2"]})");
  dir.Write("results/2.json", R"({"ok": false, "lines": [], "failed_items": 2, "error": "ValueError: x"})");
  // mini-batch 3 has no result: its worker never finished it.
  Gathered g = GatherResults(batches, dir.path() + "/results", dir.path() + "/cache");
  EXPECT_EQ(g.lines, (std::vector<std::string>{"a1", "a2", "b1", "b2"}));
  EXPECT_EQ(g.ran, 3u);
  EXPECT_EQ(g.reused, 1u);
  EXPECT_EQ(g.failed_batches, 2u);
  EXPECT_EQ(g.failed_items, 4u);
  EXPECT_EQ(g.first_failure, "mini-batch 2 (f2a and 1 more): ValueError: x");
  // Kept results a crash cut short count as failed and leave the cache.
  batches[3].reused = true;
  std::string cut = dir.Write(CachedResultPath("cache", batches[3].key), R"({"ok": true, "li)");
  Gathered damaged = GatherResults(batches, dir.path() + "/results", dir.path() + "/cache");
  EXPECT_EQ(damaged.failed_batches, 2u);
  EXPECT_EQ(damaged.reused, 2u);
  EXPECT_FALSE(std::filesystem::exists(cut));
  batches[3].reused = false;

  ParallelSettings s;
  EXPECT_EQ(CheckThresholds(s, g, 4, 8), "");  // -1: any failure is allowed
  s.mini_batch_error_threshold = 2;
  EXPECT_EQ(CheckThresholds(s, g, 4, 8), "");
  s.mini_batch_error_threshold = 1;
  EXPECT_EQ(CheckThresholds(s, g, 4, 8),
            "2 of 4 mini-batches failed, more than mini_batch_error_threshold (1); first: "
            "mini-batch 2 (f2a and 1 more): ValueError: x");
  s.mini_batch_error_threshold = -1;
  s.error_threshold = 3;
  EXPECT_NE(CheckThresholds(s, g, 4, 8).find("4 of 8 items failed, more than error_threshold (3)"),
            std::string::npos);
  s.error_threshold = 4;
  EXPECT_EQ(CheckThresholds(s, g, 4, 8), "");
}

TEST(MiniBatchTest, SettingsComeFromTheComponentAndAzuresDriverArguments) {
  spec::ParallelComponent pc;
  pc.input_data.text = "${{inputs.images}}";
  spec::Ref ref;
  ref.kind = spec::RefKind::kInputs;
  ref.port = "images";
  pc.input_data.tmpl.refs.push_back(ref);
  pc.task.entry_script = "score.py";
  pc.task.program_arguments.text =
      "--model ${{inputs.model}} --error_threshold 5 --allowed_failed_percent=2.5 "
      "--progress_update_timeout 100";
  pc.max_concurrency_per_instance = 3;
  spec::Node node;
  node.name = "score";
  node.resources.instance_count = 2;
  Result<ParallelSettings> s = ReadParallelSettings(pc, node, 8);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->input, "images");
  EXPECT_EQ(s->workers, 6);
  EXPECT_EQ(s->mini_batch_size, 10);
  EXPECT_EQ(s->max_retries, 2);
  EXPECT_EQ(s->timeout_s, 60);
  EXPECT_EQ(s->error_threshold, 5);
  EXPECT_EQ(s->allowed_failed_percent, 2.5);
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_NE(s->warnings[0].find("--progress_update_timeout configures Azure ML's agents"),
            std::string::npos);
  // Without max_concurrency_per_instance: a worker per core.
  pc.max_concurrency_per_instance.reset();
  EXPECT_EQ(ReadParallelSettings(pc, node, 8)->workers, 16);
  // A size is for tables (a folder of files refuses it when its mini-batches are planned).
  pc.mini_batch_size = "10kb";
  Result<ParallelSettings> size = ReadParallelSettings(pc, node, 8);
  ASSERT_TRUE(size.ok());
  EXPECT_TRUE(size->size_given);
  EXPECT_EQ(size->mini_batch_bytes, 10240);
  pc.mini_batch_size = "1.5 MB";
  EXPECT_EQ(ReadParallelSettings(pc, node, 8)->mini_batch_bytes, 1572864);
  pc.mini_batch_size = "300";  // a count for files, bytes for tables
  EXPECT_FALSE(ReadParallelSettings(pc, node, 8)->size_given);
  EXPECT_EQ(ReadParallelSettings(pc, node, 8)->mini_batch_size, 300);
  EXPECT_EQ(ReadParallelSettings(pc, node, 8)->mini_batch_bytes, 300);

  Gathered g;
  g.failed_items = 3;
  ParallelSettings percent;
  percent.allowed_failed_percent = 2.5;
  EXPECT_NE(CheckThresholds(percent, g, 10, 100).find("3 of 100 items failed, more than "
                                                      "allowed_failed_percent (2.5%)"),
            std::string::npos);
  EXPECT_EQ(CheckThresholds(percent, g, 10, 120), "");
}

}  // namespace
}  // namespace weft::engine
