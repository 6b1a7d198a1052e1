using System.Runtime.InteropServices;

namespace LoraLab.Torch.Native;

// Entry points of shim/optim.cpp: a whole parameter group per call. impl: 0 auto, 1 loop,
// 2 foreach, 3 fused; `ran` says which one ran.
internal static unsafe partial class NativeMethods
{
    [DllImport(Library)] internal static extern int lt_optim_capabilities();
    [DllImport(Library)] internal static extern int lt_adamw_step(IntPtr* parameters, IntPtr* expAvg, IntPtr* expAvgSq, long* steps, IntPtr* deviceSteps, int count,
                                                                double lr, double beta1, double beta2, double eps, double weightDecay, int impl, out int ran);
    [DllImport(Library)] internal static extern int lt_lion_step(IntPtr* parameters, IntPtr* expAvg, int count, double lr, double beta1, double beta2, double weightDecay,
                                                               int impl, out int ran);
    [DllImport(Library)] internal static extern int lt_sgd_step(IntPtr* parameters, IntPtr* momentumBuffer, int* hasBuffer, int count, double lr,
                                                              double momentum, double dampening, double weightDecay, int nesterov);
    [DllImport(Library)] internal static extern int lt_clip_grad_norm(IntPtr* parameters, int count, double maxNorm, out double totalNorm);
}
