using LoraLab.Torch.Native;

namespace LoraLab.Torch;

/// <summary>How an optimizer step is computed (shim/optim.cpp): Auto picks Fused where libtorch has the kernel
/// for the device and dtypes, else Foreach on CUDA, else Loop.</summary>
public enum OptimizerImpl { Auto = 0, Loop = 1, Foreach = 2, Fused = 3 }

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

        /// <summary>AdamW with decoupled weight decay and bias correction; steps[i] is incremented for each updated parameter.
        /// device_steps (optional, for the fused kernel) holds the same counts as float32 scalars on each parameter's device.
        /// Returns the implementation that ran.</summary>
        public static unsafe OptimizerImpl adamw_(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> exp_avg, IReadOnlyList<Tensor> exp_avg_sq, long[] steps,
                                                  double lr, double beta1, double beta2, double eps, double weight_decay,
                                                  OptimizerImpl impl = OptimizerImpl.Auto, IReadOnlyList<Tensor>? device_steps = null)
        {
            SameCount(parameters.Count, exp_avg.Count, "exp_avg");
            SameCount(parameters.Count, exp_avg_sq.Count, "exp_avg_sq");
            SameCount(parameters.Count, steps.Length, "steps");
            if (device_steps is not null) SameCount(parameters.Count, device_steps.Count, "device_steps");
            if (impl == OptimizerImpl.Fused && device_steps is null) throw new ArgumentException("the fused AdamW needs device_steps", nameof(device_steps));
            IntPtr[] p = Handles(parameters), m = Handles(exp_avg), v = Handles(exp_avg_sq);
            IntPtr[]? d = device_steps is null ? null : Handles(device_steps);
            fixed (IntPtr* pp = p, pm = m, pv = v, pd = d)
            fixed (long* ps = steps)
            {
                Checked.Status(NativeMethods.lt_adamw_step(pp, pm, pv, ps, pd, p.Length, lr, beta1, beta2, eps, weight_decay, (int)impl, out int ran), $"adamw step ({impl})");
                return (OptimizerImpl)ran;
            }
        }

        /// <summary>Lion: sign of the interpolated momentum, decoupled weight decay. Returns the implementation that ran.</summary>
        public static unsafe OptimizerImpl lion_(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> exp_avg, double lr, double beta1, double beta2, double weight_decay,
                                                 OptimizerImpl impl = OptimizerImpl.Auto)
        {
            SameCount(parameters.Count, exp_avg.Count, "exp_avg");
            if (impl == OptimizerImpl.Fused) throw new ArgumentException("libtorch has no fused Lion kernel; use Auto, Loop or Foreach", nameof(impl));
            IntPtr[] p = Handles(parameters), m = Handles(exp_avg);
            fixed (IntPtr* pp = p, pm = m)
            {
                Checked.Status(NativeMethods.lt_lion_step(pp, pm, p.Length, lr, beta1, beta2, weight_decay, (int)impl, out int ran), $"lion step ({impl})");
                return (OptimizerImpl)ran;
            }
        }

        /// <summary>Whether libtorch's multi-tensor (foreach) kernels are available: every supported build.</summary>
        public static bool has_foreach => (NativeMethods.lt_optim_capabilities() & 1) != 0;

        /// <summary>Whether at::_fused_adamw_ runs on this device type: CUDA from libtorch 2.0, the CPU from 2.4.</summary>
        public static bool has_fused_adamw(Device device) =>
            (NativeMethods.lt_optim_capabilities() & (device.type == DeviceType.CUDA ? 2 : device.type == DeviceType.CPU ? 4 : 0)) != 0;

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
