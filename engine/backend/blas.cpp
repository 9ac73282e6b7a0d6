#include "backend/blas.h"

#include <dlfcn.h>

namespace moekd {

namespace {

// The Fortran interface every BLAS exports: column-major, arguments by reference.
using FortranSgemm = void (*)(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                              const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                              const float* beta, float* c, const int* ldc);

FortranSgemm sgemm() {
  static const auto fn = reinterpret_cast<FortranSgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return fn;
}

}  // namespace

bool has_blas_sgemm() { return sgemm() != nullptr; }

void blas_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // A row-major matrix is its transpose in column-major terms, so C^T = op(B)^T op(A)^T: the
  // operands swap places and keep their transpose flags.
  const int M = static_cast<int>(n), N = static_cast<int>(m), K = static_cast<int>(k);
  const int LDA = static_cast<int>(ldb), LDB = static_cast<int>(lda), LDC = static_cast<int>(ldc);
  sgemm()(trans_b ? "T" : "N", trans_a ? "T" : "N", &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC);
}

}  // namespace moekd
