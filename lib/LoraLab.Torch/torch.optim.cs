using LoraLab.Torch.Native;

namespace LoraLab.Torch;

public static partial class torch
{
    /// <summary>
    /// The fused update kernels optimizers are built from: each call updates a whole parameter
    /// group natively (see shim/optim.cpp), so a step costs one P/Invoke per group, not per tensor.
    /// State tensors belong to the caller and are updated in place; parameters without a grad are skipped.
    /// </summary>
    public static class optim_kernels
    {
        private static IntPtr[] Handles(IReadOnlyList<Tensor?> tensors)
        {
            var handles = new IntPtr[tensors.Count];
            for (int i = 0; i < handles.Length; i++) handles[i] = tensors[i]?.Handle ?? IntPtr.Zero;
            return handles;
        }

        private static void SameCount(int expected, int actual, string what)
        {
            if (expected != actual) throw new ArgumentException($"{what} has {actual} entries for {expected} parameters");
        }

        /// <summary>AdamW with decoupled weight decay and bias correction; steps[i] is incremented for each updated parameter.</summary>
        public static unsafe void adamw_(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> exp_avg, IReadOnlyList<Tensor> exp_avg_sq, long[] steps,
                                         double lr, double beta1, double beta2, double eps, double weight_decay)
        {
            SameCount(parameters.Count, exp_avg.Count, "exp_avg");
            SameCount(parameters.Count, exp_avg_sq.Count, "exp_avg_sq");
            SameCount(parameters.Count, steps.Length, "steps");
            IntPtr[] p = Handles(parameters), m = Handles(exp_avg), v = Handles(exp_avg_sq);
            fixed (IntPtr* pp = p, pm = m, pv = v)
            fixed (long* ps = steps)
                Checked.Status(NativeMethods.lt_adamw_step(pp, pm, pv, ps, p.Length, lr, beta1, beta2, eps, weight_decay), "adamw step");
        }

        /// <summary>Lion: sign of the interpolated momentum, decoupled weight decay.</summary>
        public static unsafe void lion_(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> exp_avg, double lr, double beta1, double beta2, double weight_decay)
        {
            SameCount(parameters.Count, exp_avg.Count, "exp_avg");
            IntPtr[] p = Handles(parameters), m = Handles(exp_avg);
            fixed (IntPtr* pp = p, pm = m)
                Checked.Status(NativeMethods.lt_lion_step(pp, pm, p.Length, lr, beta1, beta2, weight_decay), "lion step");
        }

        /// <summary>SGD with (optionally Nesterov) momentum and coupled weight decay, as torch.optim.SGD.
        /// momentum_buffer entries may be null when momentum is 0; has_buffer[i] flips to 1 after the first step.</summary>
        public static unsafe void sgd_(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor?> momentum_buffer, int[] has_buffer, double lr,
                                       double momentum, double dampening, double weight_decay, bool nesterov)
        {
            SameCount(parameters.Count, momentum_buffer.Count, "momentum_buffer");
            SameCount(parameters.Count, has_buffer.Length, "has_buffer");
            if (momentum != 0 && momentum_buffer.Any(b => b is null)) throw new ArgumentException("momentum needs a buffer for every parameter");
            IntPtr[] p = Handles(parameters), b = Handles(momentum_buffer);
            fixed (IntPtr* pp = p, pb = b)
            fixed (int* ph = has_buffer)
                Checked.Status(NativeMethods.lt_sgd_step(pp, pb, ph, p.Length, lr, momentum, dampening, weight_decay, nesterov ? 1 : 0), "sgd step");
        }

        /// <summary>Scales the gradients so their global 2-norm is at most max_norm (max_norm &lt;= 0: measure only);
        /// returns the norm before clipping.</summary>
        public static unsafe double clip_grad_norm_(IReadOnlyList<Tensor> parameters, double max_norm)
        {
            IntPtr[] p = Handles(parameters);
            fixed (IntPtr* pp = p)
            {
                Checked.Status(NativeMethods.lt_clip_grad_norm(pp, p.Length, max_norm, out double norm), "clip_grad_norm_");
                return norm;
            }
        }
    }
}
