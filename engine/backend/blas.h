#pragma once
// The BLAS that LibTorch itself loaded, called directly. Debian's LibTorch links libblas.so.3
// (OpenBLAS where it is installed) and goes through the same Fortran sgemm_ for every float32
// product; calling it from here skips ATen's per-call work (a tensor per operand, dispatch, a
// `select` per matrix of a batched product), which dominates products of a few hundred thousand
// multiply-adds such as one attention head's.
#include <cstdint>

namespace moekd {

// True where the process has a Fortran sgemm_ (found at run time: LibTorch builds that carry
// their own BLAS inside may export none).
bool has_blas_sgemm();

// Row-major C[m, n] = alpha * op(A)[m, k] op(B)[k, n] + beta * C, op(X) = X^T when trans_x.
// lda, ldb and ldc are the row strides of A, B and C as stored. Only where has_blas_sgemm().
void blas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace moekd
