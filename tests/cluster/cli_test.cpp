// The `alisa` command line, run as a user runs it: exit codes, one-line errors naming the problem,
// the --json contract, --help on every command.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/shared_models.hpp"

namespace {

struct run_result {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

run_result alisa(const std::string& args) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path();
  const std::string out = (dir / ("alisa_cli_out_" + std::to_string(::getpid()) + "_" + std::to_string(counter) + ".txt")).string();
  const std::string err = (dir / ("alisa_cli_err_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt")).string();
  const std::string cmd = std::string(ALISA_BINARY_DIR) + "/bin/alisa " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// As alisa(), with stdout sent to /dev/full (every write fails with ENOSPC).
run_result alisa_to_full_disk(const std::string& args) {
  const std::string err = (std::filesystem::temp_directory_path() /
                           ("alisa_cli_full_" + std::to_string(::getpid()) + ".txt")).string();
  const std::string cmd = std::string(ALISA_BINARY_DIR) + "/bin/alisa " + args + " >/dev/full 2>" + err;
  const int status = std::system(cmd.c_str());
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err);
  std::filesystem::remove(err);
  return r;
}

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

void expect_one_line_error(const run_result& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, -1) << "crashed";
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << "stderr: " << r.err;
}

TEST(cli, help_is_available_on_every_command) {
  for (const char* cmd : {"--help", "run --help", "bench --help", "bench decode --help",
                          "bench remote-tier --help", "eval --help", "eval ppl --help",
                          "node --help", "cluster --help", "cluster up --help", "submit --help",
                          "status --help"}) {
    const auto r = alisa(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd << ": " << r.out;
  }
}

TEST(cli, missing_model_path_is_a_one_line_error) {
  expect_one_line_error(alisa("run --model /no/such/model --prompt hi"), "/no/such/model");
}

TEST(cli, unknown_synthetic_preset_is_named) {
  expect_one_line_error(alisa("run --model synthetic:nope --prompt hi"), "nope");
}

TEST(cli, invalid_sampling_values_are_named) {
  expect_one_line_error(alisa("run --model synthetic:tiny --temperature -1"), "--temperature");
  expect_one_line_error(alisa("run --model synthetic:tiny --top-p 1.5"), "--top-p");
  expect_one_line_error(alisa("run --model synthetic:tiny --top-k -2"), "--top-k");
  expect_one_line_error(alisa("run --model synthetic:tiny --max-tokens -5"), "--max-tokens");
  expect_one_line_error(alisa("run --model synthetic:tiny --dtype fp8"), "--dtype");
}

TEST(cli, malformed_flags_are_one_line_usage_errors) {
  for (const char* args : {"run --temperature abc", "run --no-such-flag", "", "bench"}) {
    const auto r = alisa(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(r.err.rfind("alisa: error: ", 0), 0u) << args << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
  }
}

TEST(cli, prompt_longer_than_the_context_is_refused) {
  expect_one_line_error(alisa("run --model synthetic:tiny --context 16 --prompt "
                              "'this prompt is certainly longer than sixteen bytes'"),
                        "context");
}

TEST(cli, truncated_llama2c_checkpoint_is_refused) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const auto path = std::filesystem::temp_directory_path() / "alisa_truncated.bin";
  {
    std::ifstream in(alisa::testing::shared_model_path("stories260K/stories260K.bin"), std::ios::binary);
    std::string bytes(1000, '\0');
    in.read(bytes.data(), bytes.size());
    std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  }
  expect_one_line_error(alisa("run --model " + path.string() + " --tokenizer " +
                              alisa::testing::shared_model_path("stories260K/tok512.bin")),
                        "truncated");
  std::filesystem::remove(path);
}

TEST(cli, tokenizer_whose_vocab_disagrees_with_the_model_is_refused) {
  ALISA_REQUIRE_SHARED_MODEL("llama2-tokenizer/tokenizer.model");
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const auto r = alisa("run --model " + alisa::testing::shared_model_path("stories260K/stories260K.bin") +
                       " --tokenizer " + alisa::testing::shared_model_path("llama2-tokenizer/tokenizer.model"));
  expect_one_line_error(r, "512");
}

TEST(cli, json_output_has_the_documented_fields) {
  const auto r = alisa("run --model synthetic:tiny --prompt hello --max-tokens 8 --ignore-eos --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"text", "token_ids", "num_prompt_tokens", "num_generated_tokens",
                          "finish_reason", "prefill_ms", "decode_ms", "decode_tokens_per_s",
                          "kv_tokens_attended_per_step", "kv_bytes_read_per_step", "attention_ms",
                          "selection_ms", "model", "synthetic_weights", "attention", "kv_sparsity",
                          "kv_dtype", "tokens_recomputed", "max_prefill_tokens", "peak_rss_bytes"})
    EXPECT_TRUE(j.contains(key)) << key;
  // The whole process: at least its binary and the model, far below a gigabyte for this model.
  EXPECT_GT(j["peak_rss_bytes"].get<uint64_t>(), uint64_t{1} << 20);
  EXPECT_LT(j["peak_rss_bytes"].get<uint64_t>(), uint64_t{1} << 30);
  EXPECT_FALSE(j.contains("kv_tiers"));  // only with a device KV budget
  EXPECT_EQ(j["num_generated_tokens"].get<int>(), 8);
  EXPECT_EQ(j["token_ids"].size(), 8u);
  EXPECT_EQ(j["num_prompt_tokens"].get<int>(), 6);  // BOS + 5 bytes
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_TRUE(j["synthetic_weights"].get<bool>());
  EXPECT_EQ(j["model"], "synthetic:tiny");
  EXPECT_EQ(j["tokens_recomputed"].get<int64_t>(), 0);
}

