#include "pki/encoding.h"

#include <openssl/evp.h>

namespace magnumd::pki {

std::string base64Encode(std::span<const unsigned char> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (c == '=') {
      // Padding only in the last two positions, and nothing but padding after it.
      if (i + 2 < text.size()) return std::nullopt;
      ++padding;
    } else if (!alphabet || padding > 0) {
      return std::nullopt;
    }
  }
  // EVP_DecodeBlock counts padding as zero bytes; the caller gets only the real ones.
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) < padding) return std::nullopt;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

namespace {
std::string hex(std::span<const unsigned char> bytes, const char* digits, bool colons) {
  std::string out;
  out.reserve(bytes.size() * 3);
  for (unsigned char b : bytes) {
    if (colons && !out.empty()) out += ':';
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}
}  // namespace

std::string hexLower(std::span<const unsigned char> bytes) {
  return hex(bytes, "0123456789abcdef", false);
}

std::string hexColonUpper(std::span<const unsigned char> bytes) {
  return hex(bytes, "0123456789ABCDEF", true);
}

}  // namespace magnumd::pki
