#pragma once
// job_ledger — the coordinator's bookkeeping of admitted jobs over its workers, as plain data
// (actors/coordinator.cpp is the CAF adapter around it; job_queue decides who may join):
//
//   admit ──> unplaced ──place(w)──> on worker w ──finished | failed | cancel──> remove
//                 ^                      │
//                 └──restart (a fault: its worker died or its KV was lost; at most
//                    max_restarts times, then it fails for good)
//
// Placement: the alive worker running the fewest jobs. Replay: generation is deterministic for a
// given job, so a restarted job generates the tokens its client already has again; on_chunk()
// checks that the replay repeats them and returns only what comes after (a replay that diverges
// is reported, never spliced). Workers keep their index for life; a dead one stays a tombstone.
//
// Thread affinity: none (the coordinator actor's state). Pure: no I/O.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace alisa::scheduler {

// What a chunk of a job's output means for its client.
struct replay_chunk {
  bool diverged = false;           // a replayed token differs from one the client has
  std::vector<int32_t> token_ids;  // not yet received
  std::string text;                // not yet received
};

class job_ledger {
 public:
  // Precondition: max_restarts >= 0.
  explicit job_ledger(int max_restarts);

  // --- workers ---
  int add_worker();  // its index
  // The worker is gone: returns the jobs it ran, which are now unplaced (the caller restarts them).
  std::vector<uint64_t> worker_down(int worker);
  bool alive(int worker) const;
  int num_alive() const;
  int num_workers() const { return static_cast<int>(workers_.size()); }
  int num_running(int worker) const;
  // The alive worker running the fewest jobs (the lowest index on ties); -1 when none is alive.
  int least_loaded() const;

  // --- jobs ---
  void admit(uint64_t job);
  bool contains(uint64_t job) const { return jobs_.count(job) > 0; }
  // Precondition: contains(job), alive(worker).
  void place(uint64_t job, int worker);
  int worker_of(uint64_t job) const;  // -1 when unplaced or unknown
  // Records a chunk of the job's current attempt. Unknown jobs (cancelled meanwhile) give nothing.
  replay_chunk on_chunk(uint64_t job, std::span<const int32_t> tokens, std::string_view text);
  // The job's attempt ended in a fault: it leaves its worker and its replay restarts from the
  // first token. True when it may run again; false when it used its max_restarts (the caller
  // fails it and removes it).
  bool restart(uint64_t job);
  // Finished, failed or cancelled: it leaves its worker and the ledger.
  void remove(uint64_t job);
  uint64_t total_restarts() const { return total_restarts_; }

 private:
  struct job_entry {
    int worker = -1;
    int restarts = 0;
    std::vector<int32_t> delivered;  // token ids the client received
    size_t text_delivered = 0;       // text bytes the client received
    size_t tokens_produced = 0;      // by the current attempt
    size_t text_produced = 0;
  };
  struct worker_entry {
    bool alive = true;
    int num_running = 0;
  };
  void leave_worker(job_entry& job);

  int max_restarts_;
  std::map<uint64_t, job_entry> jobs_;
  std::vector<worker_entry> workers_;
  uint64_t total_restarts_ = 0;
};

}  // namespace alisa::scheduler
