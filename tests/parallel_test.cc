// Parallel steps (`type: parallel`, task `run_function`) run by the real weft binary: an entry
// script written for Azure ML scores a folder of files in mini-batches, its results land in
// `append_row_to` in mini-batch order, failures count against the thresholds, and finished
// mini-batches are reused by later runs.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "weft_fixture.h"

namespace weft {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::Read;
using testing::kEnv;

// Scores a file as "<name> <length>", with the prefix init() read from its arguments. Files whose
// name starts with "bad" fail their mini-batch; "flaky" ones fail the first call in a worker.
constexpr const char* kScore = R"(import argparse
import os
import time
from azureml_user.parallel_run import EntryScript

flaked = set()

def init():
    global prefix, delay
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", default="")
    parser.add_argument("--delay", type=float, default=0)
    args, _ = parser.parse_known_args()
    prefix, delay = args.prefix, args.delay
    EntryScript().logger.info("init with prefix %s", prefix)

def run(mini_batch):
    out = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name.startswith("bad"):
            raise ValueError("cannot score " + name)
        if name.startswith("flaky") and name not in flaked:
            flaked.add(name)
            raise RuntimeError("flaked on " + name)
        time.sleep(delay)
        with open(path) as f:
            out.append(prefix + name + " " + str(len(f.read())))
    return out
)";

class ParallelTest : public testing::WeftTest {
 protected:
  // Writes `n` files data/f0000.txt ... (content: the index as text).
  void Files(int n, const std::string& prefix = "f", int from = 0) {
    for (int k = from; k < from + n; ++k) {
      char name[64];
      std::snprintf(name, sizeof name, "data/%s%04d.txt", prefix.c_str(), k);
      dir_.Write(name, std::to_string(k));
    }
  }
  // A pipeline of a parallel step `score` over data/ (with `settings` as extra lines of the
  // step) and a step `count` that copies its appended rows.
  void Pipeline(const std::string& settings, const std::string& arguments = "--prefix p_") {
    dir_.Write("src/score.py", kScore);
    dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  score:\n    type: parallel\n"
                                    "    inputs:\n      data: {type: uri_folder, path: ./data}\n"
                                    "    outputs:\n      scores: {type: uri_folder}\n"
                                    "    input_data: ${{inputs.data}}\n") +
                            settings +
                            "    task:\n      type: run_function\n      code: ./src\n"
                            "      entry_script: score.py\n"
                            "      program_arguments: " + arguments + "\n"
                            "      append_row_to: ${{outputs.scores}}\n"
                            "      " + kEnv +
                            "  count:\n    command: cp ${{inputs.s}}/parallel_run_step.txt ${{outputs.rows}}\n"
                            "    inputs:\n      s: ${{parent.jobs.score.outputs.scores}}\n"
                            "    outputs:\n      rows: {type: uri_file}\n    " + kEnv);
  }
  std::vector<std::string> Rows(const std::string& step_output = "count.rows") {
    std::vector<std::string> rows;
    std::istringstream in(OutputText(step_output));
    for (std::string line; std::getline(in, line);) rows.push_back(line);
    return rows;
  }
  // "N mini-batches: R ran, U reused" from the step's note.
  std::tuple<int, int, int> Batches(const std::string& run = "last") {
    ProcessResult r = Weft({"show", run, "--json"});
    nlohmann::json j = nlohmann::json::parse(r.out);
    for (const auto& s : j["steps"]) {
      if (s["name"] != "score") continue;
      std::smatch m;
      std::string note = s.value("message", std::string());
      if (std::regex_search(note, m, std::regex("(\\d+) mini-batches: (\\d+) ran, (\\d+) reused"))) {
        return {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3])};
      }
      ADD_FAILURE() << "no mini-batch counts in: " << note;
    }
    return {-1, -1, -1};
  }
};

