// Optimizer steps and gradient clipping: one native call per parameter group.
//
// A step touches every parameter; doing that from C# one tensor operation at a time costs
// several P/Invoke round trips per tensor. Here the whole group is one call, a C++ loop of
// in-place libtorch operations (written with plain in-place ops rather than at::_foreach_*
// so the same source compiles against libtorch 1.13 and 2.x).
//
// Parameters whose grad is undefined are skipped (as in torch.optim), and their step count
// does not advance. State tensors are owned by the caller (C#) and updated in place.
#include "shim.h"

#include <cmath>

namespace {

// The gradient of p, or an undefined tensor.
const at::Tensor& grad_of(const at::Tensor& p) { return p.grad(); }

}  // namespace

// AdamW (Loshchilov & Hutter), as torch.optim.AdamW: decoupled decay p *= 1 - lr*wd, then the
// bias-corrected Adam update. steps[i] is parameter i's step count, incremented here.
LT_API int lt_adamw_step(lt_tensor* params, lt_tensor* exp_avg, lt_tensor* exp_avg_sq, int64_t* steps, int count,
                         double lr, double beta1, double beta2, double eps, double weight_decay) {
    LT_STATUS({
        at::NoGradGuard no_grad;
        for (int i = 0; i < count; i++) {
            at::Tensor& p = *params[i];
            const at::Tensor& g = grad_of(p);
            if (!g.defined()) continue;
            int64_t t = ++steps[i];
            if (weight_decay != 0) p.mul_(1.0 - lr * weight_decay);
            exp_avg[i]->lerp_(g, 1.0 - beta1);
            exp_avg_sq[i]->mul_(beta2).addcmul_(g, g, 1.0 - beta2);
            double bias1 = 1.0 - std::pow(beta1, static_cast<double>(t));
            double bias2 = 1.0 - std::pow(beta2, static_cast<double>(t));
            at::Tensor denom = (exp_avg_sq[i]->sqrt() / std::sqrt(bias2)).add_(eps);
            p.addcdiv_(*exp_avg[i], denom, -lr / bias1);
        }
    })
}

// Lion (Chen et al. 2023): p *= 1 - lr*wd; p -= lr * sign(beta1*m + (1-beta1)*g);
// m = beta2*m + (1-beta2)*g.
LT_API int lt_lion_step(lt_tensor* params, lt_tensor* exp_avg, int count, double lr, double beta1, double beta2,
                        double weight_decay) {
    LT_STATUS({
        at::NoGradGuard no_grad;
        for (int i = 0; i < count; i++) {
            at::Tensor& p = *params[i];
            const at::Tensor& g = grad_of(p);
            if (!g.defined()) continue;
            at::Tensor& m = *exp_avg[i];
            if (weight_decay != 0) p.mul_(1.0 - lr * weight_decay);
            at::Tensor update = m.mul(beta1).add_(g, 1.0 - beta1).sign_();
            p.add_(update, -lr);
            m.mul_(beta2).add_(g, 1.0 - beta2);
        }
    })
}

// SGD with momentum, as torch.optim.SGD: g += wd*p (coupled decay); the buffer starts as a
// copy of the first gradient (has_buffer[i] == 0), then buf = momentum*buf + (1-dampening)*g;
// Nesterov uses g + momentum*buf. momentum_buf may hold nullptr entries when momentum is 0.
LT_API int lt_sgd_step(lt_tensor* params, lt_tensor* momentum_buf, int32_t* has_buffer, int count, double lr,
                       double momentum, double dampening, double weight_decay, int nesterov) {
    LT_STATUS({
        at::NoGradGuard no_grad;
        for (int i = 0; i < count; i++) {
            at::Tensor& p = *params[i];
            const at::Tensor& g0 = grad_of(p);
            if (!g0.defined()) continue;
            at::Tensor g = weight_decay != 0 ? g0.add(p, weight_decay) : g0;
            if (momentum != 0) {
                at::Tensor& buf = *momentum_buf[i];
                if (!has_buffer[i]) {
                    buf.copy_(g);
                    has_buffer[i] = 1;
                } else {
                    buf.mul_(momentum).add_(g, 1.0 - dampening);
                }
                g = nesterov ? g.add(buf, momentum) : buf;
            }
            p.add_(g, -lr);
        }
    })
}

// Clips the gradients of `params` together so their global 2-norm is at most max_norm
// (torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), clamped to 1).
// Writes the norm before clipping to *total_norm. max_norm <= 0 only measures.
LT_API int lt_clip_grad_norm(lt_tensor* params, int count, double max_norm, double* total_norm) {
    LT_STATUS({
        at::NoGradGuard no_grad;
        std::vector<at::Tensor> norms;
        for (int i = 0; i < count; i++) {
            const at::Tensor& g = grad_of(*params[i]);
            if (g.defined()) norms.push_back(g.detach().to(at::kDouble).norm(2));
        }
        if (norms.empty()) { *total_norm = 0; return 0; }
        double norm = at::stack(norms).norm(2).item<double>();
        *total_norm = norm;
        if (max_norm > 0 && norm > max_norm) {
            double coefficient = max_norm / (norm + 1e-6);
            for (int i = 0; i < count; i++) {
                at::Tensor g = params[i]->grad();
                if (g.defined()) g.mul_(coefficient);
            }
        }
    })
}
