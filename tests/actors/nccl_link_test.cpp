// NCCL as the peer-link transport: libnccl.so.2 is found at run time (or the reason it is not is
// clear), a machine without a GPU says so instead of crashing, and on a GPU a one-rank
// communicator moves device memory through NCCL exactly (self send/receive in one group). The
// GPU test skips with the reason where no GPU or NCCL is usable; it never passes without running.
#include "gpu/peer/nccl_link.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/backend.hpp"

namespace alisa::gpu {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(nccl_library, loads_at_run_time_or_says_why) {
  const nccl_status status = probe_nccl(/*need_device=*/false);
  if (!cuda_backend_built()) {
    EXPECT_FALSE(status.usable);
    EXPECT_TRUE(contains(status.detail, "built without CUDA")) << status.detail;
    return;
  }
  // The CUDA toolkit of the build machines ships NCCL there (and in ld.so.cache): it must load.
  if (std::filesystem::exists("/usr/local/cuda/lib64/libnccl.so.2")) {
    ASSERT_TRUE(status.usable) << status.detail;
  }
  if (status.usable) {
    EXPECT_GE(status.version, 20700) << "send/recv need NCCL 2.7 or newer";
    EXPECT_TRUE(contains(status.detail, "NCCL 2.")) << status.detail;
    EXPECT_TRUE(contains(status.detail, "libnccl")) << "names the loaded file: " << status.detail;
  } else {
    EXPECT_TRUE(contains(status.detail, "libnccl.so.2 not found: ")) << status.detail;
  }
}

TEST(nccl_library, a_missing_or_wrong_library_is_a_clear_error) {
  nccl_status status = probe_nccl(false, "/nonexistent/libnccl.so.2");
  EXPECT_FALSE(status.usable);
  EXPECT_EQ(status.version, 0);
  if (!cuda_backend_built()) GTEST_SKIP() << "built without CUDA: " << status.detail;
  EXPECT_TRUE(contains(status.detail, "/nonexistent/libnccl.so.2 not loadable: ")) << status.detail;
  // A library that loads but is not NCCL: the first missing symbol is named.
  status = probe_nccl(false, "libm.so.6");
  EXPECT_FALSE(status.usable);
  EXPECT_TRUE(contains(status.detail, "lacks ncclGetVersion")) << status.detail;
}

TEST(nccl_link, without_a_usable_gpu_asking_for_an_id_says_why) {
  std::string why;
  auto id = nccl_unique_id(why);
  if (id) {
    EXPECT_EQ(id->size(), nccl_unique_id_bytes);
    return;
  }
  EXPECT_FALSE(why.empty());
  const nccl_status device = probe_nccl(/*need_device=*/true);
  EXPECT_FALSE(device.usable);
  if (cuda_backend_built() && probe_nccl(false).usable) {
    EXPECT_TRUE(contains(why, "no CUDA device")) << why;
  }
}

TEST(nccl_link, rejects_a_malformed_id_before_touching_nccl) {
  const std::vector<uint8_t> short_id(3);
  try {
    make_nccl_link(short_id, 0, 2);
    ADD_FAILURE() << "a 3-byte id made a link";
  } catch (const std::exception& e) {
    if (cuda_backend_built())
      EXPECT_TRUE(contains(e.what(), "3 bytes, expected 128")) << e.what();
    else
      EXPECT_TRUE(contains(e.what(), "built without CUDA")) << e.what();
  }
}

// One GPU: a one-rank communicator sends to and receives from itself in one NCCL group, which
// runs the whole data path (library, communicator, stream, device buffers).
TEST(nccl_link, one_rank_moves_device_memory_exactly) {
  std::string why;
  auto id = nccl_unique_id(why);
  if (!id) GTEST_SKIP() << "NCCL not usable here: " << why;
  std::unique_ptr<backend> cuda;
  try {
    cuda = make_backend(backend_kind::cuda, 0);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no CUDA backend: " << e.what();
  }
  ASSERT_TRUE(holds_device_memory(*cuda));
  auto link = make_nccl_link(*id, 0, 1);
  EXPECT_EQ(link->name(), "nccl");
  const size_t n = (size_t{16} << 20) + 3;
  std::vector<uint8_t> data(n), back(n);
  std::mt19937_64 rng{5};
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  void* src = cuda->allocate(n);
  void* dst = cuda->allocate(n);
  cuda->upload(src, data.data(), n);
  cuda->synchronize();
  link->exchange(src, dst, n, 0);
  cuda->download(back.data(), dst, n);
  EXPECT_TRUE(back == data) << "the bytes NCCL moved differ";
  EXPECT_THROW(link->send(src, n, 0), std::invalid_argument) << "a lone send to itself would hang";
  link.reset();
  cuda->release(src);
  cuda->release(dst);
}

TEST(peer_link, a_cpu_backend_keeps_host_memory) {
  auto cpu = make_backend(backend_kind::cpu, 1);
  EXPECT_FALSE(holds_device_memory(*cpu));
}

}  // namespace
}  // namespace alisa::gpu
