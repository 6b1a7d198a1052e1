// Optimizer steps and gradient clipping: one native call per parameter group.
//
// A step touches every parameter; doing that from C# one tensor operation at a time costs
// several P/Invoke round trips per tensor. Here the whole group is one call, and inside it one
// of three implementations of the same update runs (`impl`):
//   loop     a C++ loop of in-place ops per tensor: every build, every dtype mix (a bf16 parameter
//            with fp32 state computes its update in fp32 and rounds once into the parameter);
//   foreach  libtorch's multi-tensor at::_foreach_* ops (1.13 and 2.x): a few kernel launches for
//            the whole group on CUDA; needs parameter, grad and state of one dtype (AdamW also takes
//            half-precision parameters with float32 state, through float32 working copies);
//   fused    at::_fused_adamw_ (AdamW only): one kernel for the whole group; CUDA from libtorch 2.0,
//            CPU from 2.4. Its step counts are float32 tensors on the parameters' device.
// impl 0 (auto) picks the fastest that applies; the one that ran is written to *ran.
//
// Parameters whose grad is undefined are skipped (as in torch.optim), and their step count
// does not advance. State tensors are owned by the caller (C#) and updated in place.
#include "shim.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/Scalar.h>
#include <c10/core/ScalarType.h>
#include <torch/version.h>

#include <cmath>
#include <vector>

#define LT_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace {

enum Impl { kAuto = 0, kLoop = 1, kForeach = 2, kFused = 3 };

bool fused_adamw_available(const at::Device& device) {
#if LT_TORCH_AT_LEAST(2, 4)
    return device.is_cuda() || device.is_cpu();
#elif LT_TORCH_AT_LEAST(2, 0)
    return device.is_cuda();
#else
    (void)device;
    return false;
#endif
}

// The parameters of a group that have a gradient, with their state, as parallel lists.
struct Group {
    std::vector<int> index;  // positions in the caller's arrays
    std::vector<at::Tensor> params, grads, m, v, steps;

    // One device and one floating dtype for parameter, grad and state: what the multi-tensor kernels need.
    bool uniform() const {
        if (params.empty()) return false;
        auto dtype = params[0].scalar_type();
        auto device = params[0].device();
        if (!at::isFloatingType(dtype)) return false;
        auto same = [&](const std::vector<at::Tensor>& ts) {
            for (const auto& t : ts)
                if (t.scalar_type() != dtype || t.device() != device || t.layout() != at::kStrided) return false;
            return true;
        };
        return same(params) && same(grads) && same(m) && (v.empty() || same(v));
    }
};

Group collect(lt_tensor* params, lt_tensor* exp_avg, lt_tensor* exp_avg_sq, lt_tensor* device_steps, int count) {
    Group g;
    for (int i = 0; i < count; i++) {
        const at::Tensor& grad = params[i]->grad();
        if (!grad.defined()) continue;
        g.index.push_back(i);
        g.params.push_back(*params[i]);
        g.grads.push_back(grad);
        g.m.push_back(*exp_avg[i]);
        if (exp_avg_sq != nullptr) g.v.push_back(*exp_avg_sq[i]);
        if (device_steps != nullptr && device_steps[i] != nullptr) g.steps.push_back(*device_steps[i]);
    }
    return g;
}

// For half-precision parameters with float32 state: the same group over float32 working copies of
// the parameters and grads, so the multi-tensor kernels (which want one dtype) can update it; the
// caller copies the working parameters back (one rounding per step, as the loop does).
Group widened(const Group& g) {
    Group w = g;
    for (size_t i = 0; i < g.params.size(); i++) {
        auto dtype = g.m[i].scalar_type();
        if (g.params[i].scalar_type() != dtype) w.params[i] = g.params[i].to(dtype);
        if (g.grads[i].scalar_type() != dtype) w.grads[i] = g.grads[i].to(dtype);
    }
    return w;
}

void copy_back(const Group& work, const Group& g) {
    for (size_t i = 0; i < g.params.size(); i++)
        if (!work.params[i].is_same(g.params[i])) g.params[i].copy_(work.params[i]);
}

// The gradient in the state's dtype (fp32 state for a bf16 parameter keeps its precision).
at::Tensor grad_as(const at::Tensor& grad, const at::Tensor& state) {
    return grad.scalar_type() == state.scalar_type() ? grad : grad.to(state.scalar_type());
}

