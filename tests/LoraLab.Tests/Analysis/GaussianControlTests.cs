using LoraLab.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Analysis;

public class GaussianControlTests
{
    [Fact]
    public void The_control_from_a_matrix_spectrum_matches_the_control_on_the_matrix_itself()
    {
        // A = U diag(σ) Vᵀ with random rotations: noise on A and noise on diag(σ) change the spectrum alike.
        const long rows = 96, columns = 64;
        var sigma = Enumerable.Range(0, (int)columns).Select(i => 10.0 * Math.Pow(0.93, i)).ToArray();
        var u = torch.linalg.qr(torch.randn(new[] { rows, rows }, ScalarType.Float64, generator: new Generator(1))).Q;
        var v = torch.linalg.qr(torch.randn(new[] { columns, columns }, ScalarType.Float64, generator: new Generator(2))).Q;
        var d = torch.zeros(rows, columns, dtype: ScalarType.Float64);
        d.diagonal().copy_(torch.tensor(sigma, ScalarType.Float64));
        var a = u.matmul(d).matmul(v.T);
        Assert.Equal(sigma, Spectra.SingularValues(a), new Tolerance(1e-9));

        double[] scales = [-2, -1, 0];
        var control = GaussianControl.Of(sigma, rows, columns, scales, seed: 3);
        double rms = a.norm().ToDouble() / Math.Sqrt(rows * columns);
        for (int i = 0; i < scales.Length; i++)
        {
            var noise = torch.randn(new[] { rows, columns }, ScalarType.Float64, generator: new Generator(7)) * rms;
            double onMatrix = GaussianControl.SpectrumChange(sigma, Spectra.SingularValues(a + noise * Math.Pow(10, scales[i])));
            Assert.InRange(control.SpectrumChanges[i] / onMatrix, 0.85, 1.15);
        }
        Assert.True(control.SpectrumChanges[0] < control.SpectrumChanges[1] && control.SpectrumChanges[1] < control.SpectrumChanges[2],
                    "larger noise changes the spectrum more");
        Assert.InRange(control.NoiseRank90, columns / 2, columns);    // Gaussian noise spreads over most directions
    }

    [Fact]
    public void A_spectrum_of_the_wrong_length_is_refused()
    {
        Assert.Throws<ArgumentException>(() => GaussianControl.Of([1.0, 0.5], 3, 4, [0.0]));
    }

    sealed class Tolerance(double absolute) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= absolute;
        public int GetHashCode(double value) => 0;
    }
}