// The decode statistics travel from the worker through job_finished: 8 tokens are 7 decode steps
// after the prompt's, each attending at most the visible tokens (6 prompt + up to 7 generated).
TEST(cli, json_decode_statistics_come_from_the_job) {
  const auto r = alisa("run --model synthetic:tiny --prompt hello --max-tokens 8 --ignore-eos "
                       "--attention swa --kv-sparsity 0.5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["attention"], "swa");
  EXPECT_DOUBLE_EQ(j["kv_sparsity"].get<double>(), 0.5);
  const double attended = j["kv_tokens_attended_per_step"].get<double>();
  EXPECT_GT(attended, 0.0);
  EXPECT_LE(attended, 13.0);
  EXPECT_GT(j["kv_bytes_read_per_step"].get<double>(), 0.0);
  EXPECT_GT(j["decode_ms"].get<double>(), 0.0);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["attention_ms"].get<double>(), 0.0);
}

TEST(cli, plain_run_streams_the_same_text_as_json_and_says_weights_are_synthetic) {
  const std::string args = "run --model synthetic:tiny --prompt 'Once upon' --max-tokens 12 --ignore-eos";
  const auto plain = alisa(args);
  const auto json = alisa(args + " --json");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto text = nlohmann::json::parse(json.out)["text"].get<std::string>();
  EXPECT_EQ(plain.out, "Once upon" + text + "\n");
  EXPECT_NE(plain.err.find("SYNTHETIC"), std::string::npos) << plain.err;
  // The last stderr line sums the run up.
  EXPECT_NE(plain.err.find("12 generated (length)"), std::string::npos) << plain.err;
  EXPECT_NE(plain.err.find("KV tokens attended per layer\n"), std::string::npos) << plain.err;
}

