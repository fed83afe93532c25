// measure_store_rates: measured (positive) rates on both stores, and the store left as it was.
#include "storage/store_rates.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "storage/ram_store.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace alisa::storage {
namespace {

class StoreRates : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<block_store> open(uint64_t budget_bytes) {
    if (GetParam() == "ram") return make_ram_store(budget_bytes);
    dir_.emplace();
    auto store = open_rocksdb_store({dir_->sub("db"), budget_bytes});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::optional<test::temp_dir> dir_;
};

TEST_P(StoreRates, AreMeasuredPositiveAndLeaveTheStoreAsItWas) {
  auto store = open(64 << 20);
  ASSERT_NE(store, nullptr);
  const block_key existing{5, 1, kv_part::values, 2};
  ASSERT_EQ(store->put(existing, "existing value").outcome, put_outcome::stored);
  const uint64_t used = store->bytes_used();

  const auto start = std::chrono::steady_clock::now();
  const store_rates rates = measure_store_rates(*store, 128 << 10, 32);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ RATES    ] " << GetParam() << ": write " << rates.write_gbs << " GB/s, read "
            << rates.read_gbs << " GB/s, read latency " << rates.read_latency_us << " us; measured in " << ms
            << " ms\n";

  EXPECT_GT(rates.write_gbs, 0);
  EXPECT_GT(rates.read_gbs, 0);
  EXPECT_GT(rates.read_latency_us, 0);
  EXPECT_LT(ms, 2000);  // the caller runs this at start-up (~20 ms expected; slack for a busy CI)
  EXPECT_EQ(store->bytes_used(), used);
  EXPECT_EQ(store->num_values(), 1u);
  std::string buffer;
  EXPECT_EQ(store->get(existing, buffer).value_or(""), "existing value");
}

TEST_P(StoreRates, NoRoomGivesZerosAndChangesNothing) {
  auto store = open(1 << 20);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->put({5, 1, kv_part::values, 2}, std::string(1000, 'v')).outcome, put_outcome::stored);
  const store_rates rates = measure_store_rates(*store, 128 << 10, 8);  // 1 MiB + 1000 bytes: no room
  EXPECT_EQ(rates.write_gbs, 0);
  EXPECT_EQ(rates.read_gbs, 0);
  EXPECT_EQ(rates.read_latency_us, 0);
  EXPECT_EQ(store->bytes_used(), 1000u);
  EXPECT_EQ(store->num_values(), 1u);
  EXPECT_EQ(measure_store_rates(*store, 1024, 0).write_gbs, 0);
  EXPECT_EQ(measure_store_rates(*store, 0, 4).read_gbs, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreRates, ::testing::Values("ram", "rocksdb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace alisa::storage
