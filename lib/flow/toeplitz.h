// The Toeplitz hash that NICs compute for receive-side scaling (RSS), in
// software, so that a load generator on a multi-queue port can choose source
// ports whose replies the NIC steers to the queue of the core that opened the
// connection, and so that tests can predict the queue of a given 4-tuple.
//
// Definition (Microsoft "RSS hashing functions"; Intel 82599 datasheet, RSS
// hash function): the input bytes are read as one bit string, most significant
// bit of input[0] first; for every set input bit i the 32 key bits starting at
// key bit i are XOR-ed into the result. For IPv4/TCP the input is the 12 bytes
// source address, destination address, source port, destination port, in
// network byte order as they appear in the packet; for IPv6/TCP the same
// fields, 36 bytes. A 40-byte key (most NICs)
// or 52-byte key (Intel i40e/ice) covers inputs of up to 36 or 48 bytes; the
// 4-tuple reads only key bits 0..126, that is the first 16 bytes.
//
// To steer replies: the NIC hashes the received packet, whose source is the
// server. A client that wants the reply to port `p` on queue q picks p such
// that RssQueue(Hash(server_ip, client_ip, server_port, p), reta) == q, with
// the key and indirection table read back from the port (drivers' default
// keys differ). The hash is linear over GF(2), so varying only the port
// changes it by table lookups on the two port bytes.
//
// The hash is public and linear: fine for spreading trusted traffic over
// queues, not for a hash table that attackers fill (see flow_key.h).
#ifndef SYNWAVE_FLOW_TOEPLITZ_H_
#define SYNWAVE_FLOW_TOEPLITZ_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace synwave::flow {

// The key of the Microsoft verification examples, also the default of DPDK's
// rte_thash tests and of several drivers.
inline constexpr std::array<uint8_t, 40> kMicrosoftRssKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
    0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
    0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

// 0x6d5a repeated: the key repeats every 16 bits, so swapping the addresses
// (32 bits apart) and the ports (16 bits apart) leaves the hash unchanged and
// both directions of a connection land on the same queue (Woo and Park,
// "Scalable TCP Session Monitoring with Symmetric Receive-side Scaling").
inline constexpr std::array<uint8_t, 40> kSymmetricRssKey = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

// Bit by bit, as the specification states it: the reference the table form
// is tested against. Key bits past key_len read as zero (hardware never gets
// there: its inputs are at most key_len - 4 bytes).
inline uint32_t ToeplitzHash(const uint8_t* key, size_t key_len,
                             const uint8_t* input, size_t input_len) {
  auto key_byte = [&](size_t i) -> uint8_t { return i < key_len ? key[i] : 0; };
  // The 32 key bits that start at the current input bit.
  uint32_t window = uint32_t{key_byte(0)} << 24 | uint32_t{key_byte(1)} << 16 |
                    uint32_t{key_byte(2)} << 8 | key_byte(3);
  uint32_t result = 0;
  for (size_t i = 0; i < input_len; ++i) {
    const uint8_t next = key_byte(i + 4);
    for (int bit = 7; bit >= 0; --bit) {
      if ((input[i] >> bit) & 1) result ^= window;
      window = window << 1 | ((next >> bit) & 1);
    }
  }
  return result;
}

namespace toeplitz_internal {

// One table per input byte: the hash of each value of that byte with every
// other input byte zero. Toeplitz is linear, so the hash of an input is the
// XOR of its bytes' entries.
template <size_t kInputLen>
void FillByteTables(const uint8_t* key, size_t key_len,
                    std::array<std::array<uint32_t, 256>, kInputLen>& tables) {
  for (size_t byte = 0; byte < kInputLen; ++byte) {
    // Contribution of each single bit of this input byte.
    uint32_t bit_value[8];
    for (int bit = 0; bit < 8; ++bit) {
      uint8_t input[kInputLen] = {};
      input[byte] = static_cast<uint8_t>(1u << bit);
      bit_value[bit] = ToeplitzHash(key, key_len, input, kInputLen);
    }
    std::array<uint32_t, 256>& table = tables[byte];
    table[0] = 0;
    for (unsigned v = 1; v < 256; ++v) {
      // v = (v with its lowest set bit cleared) + that bit.
      table[v] = table[v & (v - 1)] ^ bit_value[std::countr_zero(v)];
    }
  }
}

}  // namespace toeplitz_internal

