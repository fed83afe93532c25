#include "cluster/link/cluster_secret.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace alisa::cluster::link {
namespace {

constexpr char kMagic[8] = {'A', 'L', 'I', 'S', 'A', 'v', '1', '\0'};
constexpr size_t kMinKeyBytes = 16;
constexpr size_t kMaxKeyBytes = 4096;

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::optional<cluster_secret> cluster_secret::load(const std::string& path, std::string& error) {
  const std::string what = "--cluster-secret-file " + path + ": ";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = what + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = what + "not a regular file";
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    error = what + "group or others may access it (mode " + octal_mode(st.st_mode) +
            "); chmod 600 it";
    return std::nullopt;
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyBytes) * 2) {
    error = what + "larger than " + std::to_string(kMaxKeyBytes) + " bytes; is it the right file?";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    error = what + "cannot be read";
    return std::nullopt;
  }
  while (!key.empty() && std::strchr(" \t\r\n", static_cast<char>(key.back())) && key.back() != 0)
    key.pop_back();
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes) {
    error = what + "holds " + std::to_string(key.size()) + " bytes; a secret needs " +
            std::to_string(kMinKeyBytes) + " to " + std::to_string(kMaxKeyBytes) +
            " (e.g. `openssl rand -hex 32 > FILE`)";
    return std::nullopt;
  }
  return cluster_secret(std::move(key));
}

proof cluster_secret::prove(link_role role, const nonce& own, const nonce& peer) const {
  const char* label = role == link_role::dialer ? "alisa dialer" : "alisa listener";
  std::vector<uint8_t> message(label, label + std::strlen(label) + 1);
  message.insert(message.end(), own.begin(), own.end());
  message.insert(message.end(), peer.begin(), peer.end());
  proof out{};
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), message.data(),
            message.size(), out.data(), &length) ||
      length != out.size())
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  return out;
}

bool cluster_secret::verify(link_role peer_role, const nonce& peer_nonce, const nonce& own_nonce,
                            std::span<const uint8_t, kProofBytes> received) const {
  const proof expected = prove(peer_role, peer_nonce, own_nonce);
  return CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

nonce fresh_nonce() {
  nonce n{};
  size_t filled = 0;
  while (filled < n.size()) {
    const ssize_t got = ::getrandom(n.data() + filled, n.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
    }
    filled += static_cast<size_t>(got);
  }
  return n;
}

hello_message make_hello(const nonce& n) {
  hello_message h{};
  std::memcpy(h.data(), kMagic, sizeof kMagic);
  std::copy(n.begin(), n.end(), h.begin() + sizeof kMagic);
  return h;
}

std::optional<nonce> parse_hello(std::span<const uint8_t, kHelloBytes> bytes) {
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  nonce n{};
  std::copy(bytes.begin() + sizeof kMagic, bytes.end(), n.begin());
  return n;
}

}  // namespace alisa::cluster::link
