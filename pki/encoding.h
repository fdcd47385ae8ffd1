// Text encodings for digests, fingerprints and wrapped keys.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace magnumd::pki {

// Standard base64 with padding, one line.
std::string base64Encode(std::span<const unsigned char> bytes);
// Strict: only the standard alphabet, correct padding, no whitespace; nullopt otherwise.
std::optional<std::string> base64Decode(std::string_view text);

// "3f9a..." (lowercase, no separators), as kubeadm's caCertHashes.
std::string hexLower(std::span<const unsigned char> bytes);
// "3F:9A:..." as `openssl x509 -fingerprint` prints.
std::string hexColonUpper(std::span<const unsigned char> bytes);

}  // namespace magnumd::pki
