#include "cli/manifest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "api/object.h"
#include "util/yaml.h"

namespace magnumd::cli {

namespace fs = std::filesystem;
using util::ErrorCode;
using util::Json;
using util::JsonDoc;
using util::makeError;

namespace {

JsonDoc copyOf(const Json& value) {
  JsonDoc doc;
  doc.CopyFrom(value, doc.GetAllocator());
  return doc;
}

// Flattens arrays and `kind: List` documents into their items.
util::Status appendObjects(const Json& value, const std::string& source,
                           std::vector<JsonDoc>& out) {
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) RETURN_IF_ERROR(appendObjects(item, source, out));
    return {};
  }
  if (!value.IsObject()) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("{}: expected an object, got {}", source, util::typeName(value)));
  }
  auto kind = util::stringMember(value, "kind");
  const Json* items = util::member(value, "items");
  if (kind && kind->size() >= 4 && kind->ends_with("List") && items && items->IsArray()) {
    for (const auto& item : items->GetArray()) RETURN_IF_ERROR(appendObjects(item, source, out));
    return {};
  }
  out.push_back(copyOf(value));
  return {};
}

bool hasManifestExtension(const fs::path& p) {
  auto ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

util::Result<std::string> readAll(std::istream& in, const std::string& source) {
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxManifestBytes) {
      return makeError(ErrorCode::TooLarge, fmt::format("{}: larger than the {} MiB limit", source,
                                                        kMaxManifestBytes / (1024 * 1024)));
    }
  }
  if (in.bad()) return makeError(ErrorCode::BadRequest, fmt::format("{}: read failed", source));
  return text;
}

util::Status loadFile(const fs::path& path, std::vector<Manifest>& out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  ASSIGN_OR_RETURN(std::string text, readAll(file, path.string()));
  ASSIGN_OR_RETURN(auto manifests, splitManifests(text, path.string()));
  std::move(manifests.begin(), manifests.end(), std::back_inserter(out));
  return {};
}

util::Status loadPath(const std::string& arg, std::istream& in, std::vector<Manifest>& out) {
  if (arg == "-") {
    ASSIGN_OR_RETURN(std::string text, readAll(in, "<stdin>"));
    ASSIGN_OR_RETURN(auto manifests, splitManifests(text, "<stdin>"));
    std::move(manifests.begin(), manifests.end(), std::back_inserter(out));
    return {};
  }
  std::error_code ec;
  fs::path path(arg);
  if (!fs::exists(path, ec)) {
    return makeError(ErrorCode::NotFound, fmt::format("{}: no such file or directory", arg));
  }
  if (!fs::is_directory(path, ec)) return loadFile(path, out);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_regular_file() && hasManifestExtension(entry.path()))
      files.push_back(entry.path());
  }
  if (ec) return makeError(ErrorCode::BadRequest, fmt::format("{}: {}", arg, ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return makeError(ErrorCode::NotFound,
                     fmt::format("{}: no *.yaml, *.yml or *.json files in this directory", arg));
  }
  for (const auto& f : files) RETURN_IF_ERROR(loadFile(f, out));
  return {};
}

}  // namespace

util::Result<std::vector<Manifest>> splitManifests(std::string_view text,
                                                   const std::string& source) {
  std::vector<JsonDoc> docs;
  if (util::looksLikeYaml(text)) {
    auto parsed = util::parseYamlDocuments(text);
    if (!parsed.ok()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("{}: {}", source, parsed.error().message));
    }
    for (const auto& doc : *parsed) RETURN_IF_ERROR(appendObjects(doc, source, docs));
  } else {
    auto parsed = util::parseJson(text);
    if (!parsed.ok()) {
      return makeError(ErrorCode::BadRequest,
                       fmt::format("{}: {}", source, parsed.error().message));
    }
    RETURN_IF_ERROR(appendObjects(*parsed, source, docs));
  }
  std::vector<Manifest> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string name = docs.size() == 1 ? source : fmt::format("{} #{}", source, i + 1);
    out.push_back(Manifest{std::move(name), std::move(docs[i])});
  }
  return out;
}

util::Result<std::vector<Manifest>> loadManifests(const std::vector<std::string>& paths,
                                                  std::istream& in) {
  std::vector<Manifest> out;
  for (const auto& p : paths) RETURN_IF_ERROR(loadPath(p, in, out));
  return out;
}

int applyRank(std::string_view kind) {
  auto resolved = api::kindFromAnyName(kind);
  if (!resolved) return 9;
  switch (*resolved) {
    case api::Kind::Quota:  // before the clusters it limits
    case api::Kind::ClusterTemplate:
      return 0;
    case api::Kind::Cluster:
      return 1;
    case api::Kind::NodeGroup:
      return 2;
    case api::Kind::Event:
    case api::Kind::ClusterSecret:
      return 3;
  }
  return 9;
}

void orderForApply(std::vector<Manifest>& manifests) {
  std::stable_sort(manifests.begin(), manifests.end(), [](const Manifest& a, const Manifest& b) {
    return applyRank(util::stringMember(a.doc, "kind").value_or("")) <
           applyRank(util::stringMember(b.doc, "kind").value_or(""));
  });
}

}  // namespace magnumd::cli
