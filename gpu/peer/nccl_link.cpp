#include "gpu/peer/nccl_link.hpp"

#ifdef ALISA_HAVE_CUDA  // built only with CUDA (gpu/CMakeLists.txt); the stubs are in peer_link.cpp

#include <cuda_runtime_api.h>

#include <cstring>
#include <stdexcept>
#include <thread>

#include "gpu/cuda/cuda_check.hpp"
#include "gpu/peer/nccl_library.hpp"

namespace alisa::gpu {
namespace {

using clock_type = std::chrono::steady_clock;

// Why no CUDA device can run NCCL here, or "" when one can. cudart without a driver answers
// cudaErrorInsufficientDriver / cudaErrorNoDevice instead of failing to load.
std::string device_problem() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error so later CUDA calls start clean
    return std::string("no CUDA device: ") + cudaGetErrorString(err);
  }
  if (count == 0) return "no CUDA device: cudaGetDeviceCount found none";
  return {};
}

const nccl::nccl_library& library_or_throw() {
  std::string error;
  const auto* lib = nccl::nccl_library::load(error);
  if (lib == nullptr) throw std::runtime_error("NCCL link: " + error);
  return *lib;
}

class nccl_link final : public peer_link {
 public:
  nccl_link(const nccl::nccl_library& lib, const ncclUniqueId& id, int rank, int size,
            const nccl_link_options& options)
      : lib_(lib), rank_(rank), size_(size), options_(options) {
    ALISA_CUDA_CHECK(cudaGetDevice(&device_));
    ALISA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    try {
      form(id);
    } catch (...) {
      if (comm_ != nullptr) lib_.comm_abort(comm_);
      cudaStreamDestroy(stream_);
      throw;
    }
  }

