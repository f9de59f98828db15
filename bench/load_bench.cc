// Load + validate (parse, model, flatten, resolve bindings) of generated pipelines.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "generate.h"
#include "graph/graph.h"
#include "spec/loader.h"

namespace {

using weft::bench::Shape;

void BM_LoadValidate(benchmark::State& state) {
  Shape shape = static_cast<Shape>(state.range(0));
  int steps = static_cast<int>(state.range(1));
  std::string dir = std::filesystem::temp_directory_path() /
                    ("weft-bench-" + std::string(ShapeName(shape)) + "-" + std::to_string(steps));
  std::filesystem::create_directories(dir);
  std::string path = weft::bench::GeneratePipeline(dir, shape, steps);
  size_t errors = 0;
  for (auto _ : state) {
    weft::Diagnostics diags;
    weft::spec::EmptyRegistry registry;
    auto p = weft::spec::LoadPipeline(path, registry, diags);
    weft::graph::Graph g = weft::graph::Build(*p, {}, diags);
    benchmark::DoNotOptimize(g.steps.data());
    errors += diags.error_count();
  }
  if (errors != 0) state.SkipWithError("the generated pipeline did not validate");
  state.SetLabel(std::string(ShapeName(shape)) + " " + std::to_string(steps) + " steps");
  state.counters["us_per_step"] = benchmark::Counter(
      static_cast<double>(steps), benchmark::Counter::kIsIterationInvariantRate |
                                      benchmark::Counter::kInvert);
  std::filesystem::remove_all(dir);
}

BENCHMARK(BM_LoadValidate)
    ->ArgsProduct({{static_cast<int>(Shape::kWide), static_cast<int>(Shape::kChain),
                    static_cast<int>(Shape::kLayered)},
                   {1000, 10000, 100000}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
