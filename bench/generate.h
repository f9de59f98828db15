// Generators of large Azure ML v2 pipelines for benchmarks, in three shapes.
#pragma once

#include <string>

namespace weft::bench {

enum class Shape {
  kWide,     // N-1 independent steps and one fan-in step that consumes all of them
  kChain,    // N steps, each consuming the one before
  kLayered,  // layers of width W; each step consumes two steps of the layer before
  kInline,   // N independent inline command jobs, each with its own command, environment
             // reference and output, as published pipeline files write them
};

const char* ShapeName(Shape s);

// Writes `pipeline.yml` and the component files it uses into `dir` (which must exist) and returns
// the pipeline's path. Every step runs `command` ("true" by default: the benchmark measures weft)
// with "{inputs}" replaced by its inputs' values and "{out}" by its output folder; a command
// without either gets the inputs and then the output appended.
std::string GeneratePipeline(const std::string& dir, Shape shape, int steps, int width = 100,
                             const std::string& command = "true");

}  // namespace weft::bench
