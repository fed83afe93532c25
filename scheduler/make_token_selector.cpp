// make_token_selector — the one place that maps a policy to its implementation.
#include <cassert>

#include "scheduler/h2o_selector.hpp"
#include "scheduler/positional_selectors.hpp"
#include "scheduler/swa_selector.hpp"
#include "scheduler/token_selector.hpp"

namespace alisa::scheduler {

std::unique_ptr<token_selector> make_token_selector(const selection_options& options,
                                                    int num_layers, int num_kv_heads) {
  assert(!options.validate() && num_layers >= 1 && num_kv_heads >= 1);
  switch (options.policy) {
    case attention_policy::dense:
      return std::make_unique<dense_selector>();
    case attention_policy::swa:
      return std::make_unique<swa_selector>(options, num_layers);
    case attention_policy::local:
      return std::make_unique<local_selector>(options);
    case attention_policy::strided:
      return std::make_unique<strided_selector>(options);
    case attention_policy::streaming:
      return std::make_unique<streaming_selector>(options);
    case attention_policy::h2o:
      return std::make_unique<h2o_selector>(options, num_layers, num_kv_heads);
  }
  return std::make_unique<dense_selector>();  // unreachable for a valid policy
}

}  // namespace alisa::scheduler
