#pragma once
// read_pool — a few persistent threads that run the independent reads of one batch at once
// (the RocksDB store's get_rows_batch: a layer's NVMe blocks are read, checksum-verified and
// sliced concurrently instead of one after another on the compute thread).
//
// run() blocks until every index is done; the calling thread takes indices too. Indices are
// handed out dynamically, each to exactly one thread. One run() at a time (the store's thread).
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace alisa::storage {

class read_pool {
 public:
  explicit read_pool(int num_threads);  // helper threads besides the caller; 0 = run inline
  ~read_pool();
  read_pool(const read_pool&) = delete;
  read_pool& operator=(const read_pool&) = delete;

  // Calls task(i) for every i in [0, count). task must not throw.
  void run(size_t count, const std::function<void(size_t)>& task);

 private:
  void work();
  void take_indices();

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* task_ = nullptr;
  size_t count_ = 0, next_ = 0, finished_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace alisa::storage
