#pragma once
// output_check — the last thing `alisa` does: flush standard output and turn a write that failed
// (a full disk, /dev/full, a closed pipe) into an error and a non-zero exit, so `alisa run --json
// > file` never reports success for output that is not there.
namespace alisa::cluster {

// Flushes stdout (C and C++ streams). Returns exit_code, or 1 with a one-line message on stderr
// when exit_code was 0 and any write to stdout failed.
int finish_output(int exit_code);

}  // namespace alisa::cluster
