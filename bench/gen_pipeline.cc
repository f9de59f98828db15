// weft_gen_pipeline SHAPE STEPS DIR [WIDTH] [COMMAND]: writes a generated pipeline into DIR.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "generate.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s wide|chain|layered|inline STEPS DIR [WIDTH] [COMMAND]\n", argv[0]);
    return 2;
  }
  std::string shape = argv[1];
  weft::bench::Shape s = shape == "chain"     ? weft::bench::Shape::kChain
                         : shape == "layered" ? weft::bench::Shape::kLayered
                         : shape == "inline"  ? weft::bench::Shape::kInline
                                              : weft::bench::Shape::kWide;
  std::filesystem::create_directories(argv[3]);
  std::string path = weft::bench::GeneratePipeline(argv[3], s, std::atoi(argv[2]),
                                                   argc > 4 ? std::atoi(argv[4]) : 100,
                                                   argc > 5 ? argv[5] : "true");
  std::printf("%s\n", path.c_str());
  return 0;
}
