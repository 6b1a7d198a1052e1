// Linear algebra for the analyses: singular values, QR, symmetric eigendecomposition.
#include "shim.h"

using lt::T;

// The reduced (full_matrices == 0) or full SVD: x = U diag(S) Vh.
LT_API int lt_svd(lt_tensor x, int full_matrices, lt_tensor* u, lt_tensor* s, lt_tensor* vh) {
    LT_STATUS({
        auto result = at::linalg_svd(T(x), full_matrices != 0);
        *u = lt::wrap(std::get<0>(result));
        *s = lt::wrap(std::get<1>(result));
        *vh = lt::wrap(std::get<2>(result));
    })
}

LT_API lt_tensor lt_svdvals(lt_tensor x) { LT_TENSOR(at::linalg_svdvals(T(x))) }

// mode: 0 "reduced", 1 "complete", 2 "r".
LT_API int lt_qr(lt_tensor x, int mode, lt_tensor* q, lt_tensor* r) {
    LT_STATUS({
        const char* names[] = {"reduced", "complete", "r"};
        TORCH_CHECK(mode >= 0 && mode <= 2, "qr: unknown mode ", mode);
        auto result = at::linalg_qr(T(x), names[mode]);
        *q = lt::wrap(std::get<0>(result));
        *r = lt::wrap(std::get<1>(result));
    })
}

// Eigenvalues (ascending) and eigenvectors of a symmetric matrix: the spectrum of an NTK Gram matrix.
LT_API int lt_eigh(lt_tensor x, lt_tensor* values, lt_tensor* vectors) {
    LT_STATUS({
        auto result = at::linalg_eigh(T(x));
        *values = lt::wrap(std::get<0>(result));
        *vectors = lt::wrap(std::get<1>(result));
    })
}

LT_API lt_tensor lt_pinv(lt_tensor x) { LT_TENSOR(at::linalg_pinv(T(x))) }

LT_API lt_tensor lt_solve(lt_tensor a, lt_tensor b) { LT_TENSOR(at::linalg_solve(T(a), T(b))) }
