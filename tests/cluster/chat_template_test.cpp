// Chat template families: detection from real tokenizer_config.json templates' markers, the
// rendered prompt of each family, and the choice (forced, detected, default, errors).
#include "cluster/http/chat_template.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/support/gguf_writer.hpp"

namespace alisa::cluster {
namespace {

const std::vector<chat_message> kConversation = {
    {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}};

TEST(ChatTemplate, DetectsEachFamilyByItsMarkers) {
  EXPECT_EQ(detect_chat_family("{{ '<|start_header_id|>' + message['role'] }}"), chat_family::llama3);
  EXPECT_EQ(detect_chat_family("{{'<|im_start|>' + message['role'] + '\\n'}}"), chat_family::chatml);
  EXPECT_EQ(detect_chat_family("<start_of_turn>{{ role }}"), chat_family::gemma);
  EXPECT_EQ(detect_chat_family("<|user|>{{ m }}<|end|><|assistant|>"), chat_family::phi3);
  EXPECT_EQ(detect_chat_family("<|user|>\\n{{ m }}</s><|assistant|>"), chat_family::zephyr);
  EXPECT_EQ(detect_chat_family("[INST] <<SYS>>\\n{{ s }}\\n<</SYS>>"), chat_family::llama2);
  EXPECT_EQ(detect_chat_family("{{ '[INST] ' + m + ' [/INST]' }}"), chat_family::mistral);
  EXPECT_EQ(detect_chat_family("{{ messages }}"), std::nullopt);
}

TEST(ChatTemplate, RendersEachFamilyEndingWhereTheAssistantSpeaks) {
  EXPECT_EQ(render_chat(chat_family::chatml, kConversation),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(chat_family::llama3, {{"user", "Hi"}}),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(chat_family::llama2, kConversation),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]");
  EXPECT_EQ(render_chat(chat_family::mistral, kConversation),
            "[INST] Be brief.\n\nHi [/INST]Hello.</s>[INST] Bye [/INST]");
  EXPECT_EQ(render_chat(chat_family::zephyr, {{"user", "Hi"}}), "<|user|>\nHi</s>\n<|assistant|>\n");
  EXPECT_EQ(render_chat(chat_family::phi3, {{"user", "Hi"}}), "<|user|>\nHi<|end|>\n<|assistant|>\n");
  EXPECT_EQ(render_chat(chat_family::gemma, kConversation),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello."
            "<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(render_chat(chat_family::plain, {{"user", "Hi"}}), "user: Hi\nassistant:");
}

TEST(ChatTemplate, ChoosesForcedThenTokenizerConfigThenPlain) {
  EXPECT_EQ(choose_chat_family("", "chatml").family, chat_family::chatml);
  const auto unknown = choose_chat_family("", "jinja-magic");
  EXPECT_NE(unknown.error.find("unknown --chat-template 'jinja-magic'"), std::string::npos);
  EXPECT_NE(unknown.error.find("llama-3"), std::string::npos) << "the error lists the names";
  EXPECT_EQ(choose_chat_family("stories260K", "").family, chat_family::plain);

  const auto dir = std::filesystem::temp_directory_path() / ("alisa_chat_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write_config = [&](const std::string& text) { std::ofstream(dir / "tokenizer_config.json") << text; };
  write_config(R"({"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"})");
  EXPECT_EQ(choose_chat_family(dir.string(), "").family, chat_family::chatml);
  write_config(R"({"chat_template": [{"name": "default", "template": "<start_of_turn>"}]})");
  EXPECT_EQ(choose_chat_family(dir.string(), "").family, chat_family::gemma);
  write_config(R"({"chat_template": "{{ custom }}"})");
  EXPECT_NE(choose_chat_family(dir.string(), "").error.find("matches no family"), std::string::npos);
  write_config("{not json");
  EXPECT_NE(choose_chat_family(dir.string(), "").error.find("not valid JSON"), std::string::npos);
  write_config(R"({"bos_token": "<s>"})");
  EXPECT_EQ(choose_chat_family(dir.string(), "").family, chat_family::plain);
  std::filesystem::remove_all(dir);
}

// A GGUF file's template is its tokenizer.chat_template metadata.
TEST(ChatTemplate, ChoosesTheTemplateAGgufFileDeclares) {
  const auto dir = std::filesystem::temp_directory_path() / ("alisa_chat_gguf_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::function<void(testing::gguf_writer&)>& meta) {
    testing::gguf_writer g;
    g.set_string("general.architecture", "llama");
    meta(g);
    const std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << g.bytes();
    return path;
  };
  const auto llama3 = write("llama3.gguf", [](testing::gguf_writer& g) {
    g.set_string("tokenizer.chat_template", "{{ '<|start_header_id|>' + message['role'] }}");
  });
  const auto choice = choose_chat_family(llama3, "");
  EXPECT_EQ(choice.family, chat_family::llama3);
  EXPECT_NE(choice.source.find("tokenizer.chat_template"), std::string::npos) << choice.source;
  EXPECT_EQ(choose_chat_family(llama3, "chatml").family, chat_family::chatml) << "--chat-template wins";
  const auto none = write("none.gguf", [](testing::gguf_writer&) {});
  EXPECT_EQ(choose_chat_family(none, "").family, chat_family::plain);
  EXPECT_TRUE(choose_chat_family(none, "").error.empty());
  const auto odd = write("odd.gguf", [](testing::gguf_writer& g) { g.set_string("tokenizer.chat_template", "{{ x }}"); });
  EXPECT_NE(choose_chat_family(odd, "").error.find("matches no family"), std::string::npos);
  const auto typed = write("typed.gguf", [](testing::gguf_writer& g) { g.set_u32("tokenizer.chat_template", 7); });
  EXPECT_NE(choose_chat_family(typed, "").error.find("not a string"), std::string::npos);
  const auto broken = (dir / "broken.gguf").string();
  std::ofstream(broken, std::ios::binary) << "GGUF\x03";
  EXPECT_FALSE(choose_chat_family(broken, "").error.empty()) << "a damaged file is an error, not plain";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace alisa::cluster