  ~nccl_link() override {
    // Never throws. A healthy communicator is destroyed (it flushes what is queued); a broken
    // one is aborted, since destroying it could wait for a peer that is gone.
    if (comm_ != nullptr) {
      cudaSetDevice(device_);
      if (broken_)
        lib_.comm_abort(comm_);
      else
        lib_.comm_destroy(comm_);  // blocking in either mode; nothing to do about its result
    }
    cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void send(const void* buffer, size_t bytes, int peer) override {
    check_peer(peer, /*self_allowed=*/false, "send");
    if (bytes == 0) return;  // both ends skip an empty transfer alike
    activate();
    call(lib_.send(buffer, bytes, ncclUint8, peer, comm_, stream_), "ncclSend");
    await_stream("send to", peer, bytes);
  }

  void recv(void* buffer, size_t bytes, int peer) override {
    check_peer(peer, /*self_allowed=*/false, "recv");
    if (bytes == 0) return;
    activate();
    call(lib_.recv(buffer, bytes, ncclUint8, peer, comm_, stream_), "ncclRecv");
    await_stream("receive from", peer, bytes);
  }

  // One NCCL group: both directions at once, and a rank may exchange with itself (a device copy
  // through NCCL, which is how a single GPU checks the whole path).
  void exchange(const void* send_buffer, void* recv_buffer, size_t bytes, int peer) override {
    check_peer(peer, /*self_allowed=*/true, "exchange");
    if (bytes == 0) return;
    activate();
    call(lib_.group_start(), "ncclGroupStart");
    const ncclResult_t sent = lib_.send(send_buffer, bytes, ncclUint8, peer, comm_, stream_);
    const ncclResult_t received = lib_.recv(recv_buffer, bytes, ncclUint8, peer, comm_, stream_);
    const ncclResult_t ended = lib_.group_end();  // always close the group, even after an error
    call(sent, "ncclSend");
    call(received, "ncclRecv");
    call(ended, "ncclGroupEnd");
    await_stream("exchange with", peer, bytes);
  }

 private:
  // Creates the communicator. Non-blocking (NCCL >= 2.14) so that a peer that never joins costs
  // init_timeout, not a worker stuck forever; older NCCL falls back to the blocking call.
  void form(const ncclUniqueId& id) {
    if (lib_.comm_init_rank_config == nullptr) {
      ALISA_NCCL_CHECK(lib_, lib_.comm_init_rank(&comm_, size_, id, rank_));
      return;
    }
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    nonblocking_ = true;
    const ncclResult_t r = lib_.comm_init_rank_config(&comm_, size_, id, rank_, &config);
    if (r != ncclSuccess && r != ncclInProgress)
      fail(lib_.describe("ncclCommInitRankConfig", __FILE__, __LINE__, r));
    await_comm("ncclCommInitRankConfig", clock_type::now() + options_.init_timeout,
               "the communicator did not form: are the other ranks up and can they reach this "
               "node? (NCCL_SOCKET_IFNAME, NCCL_DEBUG=INFO)");
  }

  void check_peer(int peer, bool self_allowed, const char* what) const {
    if (peer < 0 || peer >= size_ || (!self_allowed && peer == rank_))
      throw std::invalid_argument("NCCL link rank " + std::to_string(rank_) + " of " +
                                  std::to_string(size_) + ": cannot " + what + " peer " +
                                  std::to_string(peer));
    if (broken_)
      throw std::runtime_error("NCCL link rank " + std::to_string(rank_) +
                               ": used after an earlier failure (make a new link)");
  }

  void activate() { ALISA_CUDA_CHECK(cudaSetDevice(device_)); }

  [[noreturn]] void fail(const std::string& why) {
    broken_ = true;
    throw std::runtime_error("NCCL link rank " + std::to_string(rank_) + " of " +
                             std::to_string(size_) + ": " + why);
  }

  // A call's result: success, or in progress on a non-blocking communicator (then wait for it).
  void call(ncclResult_t r, const char* what) {
    if (r == ncclSuccess) return;
    if (r == ncclInProgress && nonblocking_) {
      await_comm(what, clock_type::now() + options_.transfer_timeout, "did not complete");
      return;
    }
    fail(lib_.describe(what, __FILE__, __LINE__, r));
  }

  // Polls the communicator's state until it leaves ncclInProgress (non-blocking mode).
  void await_comm(const char* what, clock_type::time_point deadline, const char* timeout_hint) {
    for (int polls = 0;; ++polls) {
      ncclResult_t state = ncclSuccess;
      const ncclResult_t r = lib_.comm_get_async_error(comm_, &state);
      if (r != ncclSuccess) fail(lib_.describe("ncclCommGetAsyncError", __FILE__, __LINE__, r));
      if (state == ncclSuccess) return;
      if (state != ncclInProgress) fail(lib_.describe(what, __FILE__, __LINE__, state));
      if (clock_type::now() > deadline) fail(std::string(what) + ": " + timeout_hint);
      pause(polls);
    }
  }

  // Waits for the stream, watching the communicator: a peer that died shows up as an async error
  // (or as the timeout), and the communicator is then aborted by the destructor.
  void await_stream(const char* what, int peer, size_t bytes) {
    const auto deadline = clock_type::now() + options_.transfer_timeout;
    for (int polls = 0;; ++polls) {
      const cudaError_t done = cudaStreamQuery(stream_);
      if (done == cudaSuccess) return;
      if (done != cudaErrorNotReady) {
        broken_ = true;
        ALISA_CUDA_CHECK(done);
      }
      ncclResult_t state = ncclSuccess;
      if (lib_.comm_get_async_error(comm_, &state) == ncclSuccess && state != ncclSuccess &&
          state != ncclInProgress)
        fail(std::string(what) + " rank " + std::to_string(peer) + ": " +
             lib_.describe("ncclCommGetAsyncError", __FILE__, __LINE__, state));
      if (clock_type::now() > deadline)
        fail(std::string(what) + " rank " + std::to_string(peer) + " (" + std::to_string(bytes) +
             " bytes) did not finish within " +
             std::to_string(options_.transfer_timeout.count()) + " ms");
      pause(polls);
    }
  }

  // Spins briefly (a transfer of a few MiB ends within microseconds to milliseconds, and a sleep
  // would add its granularity to every measured transfer), then sleeps so a stuck peer does not
  // burn a core for the whole timeout.
  static void pause(int polls) {
    if (polls < 20000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  const nccl::nccl_library& lib_;
  int rank_ = 0;
  int size_ = 0;
  nccl_link_options options_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  bool nonblocking_ = false;
  bool broken_ = false;
};

}  // namespace

nccl_status probe_nccl(bool need_device, const std::string& path) {
  nccl_status status;
  std::string error;
  const auto* lib = path.empty() ? nccl::nccl_library::load(error)
                                 : nccl::nccl_library::load_from(path, error);
  if (lib == nullptr) {
    status.detail = error;
    return status;
  }
  status.version = lib->version();
  status.detail = "NCCL " + lib->version_string() + " (" + lib->path() + ")";
  if (need_device) {
    if (auto problem = device_problem(); !problem.empty()) {
      status.detail = problem + "; " + status.detail + " loaded";
      return status;
    }
  }
  status.usable = true;
  return status;
}

std::optional<std::vector<uint8_t>> nccl_unique_id(std::string& why_not) {
  const nccl_status status = probe_nccl(/*need_device=*/true);
  if (!status.usable) {
    why_not = status.detail;
    return std::nullopt;
  }
  const auto& lib = library_or_throw();
  ncclUniqueId id{};
  if (const ncclResult_t r = lib.get_unique_id(&id); r != ncclSuccess) {
    why_not = lib.describe("ncclGetUniqueId(&id)", __FILE__, __LINE__, r);
    return std::nullopt;
  }
  static_assert(sizeof(id.internal) == nccl_unique_id_bytes);
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(id.internal),
                              reinterpret_cast<const uint8_t*>(id.internal) + sizeof(id.internal));
}

std::unique_ptr<peer_link> make_nccl_link(std::span<const uint8_t> unique_id, int rank, int size,
                                          const nccl_link_options& options) {
  if (unique_id.size() != nccl_unique_id_bytes)
    throw std::invalid_argument("NCCL link: the unique id is " + std::to_string(unique_id.size()) +
                                " bytes, expected " + std::to_string(nccl_unique_id_bytes));
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("NCCL link: rank " + std::to_string(rank) + " of " +
                                std::to_string(size) + " is not a rank of the link");
  const auto& lib = library_or_throw();
  if (auto problem = device_problem(); !problem.empty())
    throw std::runtime_error("NCCL link: " + problem);
  ncclUniqueId id{};
  std::memcpy(id.internal, unique_id.data(), nccl_unique_id_bytes);
  return std::make_unique<nccl_link>(lib, id, rank, size, options);
}

}  // namespace alisa::gpu

#endif  // ALISA_HAVE_CUDA
