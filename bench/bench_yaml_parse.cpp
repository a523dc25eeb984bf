// The "bare yaml-cpp parse" baseline for scripts/bench plan: how long YAML::LoadFile takes on a
// runbook, with no schema, model or graph. Prints the best of RUNS (default 3) in milliseconds.
//
//   bench_yaml_parse FILE [RUNS]
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
    return 64;
  }
  const std::string file = argv[1];
  const int runs = argc == 3 ? std::atoi(argv[2]) : 3;
  if (runs < 1) {
    std::fprintf(stderr, "%s: RUNS must be at least 1\n", argv[0]);
    return 64;
  }
  double best = std::numeric_limits<double>::infinity();
  std::size_t top_level = 0;
  try {
    for (int i = 0; i < runs; ++i) {
      const auto start = std::chrono::steady_clock::now();
      const YAML::Node doc = YAML::LoadFile(file);
      const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
      top_level = doc.size();  // keeps the parse from being optimised away
      if (took.count() < best) best = took.count();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s: %s\n", argv[0], file.c_str(), e.what());
    return 1;
  }
  if (top_level == 0) {
    std::fprintf(stderr, "%s: %s: empty document\n", argv[0], file.c_str());
    return 1;
  }
  std::printf("%.1f\n", best);
  return 0;
}
