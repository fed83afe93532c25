#pragma once
// prefix_affinity — where a job whose prompt starts like an earlier one should run: on the worker
// that ran that earlier job, whose prefix cache (engine/prefix_cache.hpp) then holds the shared
// blocks, unless that worker is clearly busier than the least-loaded one.
//
// A prompt's signature is a hash of its first kv_block_tokens tokens (prompts shorter than one
// block have none: nothing of theirs is cached). The table remembers the last worker of each
// signature, the most recent `capacity` signatures. Pure bookkeeping: no threads, no I/O.
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>

namespace alisa::scheduler {

class prefix_affinity {
 public:
  explicit prefix_affinity(size_t capacity = 4096) : capacity_(capacity) {}

  // The signature of a prompt, or nullopt when it is shorter than one block plus a token.
  static std::optional<uint64_t> signature(std::span<const int32_t> prompt);

  // The worker for a job of signature `sig` (nullopt = none): the remembered one when it is alive
  // and runs at most `slack` more jobs than `least_loaded`, else least_loaded.
  // running(w) and alive(w) describe the workers now.
  template <class Running, class Alive>
  int choose(std::optional<uint64_t> sig, int least_loaded, int slack, Running running,
             Alive alive) const {
    if (!sig) return least_loaded;
    auto it = table_.find(*sig);
    if (it == table_.end()) return least_loaded;
    const int w = it->second.worker;
    if (!alive(w) || running(w) > running(least_loaded) + slack) return least_loaded;
    return w;
  }

  // Remembers that a job of signature `sig` runs on `worker`.
  void record(std::optional<uint64_t> sig, int worker);
  // A worker that went away keeps no affinity.
  void forget_worker(int worker);
  size_t size() const { return table_.size(); }

 private:
  struct entry {
    int worker;
    std::list<uint64_t>::iterator recency;
  };
  size_t capacity_;
  std::unordered_map<uint64_t, entry> table_;
  std::list<uint64_t> lru_;  // front = most recent
};

}  // namespace alisa::scheduler
