using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Lora;

/// <summary>
/// How the LoRA factors start (Hayou, Ghosh &amp; Yu 2024). One factor is zero so that B·A = 0 and
/// the model's output is unchanged at step 0; which one is zero changes the training dynamics.
/// Shapes as in PEFT: A is [r, in], B is [out, r].
/// </summary>
public enum LoraInit
{
    /// <summary>Init[A], the loralib/PEFT default: B = 0, A ~ U(-1/√in, 1/√in) (kaiming_uniform with a = √5),
    /// so Var(A_ij) = 1/(3·in).</summary>
    InitA_KaimingUniform,

    /// <summary>Init[A] with a Gaussian: B = 0, A ~ N(0, σ²), σ² = LoraConfig.init_variance (default 1/in).</summary>
    InitA_Gaussian,

    /// <summary>Init[B]: A = 0, B ~ U(-1/√r, 1/√r) (kaiming_uniform with fan_in = r, as in the LoRA+ code),
    /// so Var(B_ij) = 1/(3r), independent of the width.</summary>
    InitB_KaimingUniform,

    /// <summary>Init[B] with a Gaussian: A = 0, B ~ N(0, σ²), σ² = LoraConfig.init_variance (default 1/r).</summary>
    InitB_Gaussian,

    /// <summary>PiSSA (Meng et al. 2024): A = diag(√(S_r/s)) V_rᵀ, B = U_r diag(√(S_r/s)) from the top-r singular
    /// triplets of W, so s·B·A is W's best rank-r part; W is replaced by the residual W − s·B·A.</summary>
    PiSSA,
}

public static class LoraInitExtensions
{
    /// <summary>True when A is the random factor (B starts at zero).</summary>
    public static bool ZeroesB(this LoraInit init) => init is LoraInit.InitA_KaimingUniform or LoraInit.InitA_Gaussian;

    /// <summary>True when B is the random factor (A starts at zero): recorded in adapter_config's loralab_init.</summary>
    public static bool ZeroesA(this LoraInit init) => init is LoraInit.InitB_KaimingUniform or LoraInit.InitB_Gaussian;

    /// <summary>The variance of each entry of the random factor: the documented formula the tests check.</summary>
    public static double FactorVariance(this LoraInit init, long inFeatures, int r, double? gaussianVariance = null) => init switch
    {
        LoraInit.InitA_KaimingUniform => 1.0 / (3.0 * inFeatures),
        LoraInit.InitA_Gaussian => gaussianVariance ?? 1.0 / inFeatures,
        LoraInit.InitB_KaimingUniform => 1.0 / (3.0 * r),
        LoraInit.InitB_Gaussian => gaussianVariance ?? 1.0 / r,
        _ => throw new ArgumentException($"{init} has no single factor variance", nameof(init)),
    };

    /// <summary>
    /// PEFT's init_lora_weights value that reproduces this init, or null where PEFT has none. PEFT's values
    /// (LoraLayer.reset_lora_parameters): true = B = 0, A kaiming-uniform (a = √5), our InitA_KaimingUniform;
    /// "gaussian" = B = 0, A ~ N(0, 1/r²) (std 1/r), our InitA_Gaussian only with init_variance = 1/r²;
    /// "pissa" = PiSSA; false = no init at all (both factors keep nn.Linear's random init), which is none of ours.
    /// </summary>
    public static object? PeftEquivalent(this LoraInit init, int r, double? gaussianVariance) => init switch
    {
        LoraInit.InitA_KaimingUniform => true,
        LoraInit.InitA_Gaussian when gaussianVariance is { } v && Math.Abs(v * r * r - 1) < 1e-9 => "gaussian",
        LoraInit.PiSSA => "pissa",
        _ => null,
    };

    /// <summary>Which factor starts at zero and how the other is drawn, in words (for configs and reports).</summary>
    public static string Describe(this LoraInit init, double? gaussianVariance = null) => init switch
    {
        LoraInit.InitA_KaimingUniform => "B = 0, A ~ U(-1/sqrt(in), 1/sqrt(in))",
        LoraInit.InitA_Gaussian => $"B = 0, A ~ N(0, {gaussianVariance?.ToString("R") ?? "1/in"})",
        LoraInit.InitB_KaimingUniform => "A = 0, B ~ U(-1/sqrt(r), 1/sqrt(r))",
        LoraInit.InitB_Gaussian => $"A = 0, B ~ N(0, {gaussianVariance?.ToString("R") ?? "1/r"})",
        LoraInit.PiSSA => "A, B from the top-r singular triplets of W; W replaced by the residual",
        _ => init.ToString(),
    };

    /// <summary>Fills A [r, in] and B [out, r] in place for the Init[A] / Init[B] schemes.</summary>
    internal static void Fill(this LoraInit init, Tensor A, Tensor B, double? gaussianVariance)
    {
        long inFeatures = A.size(1);
        int r = (int)A.size(0);
        double variance = init.FactorVariance(inFeatures, r, gaussianVariance);
        using var _ = torch.no_grad();
        switch (init)
        {
            case LoraInit.InitA_KaimingUniform: A.uniform_(-1 / Math.Sqrt(inFeatures), 1 / Math.Sqrt(inFeatures)); B.zero_(); break;
            case LoraInit.InitA_Gaussian: A.normal_(0, Math.Sqrt(variance)); B.zero_(); break;
            case LoraInit.InitB_KaimingUniform: A.zero_(); B.uniform_(-1 / Math.Sqrt(r), 1 / Math.Sqrt(r)); break;
            case LoraInit.InitB_Gaussian: A.zero_(); B.normal_(0, Math.Sqrt(variance)); break;
            default: throw new ArgumentException($"{init} is not filled at random", nameof(init));
        }
    }
}

/// <summary>
/// A notebook knob that names an init (notebooks 01 and 01b: <c>init_a</c>, <c>init_b</c>): a knob for Init[A] takes
/// only Init[A]'s variants (B = 0) and one for Init[B] only Init[B]'s (A = 0), so that a misspelt or swapped value fails
/// in the profile cell, naming the knob and the values it takes, not as a comparison of two inits of one kind.
/// </summary>
public static class LoraInitKnob
{
    public static LoraInit InitA(string knob, string value) => Parse(knob, value, zeroesB: true);

    public static LoraInit InitB(string knob, string value) => Parse(knob, value, zeroesB: false);

    private static LoraInit Parse(string knob, string value, bool zeroesB) =>
        // By name only: Enum.TryParse would also take "3" for the fourth value.
        Enum.GetNames<LoraInit>().Contains(value) && Enum.Parse<LoraInit>(value) is var init && init != LoraInit.PiSSA && init.ZeroesB() == zeroesB ? init
        : throw new ArgumentException($"{knob} = '{value}': use " + (zeroesB ? "InitA_Gaussian or InitA_KaimingUniform" : "InitB_Gaussian or InitB_KaimingUniform"), knob);
}