// The IPv4/TCP (and IPv4/UDP) 4-tuple hash by table: Toeplitz is linear, so
// the hash is the XOR of one precomputed value per input byte, 12 lookups in
// 12 KiB of tables built once from the key.
class ToeplitzIpv4Tcp {
 public:
  static constexpr size_t kInputLen = 12;

  // key_len is 40 or 52 on real NICs; only the first 16 bytes matter here.
  ToeplitzIpv4Tcp(const uint8_t* key, size_t key_len) {
    toeplitz_internal::FillByteTables(key, key_len, table_);
  }

  // Addresses and ports in host byte order; hashed in network order, as
  // the NIC reads them from the packet.
  uint32_t Hash(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
                uint16_t dst_port) const {
    return table_[0][src_ip >> 24] ^ table_[1][(src_ip >> 16) & 0xff] ^
           table_[2][(src_ip >> 8) & 0xff] ^ table_[3][src_ip & 0xff] ^
           table_[4][dst_ip >> 24] ^ table_[5][(dst_ip >> 16) & 0xff] ^
           table_[6][(dst_ip >> 8) & 0xff] ^ table_[7][dst_ip & 0xff] ^
           table_[8][src_port >> 8] ^ table_[9][src_port & 0xff] ^
           table_[10][dst_port >> 8] ^ table_[11][dst_port & 0xff];
  }

 private:
  std::array<std::array<uint32_t, 256>, kInputLen> table_;
};

// The IPv6/TCP 4-tuple hash by table (what RTE_ETH_RSS_NONFRAG_IPV6_TCP
// hashes): 36 input bytes, the source address, the destination address
// (16 bytes each, as in the header), the source port and the destination
// port. They read key bits 0..318, so the key must hold 40 bytes
// (kMinKeyLen: every NIC's does); 36 lookups in 36 KiB of tables.
class ToeplitzIpv6Tcp {
 public:
  static constexpr size_t kInputLen = 36;
  static constexpr size_t kMinKeyLen = kInputLen + 4;

  ToeplitzIpv6Tcp(const uint8_t* key, size_t key_len) {
    toeplitz_internal::FillByteTables(key, key_len, table_);
  }

  // The addresses as their 16 bytes in network order; the ports in host
  // byte order.
  uint32_t Hash(const uint8_t* src_ip, const uint8_t* dst_ip,
                uint16_t src_port, uint16_t dst_port) const {
    uint32_t h = table_[32][src_port >> 8] ^ table_[33][src_port & 0xff] ^
                 table_[34][dst_port >> 8] ^ table_[35][dst_port & 0xff];
    for (size_t i = 0; i < 16; ++i) {
      h ^= table_[i][src_ip[i]] ^ table_[16 + i][dst_ip[i]];
    }
    return h;
  }

 private:
  std::array<std::array<uint32_t, 256>, kInputLen> table_;
};

// The queue the NIC delivers a packet with this hash to. NICs index the
// redirection table (RETA) with the low bits of the hash (82599: the 7 low
// bits for its 128 entries; DPDK's rte_thash helpers assume the same), and
// DPDK RETA sizes are powers of two (64, 128, 512, ...), where
// hash % reta_size == hash & (reta_size - 1). reta_size must be > 0; the
// table is the one read back with rte_eth_dev_rss_reta_query.
inline uint16_t RssQueue(uint32_t hash, const uint16_t* reta,
                         size_t reta_size) {
  return reta[hash % reta_size];
}

}  // namespace synwave::flow

#endif  // SYNWAVE_FLOW_TOEPLITZ_H_
