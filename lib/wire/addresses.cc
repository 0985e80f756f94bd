// Text forms of MacAddress, Ipv4Address and Ipv4Prefix.
//
// The parsers are strict on purpose: they read operator config and test
// fixtures, where "10.0.0.01" or "aa:bb:cc:dd:ee:f" is far more likely a typo
// than an intent, and inet_aton()'s leniency (octal, hex, short forms) would
// turn such typos into other addresses silently.
#include "wire/addresses.h"

#include <cstdio>

namespace synwave::wire {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses a decimal number in [0, max] with no sign, no leading zero (except
// "0" itself) and no other characters.
std::optional<uint32_t> ParseDecimal(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint32_t v = 0;
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

std::string MacAddress::ToString() const {
  std::string s(17, ':');
  for (size_t i = 0; i < 6; ++i) {
    s[i * 3] = kHexDigits[bytes[i] >> 4];
    s[i * 3 + 1] = kHexDigits[bytes[i] & 0x0f];
  }
  return s;
}

std::optional<MacAddress> MacAddress::Parse(std::string_view text) {
  // Exactly six two-digit groups separated by ':'.
  if (text.size() != 17) return std::nullopt;
  MacAddress m;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    int hi = HexValue(text[i * 3]);
    int lo = HexValue(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    m.bytes[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return m;
}

std::string Ipv4Address::ToString() const {
  char buf[16];  // "255.255.255.255" and NUL
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", value >> 24,
                (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
  return buf;
}

std::optional<Ipv4Address> Ipv4Address::Parse(std::string_view text) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = i < 3 ? text.find('.') : text.size();
    if (end == std::string_view::npos) return std::nullopt;
    std::optional<uint32_t> octet = ParseDecimal(text.substr(0, end), 255);
    if (!octet) return std::nullopt;
    value = (value << 8) | *octet;
    text.remove_prefix(i < 3 ? end + 1 : end);
  }
  return Ipv4Address{value};
}

std::string Ipv4Prefix::ToString() const {
  return address.ToString() + "/" + std::to_string(length);
}

std::optional<Ipv4Prefix> Ipv4Prefix::Parse(std::string_view text) {
  size_t slash = text.find('/');
  std::optional<Ipv4Address> address =
      Ipv4Address::Parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  if (slash == std::string_view::npos) return Ipv4Prefix{*address, 32};
  std::optional<uint32_t> length = ParseDecimal(text.substr(slash + 1), 32);
  if (!length) return std::nullopt;
  return Ipv4Prefix{*address, static_cast<uint8_t>(*length)};
}

}  // namespace synwave::wire
