// The main() every registering benchmark program shares (bench_main.cpp): each program defines
// register_all(), which registers its benchmarks at run time (their names and arguments come from
// data: expressions, example objects, programs), and main runs them with Google Benchmark's options.
#pragma once

namespace tcbpf::bench {

void register_all();

}  // namespace tcbpf::bench