TEST_F(ParallelTest, ScoresAThousandFilesInMiniBatchesIntoAppendRowTo) {
  Files(1000);
  Pipeline("    mini_batch_size: \"10\"\n    max_concurrency_per_instance: 2\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  std::vector<std::string> rows = Rows();
  ASSERT_EQ(rows.size(), 1000u);
  for (int k = 0; k < 1000; ++k) {  // every file once, in mini-batch (name) order
    char want[64];
    std::snprintf(want, sizeof want, "p_f%04d.txt %zu", k, std::to_string(k).size());
    ASSERT_EQ(rows[static_cast<size_t>(k)], want);
  }
  auto [batches, ran, reused] = Batches();
  EXPECT_GE(batches, 100);  // never more than 10 files in one
  EXPECT_EQ(ran, batches);
  EXPECT_EQ(reused, 0);
  // Both workers ran, each read its arguments in init() and logged through EntryScript.
  ProcessResult logs = Weft({"logs", "last", "score"});
  EXPECT_NE(logs.out.find("init with prefix p_"), std::string::npos) << logs.out;
  EXPECT_EQ(Statuses()["score"], "succeeded");
  // Unchanged: the whole step is reused.
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(Statuses()["score"], "reused");
}

TEST_F(ParallelTest, RunReceivesTheMiniBatchContextWhenItTakesOne) {
  Files(30);
  dir_.Write("src/ctx.py",
             "import mlflow\n"
             "def init():\n    pass\n\n"
             "def run(mini_batch, mini_batch_context):\n"
             "    mlflow.log_metric('files', len(mini_batch))\n"
             "    return [f\"{mini_batch_context.minibatch_index} {len(mini_batch)}\" for _ in mini_batch]\n");
  Pipeline("    mini_batch_size: \"4\"\n    error_threshold: -1\n");
  std::string p = Read(dir_.path() + "/p.yml");
  p.replace(p.find("score.py"), 8, "ctx.py");
  dir_.Write("p.yml", p);
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  std::vector<std::string> rows = Rows();
  ASSERT_EQ(rows.size(), 30u);
  // Each item's row names its mini-batch and the batch's size: batches in order, each of the size
  // it says, none over 4.
  int expected_index = 0;
  for (size_t k = 0; k < rows.size();) {
    int index = -1, n = -1;
    ASSERT_EQ(std::sscanf(rows[k].c_str(), "%d %d", &index, &n), 2) << rows[k];
    EXPECT_EQ(index, expected_index++);
    ASSERT_GE(n, 1);
    EXPECT_LE(n, 4);
    for (int m = 0; m < n; ++m) ASSERT_EQ(rows[k + static_cast<size_t>(m)], rows[k]);
    k += static_cast<size_t>(n);
  }
  // What run() logged is the step's: one value per mini-batch, from every worker.
  ProcessResult metrics = Weft({"metrics", "last", "score", "--json"});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.err;
  nlohmann::json m = nlohmann::json::parse(metrics.out)[0]["metrics"][0];
  EXPECT_EQ(m["name"], "files");
  EXPECT_EQ(m["count"], expected_index);
}

TEST_F(ParallelTest, FailedMiniBatchesWithinTheThresholdLeaveTheirItemsOut) {
  Files(20);
  Files(2, "bad");
  Pipeline("    mini_batch_size: \"1\"\n    mini_batch_error_threshold: 2\n"
           "    retry_settings: {max_retries: 0, timeout: 30}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Rows().size(), 20u);
  ProcessResult show = Weft({"show", "last"});
  EXPECT_NE(show.out.find("2 failed"), std::string::npos) << show.out;
}

TEST_F(ParallelTest, FailedMiniBatchesBeyondTheThresholdFailTheStepNamingTheFirst) {
  Files(20);
  Files(2, "bad");
  Pipeline("    mini_batch_size: \"1\"\n    mini_batch_error_threshold: 1\n"
           "    retry_settings: {max_retries: 1, timeout: 30}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Statuses()["score"], "failed");
  ProcessResult show = Weft({"show", "last"});
  EXPECT_NE(show.out.find("2 of 22 mini-batches failed, more than mini_batch_error_threshold (1)"),
            std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find("bad0000.txt"), std::string::npos) << show.out;
  // Each was tried twice (max_retries: 1), and the script's error is in the worker's log.
  ProcessResult logs = Weft({"logs", "last", "score"});
  EXPECT_NE(logs.out.find("attempt 2 of 2: ValueError: cannot score bad0000.txt"), std::string::npos)
      << logs.out;
}

TEST_F(ParallelTest, FailedItemsBeyondErrorThresholdFailTheStep) {
  Files(10);
  Files(2, "bad");
  Pipeline("    mini_batch_size: \"1\"\n    error_threshold: 1\n"
           "    retry_settings: {max_retries: 0}\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  ProcessResult show = Weft({"show", "last"});
  EXPECT_NE(show.out.find("2 of 12 items failed, more than error_threshold (1)"), std::string::npos)
      << show.out;
}

TEST_F(ParallelTest, AMiniBatchThatFailsOnceIsRetried) {
  Files(10);
  Files(1, "flaky");
  Pipeline("    mini_batch_size: \"3\"\n    mini_batch_error_threshold: 0\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  EXPECT_EQ(Rows().size(), 11u);
  ProcessResult logs = Weft({"logs", "last", "score"});
  EXPECT_NE(logs.out.find("attempt 1 of 3: RuntimeError: flaked on flaky0000.txt"), std::string::npos)
      << logs.out;
}

TEST_F(ParallelTest, AddedFilesRerunOnlyTheMiniBatchesTheyFallIn) {
  Files(1000);
  Pipeline("    mini_batch_size: \"10\"\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  auto [before, ran0, reused0] = Batches();
  // Ten names that sort among the old ones, far apart.
  for (int k = 0; k < 10; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "data/f%04d_new.txt", k * 97 + 5);
    dir_.Write(name, "new");
  }
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto [after, ran, reused] = Batches();
  EXPECT_EQ(ran + reused, after);
  // Each new file lands in one old mini-batch, which reruns (split when it grew past 10, and
  // with a neighbour when the new name is itself a boundary); every other mini-batch is reused.
  EXPECT_GE(ran, 10);
  EXPECT_LE(ran, 30);
  EXPECT_GE(reused, before - 20);
  std::vector<std::string> rows = Rows();
  ASSERT_EQ(rows.size(), 1010u);
  EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
  EXPECT_NE(std::find(rows.begin(), rows.end(), "p_f0005_new.txt 3"), rows.end());
  ProcessResult explain = Weft({"explain", "last", "score"});
  EXPECT_NE(explain.out.find(std::to_string(reused) + " reused"), std::string::npos) << explain.out;
}

TEST_F(ParallelTest, AKilledRunResumesWithoutRedoingFinishedMiniBatches) {
  WEFT_LOCAL_ONLY("kills the weft process that hosts a run here (a served run lives in the server)");
  Files(80);
  Pipeline("    mini_batch_size: \"1\"\n    max_concurrency_per_instance: 2\n",
           "--prefix p_ --delay 0.05");
  pid_t weft = Start({"run", "p.yml"}, "");
  // Wait until some mini-batches are kept, then kill weft without warning.
  std::string kept = dir_.path() + "/.weft/batches";
  auto count = [&] {
    size_t n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(kept, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      n += it->is_regular_file();
    }
    return n;
  };
  for (int k = 0; k < 400 && count() < 20; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_GE(count(), 20u);
  ::kill(weft, SIGKILL);
  Wait(weft);
  size_t done = count();
  ProcessResult r = Weft({"resume", "last"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto [batches, ran, reused] = Batches();
  EXPECT_EQ(batches, 80);
  EXPECT_GE(static_cast<size_t>(reused), done);
  EXPECT_EQ(Rows().size(), 80u);
}

TEST_F(ParallelTest, GcKeepingTheNewestRunsDropsMiniBatchResultsOnlyOlderRunsUsed) {
  Files(40);
  Pipeline("    mini_batch_size: \"5\"\n", "--prefix a_");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  auto [batches, ran, reused] = Batches();
  std::string a = Read(dir_.path() + "/p.yml");
  Pipeline("    mini_batch_size: \"5\"\n", "--prefix b_");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);  // other arguments: other keys
  ProcessResult gc = Weft({"gc", "--keep-runs", "1"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find(" and " + std::to_string(batches) + " kept mini-batch results"), std::string::npos)
      << gc.out;
  dir_.Write("p.yml", a);  // the first run's mini-batches are gone: they run again
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  EXPECT_EQ(std::get<1>(Batches()), batches);
}

TEST_F(ParallelTest, AnEntryScriptWithoutRunIsALocatedErrorBeforeAnythingRuns) {
  Files(3);
  Pipeline("");
  dir_.Write("src/score.py", "def init():\n    pass\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("p.yml:13:21: error: entry script `score.py` defines no run() function"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("defines no init()"), std::string::npos) << r.err;
}

TEST_F(ParallelTest, AnEmptyInputFolderIsAnErrorBeforeAnythingRuns) {
  fs::create_directories(dir_.path() + "/data");
  Pipeline("");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("step score, input data: the folder holds no files to split into mini-batches"),
            std::string::npos)
      << r.err;
}

// A delimited MLTable split into rows: by size, and by partition keys (DataFrames reach run()).
class TableTest : public ParallelTest {
 protected:
  void Table(int rows) {
    std::string csv = "id,amount,region\n";
    const char* regions[] = {"north", "south", "east"};
    for (int k = 0; k < rows; ++k) csv += fmt::format("{},{}.5,{}\n", k, k * 3 % 17, regions[k % 3]);
    dir_.Write("table/rows.csv", csv);
    dir_.Write("table/MLTable", "paths:\n  - file: ./rows.csv\ntransformations:\n"
                                "  - read_delimited: {delimiter: ',', header: all_files_same_headers}\n");
  }
  void TablePipeline(const std::string& split) {
    dir_.Write("src/table.py",
               "import pandas as pd\n"
               "def init():\n    pass\n"
               "def run(mini_batch, mini_batch_context):\n"
               "    assert isinstance(mini_batch, pd.DataFrame), type(mini_batch)\n"
               "    out = mini_batch[['id', 'region']].copy()\n"
               "    out['rows'] = len(mini_batch)\n"
               "    out['bytes'] = int(mini_batch.astype(str).agg(','.join, axis=1).str.len().sum() + len(mini_batch))\n"
               "    out['part'] = repr(mini_batch_context.partition_key_value).replace(' ', '')\n"
               "    return out\n");
    dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  score:\n    type: parallel\n"
                                    "    inputs:\n      data: {type: mltable, path: ./table, mode: direct}\n"
                                    "    outputs:\n      scores: {type: uri_file}\n"
                                    "    input_data: ${{inputs.data}}\n") +
                            split +
                            "    task:\n      type: run_function\n      code: ./src\n"
                            "      entry_script: table.py\n"
                            "      append_row_to: ${{outputs.scores}}\n      " + kEnv);
  }
  // The appended rows, as table.py wrote them: id, region, rows and bytes of its mini-batch, and
  // the partition it was given.
  struct Row {
    int id = -1, rows = -1, bytes = -1;
    std::string region, part;
  };
  std::vector<Row> Scored() {
    std::vector<Row> out;
    for (const std::string& line : Rows("score.scores")) {
      Row row;
      std::istringstream in(line);
      in >> row.id >> row.region >> row.rows >> row.bytes >> row.part;
      EXPECT_FALSE(in.fail()) << line;
      out.push_back(row);
    }
    return out;
  }
};

TEST_F(TableTest, ADelimitedTableSplitsIntoRowsBySize) {
  Table(300);
  TablePipeline("    mini_batch_size: \"1kb\"\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  std::vector<Row> rows = Scored();
  ASSERT_EQ(rows.size(), 300u);
  for (size_t k = 0; k < rows.size(); ++k) {  // every row once, in order, batches within 1 kB
    EXPECT_EQ(rows[k].id, static_cast<int>(k));
    EXPECT_LE(rows[k].bytes, 1024) << k;
    if (k + static_cast<size_t>(rows.back().rows) < rows.size()) {  // all but the last nearly full
      EXPECT_GE(rows[k].bytes, 1000) << "cut needlessly small at row " << k;
    }
  }
  auto [batches, ran, reused] = Batches();
  EXPECT_GT(batches, 3);
  EXPECT_EQ(ran, batches);
}

TEST_F(TableTest, PartitionKeysGiveOneMiniBatchPerValueAndAnAddedRowRerunsOnlyItsPartition) {
  Table(90);
  TablePipeline("    partition_keys: [region]\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  std::vector<Row> rows = Scored();
  ASSERT_EQ(rows.size(), 90u);
  std::map<std::string, int> per;
  for (const Row& row : rows) {
    EXPECT_EQ(row.part, "{'region':'" + row.region + "'}");
    EXPECT_EQ(row.rows, 30);
    ++per[row.region];
  }
  EXPECT_EQ(per.size(), 3u);
  EXPECT_EQ(std::get<0>(Batches()), 3);
  dir_.Write("table/rows.csv", Read(dir_.path() + "/table/rows.csv") + "90,1.5,south\n");
  ASSERT_EQ(Weft({"run", "p.yml"}).exit_code, 0);
  auto [batches, ran, reused] = Batches();
  EXPECT_EQ(batches, 3);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(reused, 2);
}

// As Azure ML's many-models examples do: run() trains on a partition and returns one summary row.
TEST_F(TableTest, APartitionIsOneItemSoASummaryRowPerPartitionSucceeds) {
  Table(60);
  TablePipeline("    partition_keys: [region]\n    mini_batch_error_threshold: 0\n"
                "    error_threshold: 0\n");
  dir_.Write("src/table.py",
             "import pandas as pd\n"
             "def init():\n    pass\n"
             "def run(data, context):\n"
             "    return pd.DataFrame({'region': [context.partition_key_value['region']],\n"
             "                         'total': [data['amount'].sum()], 'rows': [len(data)]})\n");
  ProcessResult r = Weft({"run", "p.yml"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Weft({"logs", "last", "score"}).out;
  std::vector<std::string> rows = Rows("score.scores");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].substr(0, 5), "east ");
  EXPECT_NE(rows[0].find(" 20"), std::string::npos) << rows[0];
  EXPECT_EQ(rows[1].substr(0, 6), "north ");
  EXPECT_EQ(rows[2].substr(0, 6), "south ");
}

TEST_F(TableTest, AParquetTableWithoutPyarrowIsAnErrorAtTheMLTableBeforeAnythingRuns) {
  Table(3);
  dir_.Write("table/MLTable", "paths:\n  - file: ./rows.parquet\ntransformations:\n"
                              "  - read_parquet: {}\n");
  TablePipeline("");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("/table/MLTable:4:5: error: step score: read_parquet needs pyarrow"),
            std::string::npos)
      << r.err;
  EXPECT_NE(Weft({"show", "last"}).err.find("no runs yet"), std::string::npos);  // nothing ran
}

TEST_F(TableTest, APartitionKeyThatIsNoColumnIsAnErrorNamingTheColumns) {
  Table(10);
  TablePipeline("    partition_keys: [country]\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1);
  ProcessResult show = Weft({"show", "last"});
  EXPECT_NE(show.out.find("partition key country is not a column of the table (its columns: id, "
                          "amount, region)"),
            std::string::npos)
      << show.out;
}

TEST_F(ParallelTest, ASizeOverAFolderOfFilesIsAnError) {
  Files(5);
  Pipeline("    mini_batch_size: \"10kb\"\n");
  ProcessResult r = Weft({"run", "p.yml"});
  EXPECT_EQ(r.exit_code, 1);
  ProcessResult show = Weft({"show", "last"});
  EXPECT_NE(show.out.find("sizes in mini_batch_size split tables"), std::string::npos) << show.out;
}

// weft's `mltable` stand-in, in a command step whose environment has none: an MLTable input read
// into a pandas DataFrame with its transformations, a table saved as a new MLTable output.
class MltableTest : public testing::WeftTest {};

TEST_F(MltableTest, ACommandStepReadsAnMLTableInputAndSavesOne) {
  dir_.Write("table/region=north/a.csv", "id,amount,note\n1,2.5,x\n2,,y\n");
  dir_.Write("table/region=south/b.csv", "id,amount,note\n3,4.5,z\n");
  dir_.Write("table/MLTable",
             "paths:\n  - pattern: ./region=*/*.csv\n"
             "transformations:\n"
             "  - read_delimited: {delimiter: ',', header: all_files_same_headers, include_path_column: true}\n"
             "  - extract_columns_from_partition_format: {partition_format: 'region={region}/{name}.csv'}\n"
             "  - drop_columns: [note, name]\n");
  dir_.Write("src/read.py",
             "import sys, mltable\n"
             "df = mltable.load(sys.argv[1]).to_pandas_dataframe()\n"
             "print(sorted(df.columns))\n"
             "print(df['region'].tolist(), df['amount'].isna().sum())\n"
             "t = mltable.load(sys.argv[1]).take(2).keep_columns(['id'])\n"
             "print(t.to_pandas_dataframe()['id'].tolist())\n"
             "t.save(sys.argv[2])\n"
             "print(mltable.__version__)\n");
  dir_.Write("p.yml", std::string("type: pipeline\njobs:\n  read:\n    code: ./src\n"
                                  "    command: python read.py ${{inputs.t}} ${{outputs.saved}}\n"
                                  "    inputs:\n      t: {type: mltable, path: ./table}\n"
                                  "    outputs:\n      saved: {type: mltable}\n    ") + kEnv);
  ProcessResult r = Weft({"run", "p.yml"});
  ProcessResult log = Weft({"logs", "last", "read"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log.out;
  EXPECT_NE(log.out.find("['Path', 'amount', 'id', 'region']"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("['north', 'north', 'south'] 1"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("[1, 2]"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("+weft"), std::string::npos) << log.out;
  ASSERT_EQ(Weft({"get", "last", "read.saved", "got"}).exit_code, 0);
  std::string saved = Read(dir_.path() + "/got/MLTable");
  EXPECT_NE(saved.find("take: 2"), std::string::npos) << saved;
  EXPECT_NE(saved.find("keep_columns"), std::string::npos) << saved;
}

}  // namespace
}  // namespace weft