void adamw_loop(const Group& g, const std::vector<int64_t>& t, double lr, double beta1, double beta2, double eps,
                double weight_decay) {
    for (size_t i = 0; i < g.params.size(); i++) {
        at::Tensor p = g.params[i];
        const at::Tensor& m = g.m[i];
        const at::Tensor& v = g.v[i];
        at::Tensor grad = grad_as(g.grads[i], m);
        // A half-precision parameter with full-precision state is updated in the state's dtype.
        bool mixed = p.scalar_type() != m.scalar_type();
        at::Tensor work = mixed ? p.to(m.scalar_type()) : p;
        if (weight_decay != 0) work.mul_(1.0 - lr * weight_decay);
        m.lerp_(grad, 1.0 - beta1);
        v.mul_(beta2).addcmul_(grad, grad, 1.0 - beta2);
        double bias1 = 1.0 - std::pow(beta1, static_cast<double>(t[i]));
        double bias2 = 1.0 - std::pow(beta2, static_cast<double>(t[i]));
        at::Tensor denom = (v.sqrt() / std::sqrt(bias2)).add_(eps);
        work.addcdiv_(m, denom, -lr / bias1);
        if (mixed) p.copy_(work);
    }
}

void adamw_foreach(const Group& g, const std::vector<int64_t>& t, double lr, double beta1, double beta2, double eps,
                   double weight_decay) {
    std::vector<at::Scalar> sqrt_bias2, step_size;
    for (int64_t ti : t) {
        double bias1 = 1.0 - std::pow(beta1, static_cast<double>(ti));
        double bias2 = 1.0 - std::pow(beta2, static_cast<double>(ti));
        sqrt_bias2.emplace_back(std::sqrt(bias2));
        step_size.emplace_back(-lr / bias1);
    }
    if (weight_decay != 0) at::_foreach_mul_(g.params, 1.0 - lr * weight_decay);
    // m ← β1 m + (1−β1) g (1.13 has no _foreach_lerp_).
    at::_foreach_mul_(g.m, beta1);
    at::_foreach_add_(g.m, g.grads, 1.0 - beta1);
    at::_foreach_mul_(g.v, beta2);
    at::_foreach_addcmul_(g.v, g.grads, g.grads, 1.0 - beta2);
    std::vector<at::Tensor> denom = at::_foreach_sqrt(g.v);
    at::_foreach_div_(denom, sqrt_bias2);
    at::_foreach_add_(denom, eps);
    at::_foreach_addcdiv_(g.params, g.m, denom, step_size);
}

void adamw_fused(const Group& g, double lr, double beta1, double beta2, double eps, double weight_decay) {
#if LT_TORCH_AT_LEAST(2, 0)
    TORCH_CHECK(g.steps.size() == g.params.size(), "the fused AdamW needs a device step tensor for every parameter");
    // The kernel reads the step count after this increment, as torch.optim.AdamW(fused=True) does.
    at::_foreach_add_(g.steps, 1.0);
    std::vector<at::Tensor> no_max_exp_avg_sqs;
    at::_fused_adamw_(g.params, g.grads, g.m, g.v, no_max_exp_avg_sqs, g.steps, lr, beta1, beta2, weight_decay, eps,
                      /*amsgrad=*/false, /*maximize=*/false);
#else
    (void)g; (void)lr; (void)beta1; (void)beta2; (void)eps; (void)weight_decay;
    TORCH_CHECK(false, "this libtorch (", TORCH_VERSION, ") has no fused AdamW kernel (it needs 2.0 or later)");
#endif
}

}  // namespace

// Bit 0: the foreach kernels; bit 1: fused AdamW on CUDA; bit 2: fused AdamW on the CPU.
LT_API int lt_optim_capabilities() {
    int bits = 1;
    if (fused_adamw_available(at::Device(at::kCUDA))) bits |= 2;
    if (fused_adamw_available(at::Device(at::kCPU))) bits |= 4;
    return bits;
}

// AdamW (Loshchilov & Hutter), as torch.optim.AdamW: decoupled decay p *= 1 - lr*wd, then the
// bias-corrected Adam update. steps[i] is parameter i's step count, incremented here;
// device_steps (may be null) holds the same counts as float32 tensors for the fused kernel.
LT_API int lt_adamw_step(lt_tensor* params, lt_tensor* exp_avg, lt_tensor* exp_avg_sq, int64_t* steps,
                         lt_tensor* device_steps, int count, double lr, double beta1, double beta2, double eps,
                         double weight_decay, int impl, int* ran) {
    LT_STATUS({
        c10::NoGradGuard no_grad;
        Group g = collect(params, exp_avg, exp_avg_sq, device_steps, count);
        *ran = kLoop;
        if (g.params.empty()) return 0;
        std::vector<int64_t> t;
        for (int i : g.index) t.push_back(++steps[i]);
        // bf16 parameters with float32 state (full finetuning in half precision) are uniform once widened.
        bool same_dtype = g.uniform();
        const at::Device device = g.params[0].device();
        bool fast_path_possible = impl == kForeach || impl == kFused ||
            (impl == kAuto && (device.is_cuda() || (g.steps.size() == g.params.size() && fused_adamw_available(device))));
        Group work = same_dtype || !fast_path_possible ? g : widened(g);  // the casts only where they pay
        bool half_with_wide_state = !same_dtype && work.uniform();
        bool uniform = same_dtype || half_with_wide_state;
        bool fusable = uniform && g.steps.size() == g.params.size() && fused_adamw_available(device);
        int chosen = impl != kAuto ? impl : fusable ? kFused : uniform && device.is_cuda() ? kForeach : kLoop;
        TORCH_CHECK(chosen == kLoop || uniform,
                    "the foreach and fused AdamW need parameters, grads and state of one dtype on one device "
                    "(or half-precision parameters with float32 state)");
        TORCH_CHECK(chosen >= kLoop && chosen <= kFused, "unknown optimizer implementation ", impl);
        if (chosen == kLoop) {
            adamw_loop(g, t, lr, beta1, beta2, eps, weight_decay);
        } else {
            if (chosen == kFused) adamw_fused(work, lr, beta1, beta2, eps, weight_decay);
            else adamw_foreach(work, t, lr, beta1, beta2, eps, weight_decay);
            if (half_with_wide_state) copy_back(work, g);
        }
        *ran = chosen;
    })
}

