#pragma once
// chat_template — turns an OpenAI `messages` list into the prompt text a chat model was trained
// on. alisa does not run Jinja: it knows the common template families and recognises which one a
// model's tokenizer_config.json `chat_template` is by its marker tokens.
//
//   family     recognised by                 a turn looks like
//   llama-2    <<SYS>> / [INST] with <s>     <s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] reply </s>
//   llama-3    <|start_header_id|>           <|start_header_id|>role<|end_header_id|>\n\ntext<|eot_id|>
//   chatml     <|im_start|>  (Qwen, …)       <|im_start|>role\ntext<|im_end|>\n
//   mistral    [INST] without <<SYS>>        [INST] user [/INST]reply</s>
//   zephyr     <|assistant|> with </s>       <|role|>\ntext</s>\n
//   phi-3      <|assistant|> with <|end|>    <|role|>\ntext<|end|>\n
//   gemma      <start_of_turn>               <start_of_turn>user|model\ntext<end_of_turn>\n
//   plain      (models without a template)   role: text\n … then "assistant:"
//
// The rendered text goes through the model's tokenizer like any prompt (with BOS), so marker
// tokens are encoded as the tokenizer encodes their text.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alisa::cluster {

struct chat_message {
  std::string role;  // system | user | assistant
  std::string content;
};

enum class chat_family { llama2, llama3, chatml, mistral, zephyr, phi3, gemma, plain };

// The names --chat-template accepts, comma-separated, for messages and --help.
std::string chat_family_names();
std::optional<chat_family> parse_chat_family(std::string_view name);
std::string_view to_string(chat_family family);

// The family of a Jinja chat_template text, or nullopt when it matches none.
std::optional<chat_family> detect_chat_family(std::string_view jinja_template);

// The family for a model: `forced` when given (an unknown name is an error listing the names),
// else the one its tokenizer_config.json (in the model's directory, or beside its file) declares
// (for a .gguf file: its tokenizer.chat_template metadata), else plain. An error names the file or the template it could not place.
struct chat_family_choice {
  chat_family family = chat_family::plain;
  std::string source;  // "--chat-template", "tokenizer_config.json", "default (no chat_template)"
  std::string error;   // set when no family could be chosen
};
chat_family_choice choose_chat_family(const std::string& model_path, const std::string& forced);

// The prompt for `messages`, ending where the assistant's reply starts.
std::string render_chat(chat_family family, const std::vector<chat_message>& messages);

}  // namespace alisa::cluster
