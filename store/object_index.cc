#include "store/object_index.h"

#include <fmt/format.h>

#include <array>

#include "util/json.h"

namespace magnumd::store {

using util::ErrorCode;
using util::makeError;

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view in) {
  std::array<int, 256> value;
  value.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i)
    value[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (value[c] < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(value[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

util::Error badToken(std::string_view why) {
  return makeError(ErrorCode::BadRequest,
                   fmt::format("continue: invalid continue token ({}); pass the token of the "
                               "previous page unchanged, or start over without one",
                               why));
}

}  // namespace

std::string encodeContinueToken(const ContinueToken& token) {
  util::JsonDoc doc;
  auto& a = doc.GetAllocator();
  doc.SetObject();
  doc.AddMember("v", 1, a);
  doc.AddMember("rv", token.revision, a);
  doc.AddMember("kind", util::str(api::kindInfo(token.kind).name, a), a);
  doc.AddMember("scope", util::str(token.scope_namespace, a), a);
  doc.AddMember("ns", util::str(token.last_namespace, a), a);
  doc.AddMember("name", util::str(token.last_name, a), a);
  return base64UrlEncode(util::toJson(doc));
}

util::Result<ContinueToken> decodeContinueToken(std::string_view text) {
  if (text.size() > 4096) return badToken("longer than 4096 characters");
  auto raw = base64UrlDecode(text);
  if (!raw) return badToken("not base64url");
  auto doc = util::parseJson(*raw);
  if (!doc.ok() || !doc->IsObject()) return badToken("not a token this server issued");
  auto version = util::intMember(*doc, "v");
  auto revision = util::intMember(*doc, "rv");
  auto kind = util::stringMember(*doc, "kind");
  auto scope = util::stringMember(*doc, "scope");
  auto ns = util::stringMember(*doc, "ns");
  auto name = util::stringMember(*doc, "name");
  if (version != 1 || !revision || *revision < 0 || !kind || !scope || !ns || !name) {
    return badToken("missing or malformed fields");
  }
  auto k = api::kindFromAnyName(*kind);
  if (!k) return badToken(fmt::format("unknown kind \"{}\"", *kind));
  return ContinueToken{*revision, *k, *scope, *ns, *name};
}

StoredObject ObjectIndex::findStored(const api::ObjectKey& key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? StoredObject{} : it->second;
}

void ObjectIndex::put(ObjectPtr object, int64_t bytes, int64_t row) {
  api::ObjectKey key = keyOf(*object);
  auto [it, added] = objects_.try_emplace(std::move(key));
  usage_.add(it->first.kind, it->first.namespace_, bytes - it->second.bytes, added ? 1 : 0);
  it->second = StoredObject{std::move(object), bytes, row};
}

void ObjectIndex::erase(const api::ObjectKey& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  usage_.add(key.kind, key.namespace_, -it->second.bytes, -1);
  objects_.erase(it);
}

util::Result<ListPage> ObjectIndex::list(const ListOptions& options, int64_t revision) const {
  if (options.limit < 0) {
    return makeError(ErrorCode::BadRequest,
                     fmt::format("limit: {} is negative; use 0 for no limit", options.limit));
  }
  auto in_scope = [&](const api::ObjectKey& key) {
    return key.kind == options.kind &&
           (options.namespace_.empty() || key.namespace_ == options.namespace_);
  };
  auto it = objects_.lower_bound(api::ObjectKey{options.kind, options.namespace_, ""});
  if (!options.continue_token.empty()) {
    ASSIGN_OR_RETURN(ContinueToken token, decodeContinueToken(options.continue_token));
    if (token.kind != options.kind || token.scope_namespace != options.namespace_) {
      return badToken(fmt::format("issued for a list of {} in namespace \"{}\"",
                                  api::kindInfo(token.kind).plural, token.scope_namespace));
    }
    if (token.revision > revision) return badToken("from a newer revision than this store's");
    it = objects_.upper_bound(api::ObjectKey{token.kind, token.last_namespace, token.last_name});
    revision = token.revision;
  }
  ListPage page;
  page.revision = revision;
  const size_t limit = options.limit > 0 ? static_cast<size_t>(options.limit) : SIZE_MAX;
  for (; it != objects_.end() && in_scope(it->first); ++it) {
    if (options.filter && !options.filter(*it->second.object)) continue;
    if (page.items.size() == limit) break;
    page.items.push_back(it->second.object);
  }
  if (it == objects_.end() || !in_scope(it->first)) return page;
  // `it` is the first match not returned: there is a next page.
  const api::Object& last = *page.items.back();
  page.continue_token = encodeContinueToken(
      {revision, options.kind, options.namespace_, last.metadata.namespace_, last.metadata.name});
  if (options.filter) {
    page.remaining = 1;  // at least this one; counting every match would cost a full scan
  } else {
    for (; it != objects_.end() && in_scope(it->first); ++it) ++page.remaining;
  }
  return page;
}

}  // namespace magnumd::store
