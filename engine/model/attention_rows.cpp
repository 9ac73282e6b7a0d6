#include "model/attention_rows.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace moekd {

namespace {

// Written on 16-float vectors (GCC/Clang vector extensions): one AVX-512 register, two AVX2 ones or
// four SSE ones, compiled once per level. Every level does the same operations in the same order
// (16 lanes, no fused multiply-adds: the part is built with -ffp-contract=off), so the results do
// not depend on the level. Vectors pass by reference only: by value, their calling convention would
// differ between the levels.
typedef float Floats __attribute__((vector_size(64)));
typedef int32_t Ints __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

#define MOEKD_ROW_INLINE inline __attribute__((always_inline))

// exp(x) in place for the softmax's x - max <= 0, within 2 ulp: 2^n p(r) with n = round(x / ln 2),
// r = x - n ln 2 and Cephes' polynomial for expf. Branch-free; the rounding adds and subtracts
// 1.5 * 2^23 rather than calling libm.
MOEKD_ROW_INLINE void exp_nonpositive(Floats& x) {
  const Floats floor = Floats{} - 87.0f;  // exp(-87) ~ 1.6e-38: still a normal float
  x = x < floor ? floor : x;
  const Floats n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const Floats r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  Floats p = Floats{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const Ints bits = (__builtin_convertvector(n, Ints) + 127) << 23;
  Floats two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  x = p * two_n;
}

MOEKD_ROW_INLINE float lane_sum(const Floats& v) {
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) sum += v[l];
  return sum;
}

MOEKD_ROW_INLINE void softmax_row_body(float* row, int64_t visible, int64_t width) {
  const int64_t full = visible / kLanes * kLanes, rest = visible - full;
  Floats x, top_lanes = Floats{} - std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&x, row + j, sizeof x);
    top_lanes = x > top_lanes ? x : top_lanes;
  }
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t l = 0; l < kLanes; ++l) top = std::max(top, top_lanes[l]);
  for (int64_t j = full; j < visible; ++j) top = std::max(top, row[j]);
  Floats sum_lanes = {};
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&x, row + j, sizeof x);
    x -= top;
    exp_nonpositive(x);
    std::memcpy(row + j, &x, sizeof x);
    sum_lanes += x;
  }
  float sum = lane_sum(sum_lanes);
  if (rest > 0) {  // the last partial vector: lanes past the row hold exp(0) and are not used
    x = Floats{};
    for (int64_t l = 0; l < rest; ++l) x[l] = row[full + l] - top;
    exp_nonpositive(x);
    for (int64_t l = 0; l < rest; ++l) {
      row[full + l] = x[l];
      sum += x[l];
    }
  }
  const float inverse = 1.0f / sum;
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&x, row + j, sizeof x);
    x *= inverse;
    std::memcpy(row + j, &x, sizeof x);
  }
  for (int64_t j = full; j < visible; ++j) row[j] *= inverse;
  std::fill(row + visible, row + width, 0.0f);
}

MOEKD_ROW_INLINE void softmax_backward_row_body(const float* p, float* dp, int64_t visible, int64_t width) {
  const int64_t full = visible / kLanes * kLanes;
  Floats a, b, dot_lanes = {};
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&a, p + j, sizeof a);
    std::memcpy(&b, dp + j, sizeof b);
    dot_lanes += a * b;
  }
  float dot = lane_sum(dot_lanes);
  for (int64_t j = full; j < visible; ++j) dot += p[j] * dp[j];
  for (int64_t j = 0; j < full; j += kLanes) {
    std::memcpy(&a, p + j, sizeof a);
    std::memcpy(&b, dp + j, sizeof b);
    b = a * (b - dot);
    std::memcpy(dp + j, &b, sizeof b);
  }
  for (int64_t j = full; j < visible; ++j) dp[j] = p[j] * (dp[j] - dot);
  std::fill(dp + visible, dp + width, 0.0f);
}

void softmax_row_base(float* row, int64_t visible, int64_t width) { softmax_row_body(row, visible, width); }
void softmax_backward_row_base(const float* p, float* dp, int64_t visible, int64_t width) {
  softmax_backward_row_body(p, dp, visible, width);
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) void softmax_row_avx2(float* row, int64_t visible, int64_t width) {
  softmax_row_body(row, visible, width);
}
__attribute__((target("avx2"))) void softmax_backward_row_avx2(const float* p, float* dp, int64_t visible,
                                                                int64_t width) {
  softmax_backward_row_body(p, dp, visible, width);
}
__attribute__((target("avx512f"))) void softmax_row_avx512(float* row, int64_t visible, int64_t width) {
  softmax_row_body(row, visible, width);
}
__attribute__((target("avx512f"))) void softmax_backward_row_avx512(const float* p, float* dp, int64_t visible,
                                                                    int64_t width) {
  softmax_backward_row_body(p, dp, visible, width);
}
#endif

#undef MOEKD_ROW_INLINE

}  // namespace

const AttentionRowKernels& attention_row_kernels() {
  static const AttentionRowKernels chosen = [] {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
      return AttentionRowKernels{softmax_row_avx512, softmax_backward_row_avx512};
    if (__builtin_cpu_supports("avx2")) return AttentionRowKernels{softmax_row_avx2, softmax_backward_row_avx2};
#endif
    return AttentionRowKernels{softmax_row_base, softmax_backward_row_base};
  }();
  return chosen;
}

}  // namespace moekd
