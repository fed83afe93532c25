#pragma once
// device_buffer / pinned_buffer — grow-only scratch memory for the CUDA backend: device memory
// (cudaMalloc) or page-locked host memory (cudaMallocHost, so copies from it are true DMA that can
// overlap compute). ensure() never shrinks and keeps no contents across a growth. Not copyable.
//
// Reuse rule: a buffer is rewritten by the next op that uses it. Work queued on one stream is
// ordered, so device scratch shared by ops of one stream is safe; a pinned buffer must not be
// rewritten until the copy reading it has completed (the owner records an event or synchronises).
#include <cstddef>

namespace alisa::gpu::cuda {

class device_buffer {
 public:
  device_buffer() = default;
  ~device_buffer();
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  void* ensure(size_t bytes);  // at least `bytes` of device memory; throws on cudaMalloc failure
  void* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

class pinned_buffer {
 public:
  pinned_buffer() = default;
  ~pinned_buffer();
  pinned_buffer(const pinned_buffer&) = delete;
  pinned_buffer& operator=(const pinned_buffer&) = delete;
  void* ensure(size_t bytes);  // at least `bytes` of page-locked host memory
  void* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace alisa::gpu::cuda
