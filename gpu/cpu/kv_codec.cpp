// KV row codec (see kv_codec.hpp), the int8 chunk quantiser compiled per Highway target.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gpu/cpu/kv_codec.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gpu/cpu/convert.hpp"
#include "gpu/cpu/kv_codec.hpp"

HWY_BEFORE_NAMESPACE();
namespace alisa::gpu::cpu::kv_codec::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Scalar twin of the vector body below (channel tails and the portable fallback agree exactly).
void quantize_channel(const float* rows, int64_t kv_dim, int64_t c, uint8_t* codes, float* minimum,
                      float* scale) {
  float mn = rows[c], mx = rows[c];
  for (int64_t t = 1; t < kv_chunk_tokens; ++t) {
    mn = std::min(mn, rows[t * kv_dim + c]);
    mx = std::max(mx, rows[t * kv_dim + c]);
  }
  const float s = (mx - mn) / 255.0f;
  minimum[c] = mn;
  scale[c] = s;
  for (int64_t t = 0; t < kv_chunk_tokens; ++t) {
    float code = 0.0f;
    if (s != 0.0f) code = std::clamp(std::nearbyint((rows[t * kv_dim + c] - mn) / s), 0.0f, 255.0f);
    codes[t * kv_dim + c] = static_cast<uint8_t>(code);
  }
}

void QuantizeChunk(const float* rows, int64_t kv_dim, uint8_t* codes, float* minimum,
                   float* scale) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<uint8_t, decltype(d)> du8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const auto zero = hn::Zero(d), top = hn::Set(d, 255.0f);
  int64_t c = 0;
  for (; c + N <= kv_dim; c += N) {
    auto mn = hn::LoadU(d, rows + c), mx = mn;
    for (int64_t t = 1; t < kv_chunk_tokens; ++t) {
      const auto x = hn::LoadU(d, rows + t * kv_dim + c);
      mn = hn::Min(mn, x);
      mx = hn::Max(mx, x);
    }
    const auto s = hn::Div(hn::Sub(mx, mn), top);
    hn::StoreU(mn, d, minimum + c);
    hn::StoreU(s, d, scale + c);
    const auto flat = hn::Eq(s, zero);
    for (int64_t t = 0; t < kv_chunk_tokens; ++t) {
      const auto x = hn::LoadU(d, rows + t * kv_dim + c);
      auto code = hn::Round(hn::Div(hn::Sub(x, mn), s));  // ties to even
      code = hn::IfThenZeroElse(flat, hn::Min(hn::Max(code, zero), top));
      hn::StoreU(hn::DemoteTo(du8, hn::ConvertTo(di, code)), du8, codes + t * kv_dim + c);
    }
  }
  for (; c < kv_dim; ++c) quantize_channel(rows, kv_dim, c, codes, minimum, scale);
}

}  // namespace alisa::gpu::cpu::kv_codec::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace alisa::gpu::cpu::kv_codec {

HWY_EXPORT(QuantizeChunk);

void quantize_chunk(const float* rows, int64_t kv_dim, uint8_t* codes, float* minimum,
                    float* scale) {
  HWY_DYNAMIC_DISPATCH(QuantizeChunk)(rows, kv_dim, codes, minimum, scale);
}

void append_rows(const kv_rows& dst, int64_t length, const float* rows, int64_t n) {
  const int64_t dim = dst.kv_dim;
  const size_t row_bytes = static_cast<size_t>(dim) * sizeof(float);
  switch (dst.type) {
    case kv_dtype::f32:
      std::memcpy(static_cast<float*>(dst.data) + length * dim, rows,
                  static_cast<size_t>(n) * row_bytes);
      return;
    case kv_dtype::f16:
    case kv_dtype::bf16: {
      auto* out = static_cast<uint16_t*>(dst.data) + length * dim;
      const int64_t count = n * dim;
      if (dst.type == kv_dtype::f16)
        for (int64_t i = 0; i < count; ++i) out[i] = f32_to_f16(rows[i]);
      else
        for (int64_t i = 0; i < count; ++i) out[i] = f32_to_bf16(rows[i]);
      return;
    }
    case kv_dtype::i8:
      for (int64_t i = 0; i < n; ++i) {
        const int64_t pos = length + i;
        const int64_t slot = pos % kv_chunk_tokens;
        std::memcpy(dst.staging + slot * dim, rows + i * dim, row_bytes);
        if (slot == kv_chunk_tokens - 1) {
          const int64_t chunk = pos / kv_chunk_tokens;
          quantize_chunk(dst.staging, dim,
                         static_cast<uint8_t*>(dst.data) + chunk * kv_chunk_tokens * dim,
                         dst.minimum + chunk * dim, dst.scale + chunk * dim);
        }
      }
      return;
  }
}

namespace {

void gather_row(const kv_rows& src, int64_t offset, bool staged, float* out) {
  const int64_t dim = src.kv_dim;
  switch (src.type) {
    case kv_dtype::f32:
      std::memcpy(out, static_cast<const float*>(src.data) + offset * dim,
                  static_cast<size_t>(dim) * sizeof(float));
      return;
    case kv_dtype::f16:
    case kv_dtype::bf16: {
      const auto* in = static_cast<const uint16_t*>(src.data) + offset * dim;
      if (src.type == kv_dtype::f16)
        for (int64_t c = 0; c < dim; ++c) out[c] = f16_to_f32(in[c]);
      else
        for (int64_t c = 0; c < dim; ++c) out[c] = bf16_to_f32(in[c]);
      return;
    }
    case kv_dtype::i8: {
      if (staged) {
        std::memcpy(out, src.staging + (offset % kv_chunk_tokens) * dim,
                    static_cast<size_t>(dim) * sizeof(float));
        return;
      }
      const int64_t chunk = offset / kv_chunk_tokens;
      const auto* codes = static_cast<const uint8_t*>(src.data) + offset * dim;
      const float* mn = src.minimum + chunk * dim;
      const float* sc = src.scale + chunk * dim;
      for (int64_t c = 0; c < dim; ++c) out[c] = mn[c] + sc[c] * static_cast<float>(codes[c]);
      return;
    }
  }
}

}  // namespace

void gather_rows(const kv_rows& src, const int32_t* offsets, int64_t n, bool staged, float* out) {
  for (int64_t i = 0; i < n; ++i) gather_row(src, offsets[i], staged, out + i * src.kv_dim);
}

}  // namespace alisa::gpu::cpu::kv_codec
#endif  // HWY_ONCE
