#include "cluster/link/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace alisa::cluster::link {
namespace {

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unusable";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

std::optional<std::string> check_tls_files(const std::string& certificate, const std::string& key,
                                           const std::string& ca_file) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), &SSL_CTX_free);
  if (!ctx) return "TLS: cannot create an OpenSSL context: " + openssl_reason();
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate.c_str()) != 1)
    return "--tls-cert " + certificate + ": not a usable PEM certificate (" + openssl_reason() + ")";
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string reason = openssl_reason();
    if (reason.find("mismatch") != std::string::npos)
      return "--tls-key " + key + " does not match --tls-cert " + certificate;
    return "--tls-key " + key + ": not a usable PEM private key (" + reason + ")";
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "--tls-key " + key + " does not match --tls-cert " + certificate;
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
    return "--tls-ca " + ca_file + ": not a usable PEM CA certificate (" + openssl_reason() + ")";
  return std::nullopt;
}

}  // namespace alisa::cluster::link