TEST(cli, real_model_greedy_text_through_the_command_line) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const auto r = alisa("run --model " + alisa::testing::shared_model_path("stories260K/stories260K.bin") +
                       " --max-tokens 20 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto text = nlohmann::json::parse(r.out)["text"].get<std::string>();
  EXPECT_EQ(text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << text;
}

TEST(cli, seeded_sampling_is_reproducible) {
  const std::string args = "run --model synthetic:tiny --prompt abc --max-tokens 16 --temperature 0.8 "
                           "--top-p 0.9 --top-k 40 --ignore-eos --json --seed ";
  const auto a = alisa(args + "5"), b = alisa(args + "5"), c = alisa(args + "6");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const auto ids = [](const run_result& r) { return nlohmann::json::parse(r.out)["token_ids"]; };
  EXPECT_EQ(ids(a), ids(b));
  EXPECT_NE(ids(a), ids(c));
}

TEST(cli, stop_string_ends_generation_before_it) {
  const auto full = alisa("run --model synthetic:tiny --prompt x --max-tokens 30 --ignore-eos --json");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto text = nlohmann::json::parse(full.out)["text"].get<std::string>();
  ASSERT_GE(text.size(), 12u);
  const std::string stop = text.substr(8, 3);
  const auto cut = alisa("run --model synthetic:tiny --prompt x --max-tokens 30 --ignore-eos --json --stop '" + stop + "'");
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  const auto j = nlohmann::json::parse(cut.out);
  EXPECT_EQ(j["text"].get<std::string>(), text.substr(0, text.find(stop)));
  EXPECT_EQ(j["finish_reason"].get<std::string>(), "stop");
}

TEST(cli, bench_decode_prints_throughput_and_bandwidth_as_json) {
  const auto r = alisa("bench decode --model synthetic:tiny --batch 2 --prompt-len 8 --gen-len 4 "
                       "--repetitions 2 --warmup 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["decode_tokens_per_s"]["mean"].get<double>(), 0.0);
  EXPECT_GT(j["prompt_tokens_per_s"]["mean"].get<double>(), 0.0);
  EXPECT_EQ(j["decode_tokens_per_s"]["samples"].size(), 2u);
  EXPECT_GT(j["weight_bytes_per_step"].get<double>(), 0.0);
  EXPECT_GT(j["measured_read_bandwidth_gbs"].get<double>(), 0.0);
}

TEST(cli, bench_decode_refuses_a_run_longer_than_the_context) {
  expect_one_line_error(alisa("bench decode --model synthetic:tiny --prompt-len 500 --gen-len 100"),
                        "context");
}

// A text file for `eval ppl`, removed when the test ends.
class text_file {
 public:
  explicit text_file(const std::string& text) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("alisa_eval_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt"))
                .string();
    std::ofstream(path_) << text;
  }
  ~text_file() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// synthetic:tiny has a byte tokenizer: BOS + one token per byte.
std::string story_text(int bytes) {
  const std::string sentence = "Once upon a time, there was a little dog who liked to run. ";
  std::string s;
  while (static_cast<int>(s.size()) < bytes) s += sentence;
  return s.substr(0, static_cast<size_t>(bytes));
}

TEST(cli, eval_ppl_help_describes_every_flag) {
  const auto r = alisa("eval ppl --help");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* flag : {"--text", "--ctx", "--chunks", "--batch", "--json", "--model", "--tokenizer",
                           "--attention", "--kv-sparsity", "--swa-window", "--kv-dtype", "llama-perplexity"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

TEST(cli, eval_ppl_json_has_consistent_fields) {
  const text_file text(story_text(399));  // 400 tokens: 6 chunks of 64
  const auto r = alisa("eval ppl --model synthetic:tiny --text " + text.path() +
                       " --ctx 64 --batch 4 --attention swa --kv-sparsity 0.5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"ppl", "stderr", "mean_nll", "num_chunks", "num_tokens_scored", "num_text_tokens",
                          "ctx", "attention", "kv_sparsity", "kv_dtype", "model", "seconds",
                          "kv_tokens_attended_per_step"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["num_text_tokens"].get<int>(), 400);
  EXPECT_EQ(j["num_chunks"].get<int>(), 6);
  EXPECT_EQ(j["num_tokens_scored"].get<int>(), 6 * (64 - 1 - 32));
  EXPECT_EQ(j["ctx"].get<int>(), 64);
  EXPECT_EQ(j["attention"].get<std::string>(), "swa");
  EXPECT_DOUBLE_EQ(j["kv_sparsity"].get<double>(), 0.5);
  EXPECT_NEAR(j["ppl"].get<double>(), std::exp(j["mean_nll"].get<double>()), 1e-9 * j["ppl"].get<double>());
  EXPECT_GT(j["stderr"].get<double>(), 0.0);
  EXPECT_GT(j["kv_tokens_attended_per_step"].get<double>(), 0.0);
}

TEST(cli, eval_ppl_chunk_limit_and_summary_line) {
  const text_file text(story_text(399));
  const auto r = alisa("eval ppl --model synthetic:tiny --text " + text.path() + " --ctx 64 --chunks 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("PPL = ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(2 chunks, 62 tokens scored, ctx 64, attention dense kv fp32)"), std::string::npos)
      << r.out;
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
}

TEST(cli, eval_ppl_errors_are_one_line_and_name_the_problem) {
  const text_file text(story_text(399));
  const std::string base = "eval ppl --model synthetic:tiny --text " + text.path() + " --ctx 64 ";
  expect_one_line_error(alisa("eval ppl --model synthetic:tiny --text /no/such/file.txt --ctx 64"),
                        "/no/such/file.txt");
  expect_one_line_error(alisa("eval ppl --model synthetic:tiny --text " + text.path() + " --ctx 256"),
                        "400 tokens");
  expect_one_line_error(alisa("eval ppl --model synthetic:tiny --text " + text.path() + " --ctx 2"), "--ctx");
  expect_one_line_error(alisa("eval ppl --model synthetic:tiny --text " + text.path() + " --ctx 4096"),
                        "512");
  expect_one_line_error(alisa(base + "--batch 0"), "--batch");
  expect_one_line_error(alisa(base + "--chunks -1"), "--chunks");
  expect_one_line_error(alisa(base + "--attention swa --kv-sparsity 1.0"), "--kv-sparsity");
  expect_one_line_error(alisa(base + "--attention swa --kv-sparsity -0.1"), "--kv-sparsity");
  expect_one_line_error(alisa(base + "--attention nope"), "--attention");
  expect_one_line_error(alisa(base + "--attention swa --swa-window -1"), "--swa-window");
  expect_one_line_error(alisa(base + "--attention swa --swa-window 0"), "--swa-window");
  expect_one_line_error(alisa(base + "--attention swa --swa-window soon"), "--swa-window");
  expect_one_line_error(alisa(base + "--kv-dtype fp8"), "--kv-dtype");
}

TEST(cli, eval_ppl_without_text_is_a_usage_error) {
  const auto r = alisa("eval ppl --model synthetic:tiny");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--text"), std::string::npos) << r.err;
}

TEST(cli, eval_ppl_of_stories260k_on_story_text_is_low) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  std::string story;
  for (int i = 0; i < 12; ++i)
    story += "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
             "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n";
  const text_file text(story);
  const std::string model = " --model " + alisa::testing::shared_model_path("stories260K/stories260K.bin") +
                            " --tokenizer " + alisa::testing::shared_model_path("stories260K/tok512.bin");
  const auto dense = alisa("eval ppl" + model + " --text " + text.path() + " --ctx 128 --json");
  ASSERT_EQ(dense.exit_code, 0) << dense.err;
  const auto d = nlohmann::json::parse(dense.out);
  EXPECT_GT(d["ppl"].get<double>(), 1.0);
  EXPECT_LT(d["ppl"].get<double>(), 20.0);
  const auto int8 = alisa("eval ppl" + model + " --text " + text.path() + " --ctx 128 --kv-dtype int8 --json");
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  const auto q = nlohmann::json::parse(int8.out);
  EXPECT_EQ(q["kv_dtype"].get<std::string>(), "int8");
  EXPECT_NEAR(q["ppl"].get<double>(), d["ppl"].get<double>(), 0.05 * d["ppl"].get<double>());
}

}  // namespace

namespace {

// --- tiered KV (--policy, budgets, --nvme-dir) ---------------------------------------------------

TEST(cli, tier_flags_errors_are_one_line_and_name_the_flag) {
  const std::string base = "run --model synthetic:tiny --prompt hi --max-tokens 2 ";
  expect_one_line_error(alisa(base + "--device-kv-budget 12XB"), "--device-kv-budget");
  expect_one_line_error(alisa(base + "--device-kv-budget -5MiB"), "--device-kv-budget");
  expect_one_line_error(alisa(base + "--device-kv-budget 1000"), "smaller than one");
  expect_one_line_error(alisa(base + "--device-kv-budget 1MiB --host-kv-budget 100"),
                        "--host-kv-budget");
  expect_one_line_error(alisa(base + "--host-kv-budget 1GiB"), "need --device-kv-budget");
  expect_one_line_error(alisa(base + "--policy sglang"), "--policy");
  expect_one_line_error(alisa(base + "--device-kv-budget 1MiB --policy vllm --attention swa"),
                        "dense");
  expect_one_line_error(alisa(base + "--device-kv-budget 1MiB --nvme-dir /tmp/x"),
                        "--nvme-kv-budget");
  expect_one_line_error(alisa(base + "--device-kv-budget 1MiB --force-phase 4"), "--force-phase");
  expect_one_line_error(
      alisa(base + "--device-kv-budget 1MiB --nvme-dir /proc/version/x --nvme-kv-budget 1GiB"),
      "--nvme-dir");
}

TEST(cli, prefix_cache_flag_errors_are_one_line_and_name_the_flag) {
  const std::string base = "run --model synthetic:tiny --prompt hi --max-tokens 2 ";
  expect_one_line_error(alisa(base + "--prefix-cache-dir /tmp/x"), "--prefix-cache-disk-budget");
  expect_one_line_error(alisa(base + "--prefix-cache-disk-budget 1GiB"), "--prefix-cache-dir");
  expect_one_line_error(alisa(base + "--prefix-cache-budget 1GiB --kv-cache-persist"),
                        "--kv-cache-persist");
  expect_one_line_error(alisa(base + "--prefix-cache-disk-budget 0 --prefix-cache-dir /tmp/x"),
                        "--prefix-cache-disk-budget");
  expect_one_line_error(
      alisa(base + "--prefix-cache-dir /proc/version/x --prefix-cache-disk-budget 1GiB"),
      "--prefix-cache-dir");
  expect_one_line_error(alisa(base + "--prefix-cache-budget 1GiB --kv-dtype int8"), "int8");
}

// `alisa run` twice with --kv-cache-persist: the second run's prompt is served from the first
// run's NVMe level, with the same tokens.
TEST(cli, a_persistent_prefix_cache_serves_the_next_run) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("alisa-cli-prefix-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string doc;
  for (int i = 0; i < 12; ++i) doc += "the girl ran to the park ";
  const std::string base = "run --model synthetic:tiny --max-tokens 8 --ignore-eos --json "
                           "--prefix-cache-dir " + dir.string() +
                           " --prefix-cache-disk-budget 64MiB --kv-cache-persist --prompt '" + doc;
  const auto first = alisa(base + "Who ran?'");
  const auto second = alisa(base + "Where?'");
  const auto cold = alisa("run --model synthetic:tiny --max-tokens 8 --ignore-eos --json --prompt '" +
                          doc + "Where?'");
  std::filesystem::remove_all(dir);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  ASSERT_EQ(cold.exit_code, 0) << cold.err;
  const auto warm = nlohmann::json::parse(second.out);
  EXPECT_GE(warm["cached_tokens"].get<int>(), 256) << second.out;
  EXPECT_EQ(warm["token_ids"], nlohmann::json::parse(cold.out)["token_ids"]);
}

TEST(cli, tiered_run_json_reports_every_tier_and_keeps_the_tokens) {
  const std::string base = "run --model synthetic:tiny --prompt 'Once upon a time' --max-tokens 300 "
                           "--ignore-eos --json --policy alisa";
  const auto plain = alisa(base);
  const auto nvme = std::filesystem::temp_directory_path() /
                    ("alisa-cli-nvme-" + std::to_string(::getpid()));
  const auto tiered = alisa(base + " --device-kv-budget 64KiB --nvme-dir " +
                            nvme.string() + " --nvme-kv-budget 64MiB");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  ASSERT_EQ(tiered.exit_code, 0) << tiered.err;
  const auto p = nlohmann::json::parse(plain.out);
  const auto t = nlohmann::json::parse(tiered.out);
  EXPECT_EQ(p["token_ids"], t["token_ids"]);
  EXPECT_EQ(p["attention"], "swa");  // --policy alisa implies SWA
  const auto& tiers = t["kv_tiers"]["tiers"];
  for (const char* tier : {"device", "host", "nvme", "dropped"})
    for (const char* key : {"bytes_resident", "peak_bytes_resident", "tokens_loaded", "bytes_read",
                            "bytes_written", "hits", "misses"})
      EXPECT_TRUE(tiers[tier].contains(key)) << tier << "." << key;
  EXPECT_GT(tiers["nvme"]["tokens_loaded"].get<int64_t>(), 0);
  EXPECT_GT(t["kv_tiers"]["rates"]["recompute_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(t["kv_tiers"]["rates"]["nvme_read_gbs"].get<double>(), 0.0);
  EXPECT_FALSE(t["kv_tiers"]["phases"].empty());
  for (const char* key : {"compute", "transfer", "recompute"})
    EXPECT_TRUE(t["kv_tiers"]["time_ms"].contains(key)) << key;
  std::filesystem::remove_all(nvme);
}

TEST(cli, bench_decode_sweeps_batch_sizes_per_policy) {
  const auto r = alisa("bench decode --model synthetic:tiny --prompt-len 16 --gen-len 80 "
                       "--repetitions 1 --warmup 0 --json --policy vllm --device-kv-budget 192KiB "
                       "--sweep 1,6");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["sweep"].size(), 2u);
  EXPECT_EQ(j["sweep"][1]["batch"].get<int>(), 6);
  EXPECT_EQ(j["sweep"][1]["policy"], "vllm");
  EXPECT_GT(j["sweep"][1]["throughput_tokens_per_s"]["median"].get<double>(), 0.0);
  // 6 sequences of 96 tokens need 2 blocks per layer each; 192 KiB holds 6 per layer: preemption.
  EXPECT_GT(j["sweep"][1]["num_preemptions"].get<int>(), 0);
}

// A thread count beyond the machine's cap is a clear error before anything starts (300 threads
// under a process limit used to abort).
TEST(cli, threads_beyond_the_machines_cap_are_refused) {
  expect_one_line_error(alisa("run --threads 100000 --prompt hi"), "--threads 100000 exceeds this machine's cap");
}

// Batch sizes have caps too: a few extra zeros are an error naming the flag, not a queue or a
// batch that exhausts memory before anything runs.
TEST(cli, batch_sizes_beyond_their_caps_are_refused) {
  expect_one_line_error(alisa("serve --max-running 100000 --port 0"), "--max-running");
  expect_one_line_error(alisa("serve --max-queued 2000000000 --port 0"), "--max-queued");
  expect_one_line_error(alisa("cluster up --max-running 100000 --base-port 1"), "--max-running");
  expect_one_line_error(alisa("bench decode --batch 100000"), "--batch must be 1 to 4096");
  expect_one_line_error(alisa("eval ppl --batch 100000 --text hi"), "--batch must be 1 to 4096");
}

// Output that could not be written is a failure, not exit 0 (a full disk under `run --json > f`).
TEST(cli, a_failed_write_to_stdout_is_an_error) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this machine";
  expect_one_line_error(alisa_to_full_disk("run --max-tokens 4 --prompt hi --json"),
                        "writing standard output failed");
  expect_one_line_error(alisa_to_full_disk("--help"), "writing standard output failed");
}

}  // namespace

namespace {

std::string write_config(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    (name + "_" + std::to_string(::getpid()) + ".conf");
  std::ofstream(path) << text;
  return path.string();
}


TEST(cli, a_config_file_sets_options_and_the_command_line_overrides_it) {
  ALISA_REQUIRE_SHARED_MODEL("stories260K/stories260K.bin");
  const std::string config = write_config(
      "alisa_run", "# a run config\nmodel = " +
                       alisa::testing::shared_model_path("stories260K/stories260K.bin") +
                       "\ntokenizer = '" + alisa::testing::shared_model_path("stories260K/tok512.bin") +
                       "'\nmax-tokens = 7   # short\njson = true\n");
  const auto from_file = alisa("run --config " + config + " --prompt \"Once upon a time\"");
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  auto j = nlohmann::json::parse(from_file.out);
  EXPECT_EQ(j["num_generated_tokens"], 7);
  EXPECT_NE(j["model"].get<std::string>().find("stories260K"), std::string::npos);
  const auto overridden = alisa("run --config " + config + " --max-tokens 3 --prompt hi");
  ASSERT_EQ(overridden.exit_code, 0) << overridden.err;
  EXPECT_EQ(nlohmann::json::parse(overridden.out)["num_generated_tokens"], 3);
  std::filesystem::remove(config);
}

TEST(cli, a_bad_config_file_names_the_file_and_line) {
  const std::string config = write_config("alisa_bad", "model = synthetic:tiny\nthis line has no equals sign\n");
  const auto r = alisa("run --config " + config);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(config + ":2"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  std::filesystem::remove(config);
  expect_one_line_error(alisa("run --config /no/such.conf"), "/no/such.conf");
  const std::string unknown = write_config("alisa_unknown", "no-such-option = 1\n");
  const auto u = alisa("run --config " + unknown);
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.err.find("no-such-option"), std::string::npos) << u.err;
  std::filesystem::remove(unknown);
}

TEST(cli, cluster_commands_reject_bad_endpoints_and_missing_coordinators) {
  expect_one_line_error(alisa("node --role worker --listen 127.0.0.1:0"), "--coordinator");
  expect_one_line_error(alisa("node --role memory --host-kv-budget 1MiB --listen nonsense --coordinator 127.0.0.1:1"),
                        "--listen");
  expect_one_line_error(alisa("submit --coordinator 127.0.0.1:99999 --prompt hi"), "--coordinator");
  expect_one_line_error(alisa("submit --coordinator 127.0.0.1:1 --connect-timeout 0 --prompt hi"),
                        "cannot reach 127.0.0.1:1");
  expect_one_line_error(alisa("cluster up --workers 0"), "--workers");
  expect_one_line_error(alisa("submit --tls-cert /no/cert.pem --prompt hi"), "--tls");
}

}  // namespace