// Lion (Chen et al. 2023): p *= 1 - lr*wd; p -= lr * sign(beta1*m + (1-beta1)*g);
// m = beta2*m + (1-beta2)*g. libtorch has no fused Lion; foreach is the fast path.
LT_API int lt_lion_step(lt_tensor* params, lt_tensor* exp_avg, int count, double lr, double beta1, double beta2,
                        double weight_decay, int impl, int* ran) {
    LT_STATUS({
        c10::NoGradGuard no_grad;
        Group g = collect(params, exp_avg, nullptr, nullptr, count);
        *ran = kLoop;
        if (g.params.empty()) return 0;
        bool uniform = g.uniform();
        int chosen = impl != kAuto ? impl : uniform && g.params[0].is_cuda() ? kForeach : kLoop;
        TORCH_CHECK(chosen == kLoop || chosen == kForeach, "Lion has no fused kernel (impl ", impl, ")");
        TORCH_CHECK(chosen != kForeach || uniform,
                    "the foreach Lion needs parameters, grads and state of one dtype on one device");
        if (chosen == kForeach) {
            if (weight_decay != 0) at::_foreach_mul_(g.params, 1.0 - lr * weight_decay);
            std::vector<at::Tensor> update = at::_foreach_mul(g.m, beta1);
            at::_foreach_add_(update, g.grads, 1.0 - beta1);
            for (auto& u : update) u.sign_();  // _foreach_sign_ exists only in newer releases
            at::_foreach_add_(g.params, update, -lr);
            at::_foreach_mul_(g.m, beta2);
            at::_foreach_add_(g.m, g.grads, 1.0 - beta2);
        } else {
            for (size_t i = 0; i < g.params.size(); i++) {
                at::Tensor p = g.params[i];
                const at::Tensor& m = g.m[i];
                at::Tensor grad = grad_as(g.grads[i], m);
                bool mixed = p.scalar_type() != m.scalar_type();
                at::Tensor work = mixed ? p.to(m.scalar_type()) : p;
                if (weight_decay != 0) work.mul_(1.0 - lr * weight_decay);
                at::Tensor update = m.mul(beta1).add_(grad, 1.0 - beta1).sign_();
                work.add_(update, -lr);
                m.mul_(beta2).add_(grad, 1.0 - beta2);
                if (mixed) p.copy_(work);
            }
        }
        *ran = chosen;
    })
}

// SGD with momentum, as torch.optim.SGD: g += wd*p (coupled decay); the buffer starts as a
// copy of the first gradient (has_buffer[i] == 0), then buf = momentum*buf + (1-dampening)*g;
// Nesterov uses g + momentum*buf. momentum_buf may hold nullptr entries when momentum is 0.
LT_API int lt_sgd_step(lt_tensor* params, lt_tensor* momentum_buf, int32_t* has_buffer, int count, double lr,
                       double momentum, double dampening, double weight_decay, int nesterov) {
    LT_STATUS({
        c10::NoGradGuard no_grad;
        for (int i = 0; i < count; i++) {
            at::Tensor& p = *params[i];
            const at::Tensor& g0 = p.grad();
            if (!g0.defined()) continue;
            at::Tensor g = weight_decay != 0 ? g0.add(p, weight_decay) : g0;
            if (momentum != 0) {
                at::Tensor& buf = *momentum_buf[i];
                if (g.scalar_type() != buf.scalar_type()) g = g.to(buf.scalar_type());
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
        c10::NoGradGuard no_grad;
        std::vector<at::Tensor> norms;
        for (int i = 0; i < count; i++) {
            const at::Tensor& g = params[i]->grad();
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
