#pragma once
// secret_dial — the dialer's side of the cluster_secret handshake (see cluster_secret.hpp).
#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/link/cluster_secret.hpp"

namespace alisa::cluster::link {

// Connects to host:port and runs the dialer's side of the handshake, all within `timeout`.
// The connected, authenticated socket (non-blocking; the caller owns it), or -1 and `error`
// saying what failed: unreachable, not an alisa node, or a node with a different secret.
int dial_with_secret(const std::string& host, uint16_t port, const cluster_secret& secret,
                     std::chrono::milliseconds timeout, std::string& error);

}  // namespace alisa::cluster::link
