#include "engine/job_statistics.hpp"

#include <cmath>

namespace alisa::engine {

counter_delta difference(const gpu::attention_counters& a, const gpu::attention_counters& b) {
  return {double(a.num_decode_row_layers - b.num_decode_row_layers),
          double(a.tokens_attended - b.tokens_attended),
          double(a.kv_bytes_read - b.kv_bytes_read),
          a.attention_ms - b.attention_ms,
          a.selection_ms - b.selection_ms,
          a.kv_transfer_ms - b.kv_transfer_ms,
          a.recompute_ms - b.recompute_ms,
          double(a.tokens_recomputed - b.tokens_recomputed)};
}

void decode_totals::add(const counter_delta& d, double decode_share, double row_share) {
  ++num_steps;
  sum.row_layers += d.row_layers * decode_share;
  sum.tokens_attended += d.tokens_attended * decode_share;
  sum.kv_bytes_read += d.kv_bytes_read * decode_share;
  sum.attention_ms += d.attention_ms * row_share;
  sum.selection_ms += d.selection_ms * row_share;
  sum.kv_transfer_ms += d.kv_transfer_ms * row_share;
  sum.recompute_ms += d.recompute_ms * row_share;
  sum.tokens_recomputed += d.tokens_recomputed * row_share;
}

void decode_totals::report(job_finished& f) const {
  f.num_decode_steps = num_steps;
  if (num_steps == 0) return;
  f.kv_tokens_attended_per_step = sum.row_layers > 0 ? sum.tokens_attended / sum.row_layers : 0;
  f.kv_bytes_read_per_step = sum.kv_bytes_read / num_steps;
  f.attention_ms = sum.attention_ms;
  f.selection_ms = sum.selection_ms;
  f.kv_transfer_ms = sum.kv_transfer_ms;
  f.recompute_ms = sum.recompute_ms;
  f.tokens_recomputed = std::llround(sum.tokens_recomputed);
}

}  // namespace alisa::engine
