// Reading what `apply -f` is given: files, directories or stdin holding one or more YAML documents,
// a JSON object, a JSON array or a `kind: List`, split into one manifest per object and ordered
// so that what others refer to is applied first.
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"
#include "util/result.h"

namespace magnumd::cli {

struct Manifest {
  std::string source;  // "examples/cluster.yaml" (with " #2" for the 2nd document of a file)
  util::JsonDoc doc;
};

inline constexpr size_t kMaxManifestBytes = 8 * 1024 * 1024;

// Splits one file's text. `source` names it in errors and in each Manifest.
util::Result<std::vector<Manifest>> splitManifests(std::string_view text,
                                                   const std::string& source);

// Reads every path ("-" = `in`); a directory contributes its *.yaml, *.yml and *.json files in
// name order (not recursive). Errors name the file.
util::Result<std::vector<Manifest>> loadManifests(const std::vector<std::string>& paths,
                                                  std::istream& in);

// ClusterTemplate < Cluster < NodeGroup < anything else; stable within a kind.
int applyRank(std::string_view kind);
void orderForApply(std::vector<Manifest>& manifests);

}  // namespace magnumd::cli
