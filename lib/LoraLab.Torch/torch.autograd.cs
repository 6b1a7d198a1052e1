using LoraLab.Torch.Native;

namespace LoraLab.Torch;

public static partial class torch
{
    public static class autograd
    {
        /// <summary>
        /// Gradients of the outputs with respect to the inputs, without touching any .grad:
        /// returns d(sum_i &lt;grad_outputs[i], outputs[i]&gt;)/d(inputs[j]) for each j, that is, the
        /// vector-Jacobian products J^T v. grad_outputs may be omitted for scalar outputs.
        /// With create_graph the results are differentiable again (Hessian-vector products,
        /// Jacobian-vector products by the double-backward trick). An input that the outputs do not
        /// depend on gives null when allow_unused, and an error otherwise.
        /// </summary>
        public static unsafe Tensor?[] grad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs, IReadOnlyList<Tensor?>? grad_outputs = null,
                                            bool retain_graph = false, bool create_graph = false, bool allow_unused = false)
        {
            if (grad_outputs is not null && grad_outputs.Count != outputs.Count)
                throw new ArgumentException($"grad_outputs has {grad_outputs.Count} tensors for {outputs.Count} outputs");
            IntPtr* outs = stackalloc IntPtr[outputs.Count];
            IntPtr* ins = stackalloc IntPtr[inputs.Count];
            IntPtr* seeds = stackalloc IntPtr[outputs.Count];
            IntPtr* results = stackalloc IntPtr[inputs.Count];
            for (int i = 0; i < outputs.Count; i++) outs[i] = outputs[i].Handle;
            for (int j = 0; j < inputs.Count; j++) ins[j] = inputs[j].Handle;
            if (grad_outputs is not null)
                for (int i = 0; i < outputs.Count; i++) seeds[i] = grad_outputs[i]?.Handle ?? IntPtr.Zero;
            Checked.Status(NativeMethods.lt_autograd_grad(outs, outputs.Count, ins, inputs.Count, grad_outputs is null ? null : seeds,
                                                          retain_graph || create_graph ? 1 : 0, create_graph ? 1 : 0, allow_unused ? 1 : 0, results),
                           "autograd.grad");
            var grads = new Tensor?[inputs.Count];
            for (int j = 0; j < inputs.Count; j++) grads[j] = results[j] == IntPtr.Zero ? null : new Tensor(results[j]);
            return grads;
        }

        public static Tensor?[] grad(Tensor output, IReadOnlyList<Tensor> inputs, Tensor? grad_output = null,
                                     bool retain_graph = false, bool create_graph = false, bool allow_unused = false) =>
            grad(new[] { output }, inputs, grad_output is null ? null : new[] { grad_output }, retain_graph, create_graph, allow_unused);
    }
}
