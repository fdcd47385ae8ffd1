// Replays a corpus through the fuzz entry without libFuzzer, so any compiler (and the ASan CI
// build) runs it: every file as is, then a bounded number of deterministic mutations of each
// file up to 64 KiB (larger files, which exist to reach the size limits, run only as they are).
//
//   fuzz_replay [--mutations N] [--seed S] [--last-input FILE] [--max-seconds S] [--rss-limit-mb M]
//               PATH...   (files or directories)
//
// --last-input writes each input to FILE before running it, so after a crash FILE holds the input
// that crashed (feed it back alone, or to the libFuzzer binary, to reproduce).
// --max-seconds and --rss-limit-mb fail the run when one input costs more CPU time, or the process
// grows larger, than that: like libFuzzer's -timeout and -rss_limit_mb, they turn an amplification
// (a small input that costs a lot) into a finding rather than a slow or swapping CI. The time is
// the process's CPU time, not the wall clock, so a CI machine busy with other jobs does not turn
// an ordinary input into a finding.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_entry.h"

namespace {

// Fragments that steer mutations towards the interesting corners of JSON, YAML and selectors.
const std::vector<std::string> kTokens = {
    "{", "}", "[", "]", "\"", ":", ",", "null", "true", "false", "-1", "0", "3", "1e309", "2.5",
    "9223372036854775808", "\\u0000", "\\ud800", "\n---\n", "\n  ", "- ", "!!str ", "&a ", "*a", "!",
    "!=", "==", " in (", " notin (", ")", "\"labels\":{", "\"spec\":{", "\"metadata\":{\"name\":\"",
    "\"kind\":\"Cluster\"", "\"kind\":\"NodeGroup\"", "\"kind\":\"ClusterTemplate\"", "\"kind\":\"Event\"",
    "\"masterCount\":", "\"nodeCount\":", "\"coe\":\"mesos\"", "\"networkDriver\":\"calico\"",
    "\"flannel_backend\":\"", "\"dockerVolumeSize\":", "\"conditions\":[{", "\xff", "\xc3\x28"};

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string mutate(const std::string& input, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  std::string s = input;
  int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty()) s[pos % s.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // insert a token
        s.insert(pos, kTokens[rng() % kTokens.size()]);
        break;
      case 2: {  // delete a range
        size_t len = 1 + rng() % 16;
        if (pos < s.size()) s.erase(pos, len);
        break;
      }
      case 3: {  // duplicate a range (deepens nesting)
        if (s.empty()) break;
        size_t start = rng() % s.size();
        size_t len = 1 + rng() % std::min<size_t>(64, s.size() - start);
        s.insert(pos, s.substr(start, len));
        break;
      }
      case 4: {  // splice in part of another input
        const std::string& other = corpus[rng() % corpus.size()];
        if (other.empty()) break;
        size_t start = rng() % other.size();
        s.insert(pos, other.substr(start, 1 + rng() % 128));
        break;
      }
      default:  // overwrite a byte with a random one
        if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng() & 0xff);
        break;
    }
  }
  return s;
}

constexpr size_t kMaxMutatedInput = 64 * 1024;

std::string g_last_input;
double g_max_seconds = 0;  // 0: no limit
long g_rss_limit_mb = 0;   // 0: no limit

long peakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// User and system time of the process (one thread: the input's own cost).
double cpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void run(const std::string& input, const std::string& name) {
  if (!g_last_input.empty()) {
    std::ofstream out(g_last_input, std::ios::binary | std::ios::trunc);
    out << input;
  }
  const double start = cpuSeconds();
  magnumd::fuzz::fuzzOne(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  const double seconds = cpuSeconds() - start;
  if (g_max_seconds > 0 && seconds > g_max_seconds) {
    std::fprintf(stderr,
                 "fuzz_replay: %s (or a mutation of it, %zu bytes) used %.2f s of CPU; the limit "
                 "is %.2f s\n",
                 name.c_str(), input.size(), seconds, g_max_seconds);
    std::abort();
  }
  if (g_rss_limit_mb > 0 && peakRssMb() > g_rss_limit_mb) {
    std::fprintf(stderr, "fuzz_replay: %s (or a mutation of it, %zu bytes) grew the process to %ld MB; the limit is %ld MB\n",
                 name.c_str(), input.size(), peakRssMb(), g_rss_limit_mb);
    std::abort();
  }
}

}  // namespace

int main(int argc, char** argv) {
  size_t mutations = 100;
  uint64_t seed = 1;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--mutations" && i + 1 < argc) {
      mutations = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--last-input" && i + 1 < argc) {
      g_last_input = argv[++i];
    } else if (arg == "--max-seconds" && i + 1 < argc) {
      g_max_seconds = std::strtod(argv[++i], nullptr);
    } else if (arg == "--rss-limit-mb" && i + 1 < argc) {
      g_rss_limit_mb = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      paths.emplace_back(arg);
    }
  }
  std::vector<std::string> corpus;
  std::vector<std::string> names;
  for (const auto& path : paths) {
    if (std::filesystem::is_directory(path)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());  // deterministic order, so a seed reproduces a run
      for (const auto& f : files) {
        corpus.push_back(readFile(f));
        names.push_back(f.string());
      }
    } else if (std::filesystem::is_regular_file(path)) {
      corpus.push_back(readFile(path));
      names.push_back(path.string());
    } else {
      std::fprintf(stderr, "fuzz_replay: %s is not a file or directory\n", path.c_str());
      return 2;
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "usage: fuzz_replay [--mutations N] [--seed S] [--last-input FILE] PATH...\n");
    return 2;
  }
  std::mt19937_64 rng(seed);
  size_t runs = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    run(corpus[i], names[i]);
    ++runs;
    if (corpus[i].size() > kMaxMutatedInput) continue;
    for (size_t m = 0; m < mutations; ++m) {
      run(mutate(corpus[i], corpus, rng), names[i]);
      ++runs;
    }
  }
  std::printf("fuzz_replay: %zu inputs (%zu files, up to %zu mutations each, seed %llu): no crash, "
              "peak RSS %ld MB\n",
              runs, corpus.size(), mutations, static_cast<unsigned long long>(seed), peakRssMb());
  return 0;
}
