#pragma once
// byte_size — sizes as users write them on the command line and in config files: "512MiB",
// "8GiB", "1.5GB", "4096" (bytes), "64k". Binary suffixes (KiB, MiB, GiB, TiB, and the short
// K/M/G/T, case-insensitive) are powers of 1024; decimal ones (kB, MB, GB, TB) are powers of 1000.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace alisa {

// The size in bytes, or nullopt with `error` naming what is wrong ("'12XB': unknown unit 'XB'").
// Rejects empty text, negatives, non-finite numbers and sizes over 2^63 bytes.
std::optional<uint64_t> parse_byte_size(std::string_view text, std::string& error);

// "512 MiB", "1.50 GiB", "300 B": for logs and reports.
std::string format_byte_size(uint64_t bytes);

}  // namespace alisa
