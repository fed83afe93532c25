#pragma once
// cluster_secret — the shared secret of `--cluster-secret-file`, and the challenge-response by
// which two ends of a connection prove they both hold it before CAF's BASP sees a byte.
//
//   dialer                                                   listener
//     hello = magic "ALISAv1\0" | nonce_d (32 B)   ──40 B──▶
//                                                   ◀──40 B──   hello = magic | nonce_l
//     proof_d = HMAC-SHA256(k, "dialer"|nonce_d|nonce_l) ──32 B──▶  checked in constant time
//                                                   ◀──32 B──   proof_l = HMAC(k, "listener"|nonce_l|nonce_d)
//     checks proof_l; from here on the socket carries BASP.
//
// The listener answers with its proof only after checking the dialer's, so a stranger learns a
// random nonce and nothing else; fresh nonces on both sides defeat replays, and the role labels
// defeat reflecting a proof back. It authenticates who connects; it does not encrypt the stream
// (TLS does: docs/cluster.md, "Security").
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace alisa::cluster::link {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kHelloBytes = 8 + kNonceBytes;
inline constexpr size_t kProofBytes = 32;

using nonce = std::array<uint8_t, kNonceBytes>;
using hello_message = std::array<uint8_t, kHelloBytes>;
using proof = std::array<uint8_t, kProofBytes>;

enum class link_role { dialer, listener };

class cluster_secret {
 public:
  // Reads the secret from `path`: a regular file of 16 to 4096 bytes once trailing whitespace is
  // trimmed (so `openssl rand -hex 32 > FILE` works), not readable or writable by group or others.
  // On failure nullopt and `error` names the flag, the file and what is wrong.
  static std::optional<cluster_secret> load(const std::string& path, std::string& error);
  // For tests: the bytes themselves (at least 16).
  explicit cluster_secret(std::vector<uint8_t> key) : key_(std::move(key)) {}

  // What `role` sends to prove it holds the secret, bound to both ends' nonces.
  proof prove(link_role role, const nonce& own, const nonce& peer) const;
  // Whether `received` is the proof the peer in `peer_role` owes us (constant-time compare).
  bool verify(link_role peer_role, const nonce& peer_nonce, const nonce& own_nonce,
              std::span<const uint8_t, kProofBytes> received) const;

 private:
  std::vector<uint8_t> key_;
};

// A fresh random nonce (the kernel's getrandom).
nonce fresh_nonce();
hello_message make_hello(const nonce& n);
// The nonce of a hello, or nullopt when the magic is wrong (not an alisa peer, or another version).
std::optional<nonce> parse_hello(std::span<const uint8_t, kHelloBytes> bytes);

}  // namespace alisa::cluster::link
