// libFuzzer target: the whole loader and graph builder on arbitrary bytes.
//
// The input is written to a file (the loader reads files, resolves relative references, and must
// refuse hostile input within its limits); every outcome but a crash, a hang or a sanitizer report
// is fine.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "graph/graph.h"
#include "spec/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/weft-fuzz-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  std::string path = dir + "/pipeline.yml";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  weft::Diagnostics diags;
  weft::spec::EmptyRegistry registry;
  std::unique_ptr<weft::spec::LoadedPipeline> p = weft::spec::LoadPipeline(path, registry, diags);
  if (p) {
    weft::graph::BuildOptions options;
    options.set_inputs.emplace_back("x", "1");
    weft::graph::Graph g = weft::graph::Build(*p, options, diags);
    (void)weft::graph::TopologicalOrder(g);
  }
  (void)diags.FormatAll();
  return 0;
}
