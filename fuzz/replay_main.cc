// Replays a corpus through the fuzz entry without libFuzzer, so any compiler (and the ASan CI
// build) runs it: every file as is, then a bounded number of deterministic mutations of each.
//
//   fuzz_replay [--mutations N] [--seed S] [--last-input FILE] PATH...   (files or directories)
//
// --last-input writes each input to FILE before running it, so after a crash FILE holds the input
// that crashed (feed it back alone, or to the libFuzzer binary, to reproduce).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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

std::string g_last_input;

void run(const std::string& input) {
  if (!g_last_input.empty()) {
    std::ofstream out(g_last_input, std::ios::binary | std::ios::trunc);
    out << input;
  }
  magnumd::fuzz::fuzzOne(reinterpret_cast<const uint8_t*>(input.data()), input.size());
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
    run(corpus[i]);
    ++runs;
    for (size_t m = 0; m < mutations; ++m) {
      run(mutate(corpus[i], corpus, rng));
      ++runs;
    }
  }
  std::printf("fuzz_replay: %zu inputs (%zu files, %zu mutations each, seed %llu): no crash\n", runs,
              corpus.size(), mutations, static_cast<unsigned long long>(seed));
  return 0;
}
