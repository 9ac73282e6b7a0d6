#include "backend/blas.h"

#include <dlfcn.h>

#include <cstddef>
#include <limits>

#include <c10/util/Exception.h>

namespace moekd {

namespace {

// The Fortran interface every BLAS exports: column-major, arguments by reference, and (gfortran's
// convention) the lengths of the two character arguments at the end.
using FortranSgemm = void (*)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                              const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                              const float* beta, float* c, const int* ldc, size_t transa_length,
                              size_t transb_length);

FortranSgemm sgemm() {
  static const auto fn = reinterpret_cast<FortranSgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return fn;
}

int as_blas_int(int64_t v) {
  TORCH_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), "blas_sgemm: ", v, " does not fit the BLAS's int");
  return static_cast<int>(v);
}

}  // namespace

bool has_blas_sgemm() { return sgemm() != nullptr; }

void blas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // A row must fit within its row stride (stride 0 or overlapping rows are not matrices here).
  TORCH_CHECK(lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n) && ldc >= n && lda > 0 && ldb > 0 && ldc > 0,
              "blas_sgemm: a row stride is shorter than its row");
  // A row-major matrix is its transpose in column-major terms, so C^T = op(B)^T op(A)^T: the
  // operands swap places and keep their transpose flags.
  const int M = as_blas_int(n), N = as_blas_int(m), K = as_blas_int(k);
  const int LDA = as_blas_int(ldb), LDB = as_blas_int(lda), LDC = as_blas_int(ldc);
  sgemm()(trans_b ? "T" : "N", trans_a ? "T" : "N", &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC, 1, 1);
}

}  // namespace moekd
