// Autograd: gradients, backward passes, vector-Jacobian products, and the grad mode.
#include "shim.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

using lt::T;

// The accumulated gradient, or nullptr (with no error) when there is none.
LT_API lt_tensor lt_grad(lt_tensor t) {
    try {
        const at::Tensor& g = T(t).grad();
        return g.defined() ? lt::wrap(g) : nullptr;
    }
    LT_CATCH(nullptr)
}

// Replaces the gradient; nullptr clears it (as PyTorch's zero_grad(set_to_none=True)).
LT_API int lt_set_grad(lt_tensor t, lt_tensor grad) {
    LT_STATUS(T(t).mutable_grad() = grad == nullptr ? at::Tensor() : T(grad))
}

LT_API int lt_backward(lt_tensor t, lt_tensor grad, int retain_graph, int create_graph) {
    LT_STATUS({
        at::Tensor g = grad == nullptr ? at::Tensor() : T(grad);
        c10::optional<bool> retain = retain_graph != 0 ? c10::optional<bool>(true) : c10::nullopt;
        T(t).backward(g, retain, create_graph != 0);
    })
}

// torch.autograd.grad: the vector-Jacobian products d(sum_i <grad_outputs_i, outputs_i>)/d inputs.
// grad_outputs may be nullptr (ones for scalar outputs) or hold nullptr entries.
// results[j] is nullptr for an unused input when allow_unused != 0.
LT_API int lt_autograd_grad(const lt_tensor* outputs, int n_outputs, const lt_tensor* inputs, int n_inputs,
                            const lt_tensor* grad_outputs, int retain_graph, int create_graph, int allow_unused,
                            lt_tensor* results) {
    LT_STATUS({
        std::vector<at::Tensor> outs = lt::tensor_list(outputs, n_outputs);
        std::vector<at::Tensor> ins = lt::tensor_list(inputs, n_inputs);
        std::vector<at::Tensor> seeds;
        if (grad_outputs != nullptr)
            for (int i = 0; i < n_outputs; i++) seeds.push_back(grad_outputs[i] == nullptr ? at::Tensor() : T(grad_outputs[i]));
        c10::optional<bool> retain = retain_graph != 0 ? c10::optional<bool>(true) : c10::nullopt;
        auto grads = torch::autograd::grad(outs, ins, seeds, retain, create_graph != 0, allow_unused != 0);
        for (int j = 0; j < n_inputs; j++) results[j] = grads[j].defined() ? lt::wrap(grads[j]) : nullptr;
    })
}

// Sets whether operations record a graph on this thread; returns the previous setting.
LT_API int lt_set_grad_enabled(int enabled) {
    bool previous = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(enabled != 0);
    return previous ? 1 : 0;
}

LT_API int lt_is_grad_enabled() { return c10::GradMode::is_enabled() ? 1 : 0; }

LT_API int lt_retain_grad(lt_tensor t) { LT_STATUS(T(t).retain_grad()) }
