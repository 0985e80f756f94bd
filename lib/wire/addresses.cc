// Text forms of MacAddress, Ipv4Address, Ipv6Address and their prefixes.
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

namespace {

// Parses "g:g:...:g" (1-4 hex digits each) into `out`, at most `max` groups;
// with `v4_tail` the last piece may be a dotted quad, which fills two
// groups. An empty text is zero groups. Returns the number of groups, or -1.
int ParseGroups(std::string_view text, bool v4_tail, int max, uint16_t* out) {
  if (text.empty()) return 0;
  int n = 0;
  while (true) {
    const size_t colon = text.find(':');
    const std::string_view piece = text.substr(0, colon);
    const bool last = colon == std::string_view::npos;
    if (last && v4_tail && piece.find('.') != std::string_view::npos) {
      const std::optional<Ipv4Address> v4 = Ipv4Address::Parse(piece);
      if (!v4 || n + 2 > max) return -1;
      out[n++] = static_cast<uint16_t>(v4->value >> 16);
      out[n++] = static_cast<uint16_t>(v4->value);
      return n;
    }
    if (piece.empty() || piece.size() > 4 || n + 1 > max) return -1;
    uint16_t g = 0;
    for (char c : piece) {
      const int h = HexValue(c);
      if (h < 0) return -1;
      g = static_cast<uint16_t>((g << 4) | h);
    }
    out[n++] = g;
    if (last) return n;
    text.remove_prefix(colon + 1);
  }
}

}  // namespace

std::string Ipv6Address::ToString() const {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) {
    g[i] = static_cast<uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  }
  // RFC 5952 4.2: the longest run of zero groups, the first if tied, and
  // only a run of at least two.
  int best = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string s;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    std::snprintf(buf, sizeof(buf), "%x", g[i]);
    s += buf;
  }
  return s;
}

std::optional<Ipv6Address> Ipv6Address::Parse(std::string_view text) {
  uint16_t head[8];
  uint16_t tail[8];
  int num_head;
  int num_tail = 0;
  const size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    num_head = ParseGroups(text, /*v4_tail=*/true, 8, head);
    if (num_head != 8) return std::nullopt;
  } else {
    const std::string_view after = text.substr(gap + 2);
    // One "::" only, and it stands for at least one group.
    if (after.find("::") != std::string_view::npos) return std::nullopt;
    const std::string_view before = text.substr(0, gap);
    num_head = ParseGroups(before, /*v4_tail=*/false, 7, head);
    if (num_head < 0) return std::nullopt;
    num_tail = ParseGroups(after, /*v4_tail=*/true, 7 - num_head, tail);
    if (num_tail < 0) return std::nullopt;
  }
  uint16_t g[8] = {};
  for (int i = 0; i < num_head; ++i) g[i] = head[i];
  for (int i = 0; i < num_tail; ++i) g[8 - num_tail + i] = tail[i];
  Ipv6Address a;
  for (int i = 0; i < 8; ++i) {
    a.bytes[2 * i] = static_cast<uint8_t>(g[i] >> 8);
    a.bytes[2 * i + 1] = static_cast<uint8_t>(g[i]);
  }
  return a;
}

bool Ipv6Prefix::Contains(const Ipv6Address& a) const {
  const auto mask = [](int bits) -> uint64_t {
    if (bits <= 0) return 0;
    if (bits >= 64) return ~uint64_t{0};
    return ~uint64_t{0} << (64 - bits);
  };
  const uint64_t high_mask = mask(length);
  const uint64_t low_mask = mask(int{length} - 64);
  return ((a.High() ^ address.High()) & high_mask) == 0 &&
         ((a.Low() ^ address.Low()) & low_mask) == 0;
}

std::string Ipv6Prefix::ToString() const {
  return address.ToString() + "/" + std::to_string(length);
}

std::optional<Ipv6Prefix> Ipv6Prefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  std::optional<Ipv6Address> address =
      Ipv6Address::Parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  if (slash == std::string_view::npos) return Ipv6Prefix{*address, 128};
  std::optional<uint32_t> length = ParseDecimal(text.substr(slash + 1), 128);
  if (!length) return std::nullopt;
  return Ipv6Prefix{*address, static_cast<uint8_t>(*length)};
}

}  // namespace synwave::wire
