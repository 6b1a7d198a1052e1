using LoraLab.Torch.Native;

namespace LoraLab.Torch;

public static partial class torch
{
    /// <summary>Linear algebra for the analyses (spectra of weight changes, NTK Gram matrices).</summary>
    public static class linalg
    {
        /// <summary>x = U diag(S) Vh; the reduced form (full_matrices = false) unless asked otherwise.</summary>
        public static (Tensor U, Tensor S, Tensor Vh) svd(Tensor x, bool full_matrices = false)
        {
            Checked.Status(NativeMethods.lt_svd(x.Handle, full_matrices ? 1 : 0, out IntPtr u, out IntPtr s, out IntPtr vh), $"svd of shape {x.ShapeText()}");
            return (new Tensor(u), new Tensor(s), new Tensor(vh));
        }

        /// <summary>The singular values, largest first.</summary>
        public static Tensor svdvals(Tensor x) => Checked.Tensor(NativeMethods.lt_svdvals(x.Handle), $"svdvals of shape {x.ShapeText()}");

        /// <summary>x = Q R; mode "reduced", "complete" or "r" (R only: Q is then empty).</summary>
        public static (Tensor Q, Tensor R) qr(Tensor x, string mode = "reduced")
        {
            int code = mode switch
            {
                "reduced" => 0,
                "complete" => 1,
                "r" => 2,
                _ => throw new ArgumentException($"qr mode '{mode}' is not one of reduced, complete, r"),
            };
            Checked.Status(NativeMethods.lt_qr(x.Handle, code, out IntPtr q, out IntPtr r), $"qr of shape {x.ShapeText()}");
            return (new Tensor(q), new Tensor(r));
        }

        /// <summary>Eigenvalues (ascending) and eigenvectors of a symmetric matrix.</summary>
        public static (Tensor eigenvalues, Tensor eigenvectors) eigh(Tensor x)
        {
            Checked.Status(NativeMethods.lt_eigh(x.Handle, out IntPtr values, out IntPtr vectors), $"eigh of shape {x.ShapeText()}");
            return (new Tensor(values), new Tensor(vectors));
        }

        public static Tensor pinv(Tensor x) => Checked.Tensor(NativeMethods.lt_pinv(x.Handle), "pinv");

        public static Tensor solve(Tensor a, Tensor b) => Checked.Tensor(NativeMethods.lt_solve(a.Handle, b.Handle), $"solve of {a.ShapeText()} and {b.ShapeText()}");

        /// <summary>
        /// The numerical rank: how many singular values exceed tol, by default
        /// max(rows, cols) * eps(dtype) * largest singular value (NumPy's and PyTorch's default).
        /// </summary>
        public static long matrix_rank(Tensor x, double? tol = null)
        {
            using var s = svdvals(x);
            var values = s.to(float64).data<double>();
            if (values.Length == 0) return 0;
            double eps = x.dtype == float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;  // machine epsilon
            double threshold = tol ?? Math.Max(x.size(-2), x.size(-1)) * eps * values.Max();
            return values.LongCount(v => v > threshold);
        }

        public static Tensor norm(Tensor x, double ord = 2) => x.norm(ord);
    }
}
