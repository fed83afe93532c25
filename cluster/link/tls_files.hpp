#pragma once
// tls_files — checks a node's TLS files the way OpenSSL will use them, before any port opens:
// CAF 0.17's openssl module aborts the process (after other nodes already listen) on a file it
// cannot use, so alisa finds out first and says which file and why.
#include <optional>
#include <string>

namespace alisa::cluster::link {

// The certificate (chain) and the CA load as PEM, the key loads and matches the certificate.
// nullopt, or a message naming the flag, the file and OpenSSL's reason.
std::optional<std::string> check_tls_files(const std::string& certificate, const std::string& key,
                                           const std::string& ca_file);

}  // namespace alisa::cluster::link
