using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Lora;

/// <summary>
/// The LoRA layers of E runs on one frozen Linear, in the Linear's place: an ensemble's layer (<see cref="LoraEnsemble"/>
/// builds them). It holds the frozen W and bias once, and the members' factors stacked, in the layout the batched
/// product needs: Aᵀ [E, in, r] and Bᵀ [E, r, out], contiguous (libtorch's CPU bmm is about 3x slower on a transposed
/// operand). Its input rows are the members' batches stacked, [E·b, …, in], member e's rows being the e-th block:
/// <code>
/// y = x Wᵀ + b                                  all rows at once, one matrix product
///   + s_e · dropout_e(x_e) Aᵀ_e Bᵀ_e              per member, by bmm on the rows viewed as [E, b·…, in]
/// </code>
/// which is, member by member, <see cref="LoraLinear"/>'s y = W x + b + s · B A dropout(x). Each member keeps its scaling,
/// and its dropout mask stream with its p (the one its own LoraLayer was built with), so its masks are those of the run
/// alone: drawn at the shape of the member's own input, which may be shorter along dimension 1 (a sequence padded to the
/// ensemble's longest, see <see cref="LoraEnsemble{TModel}.SetMemberLengths"/>).
/// </summary>
public sealed class EnsembleLoraLinear : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter? bias;
    /// <summary>Aᵀ of every member: [E, in, r] (member e's A is lora_At[e]ᵀ).</summary>
    public Parameter lora_At;
    /// <summary>Bᵀ of every member: [E, r, out] (member e's B is lora_Bt[e]ᵀ).</summary>
    public Parameter lora_Bt;

    private readonly double[] scalings;
    private readonly DropoutMasks?[] masks;      // each member's dropout mask stream (its p with it); null: no dropout
    // Per-member scaling [E, 1, 1] in the compute dtype; null when every member has the same (a scalar then does).
    // Assigned after RegisterComponents, so it is no buffer of the model.
    private readonly Tensor? scalingTensor;

    internal EnsembleLoraLinear(string name, Parameter weight, Parameter? bias, Tensor At, Tensor Bt, double[] scalings,
                                DropoutMasks?[] masks) : base(nameof(EnsembleLoraLinear))
    {
        int E = scalings.Length;
        if (At.dim() != 3 || Bt.dim() != 3 || At.size(0) != E || Bt.size(0) != E || At.size(2) != Bt.size(1)
            || At.size(1) != weight.size(1) || Bt.size(2) != weight.size(0))
            throw new ArgumentException($"'{name}': Aᵀ [{string.Join(", ", At.shape)}] and Bᵀ [{string.Join(", ", Bt.shape)}] do not fit " +
                                        $"{E} members of a {weight.size(1)}→{weight.size(0)} layer");
        if (masks.Length != E) throw new ArgumentException("one dropout mask stream (or null) per member");
        target = name;
        this.weight = weight;
        this.bias = bias;
        lora_At = new Parameter(At.contiguous());
        lora_Bt = new Parameter(Bt.contiguous());
        this.scalings = scalings.ToArray();
        this.masks = masks.ToArray();
        RegisterComponents();
        if (scalings.Distinct().Count() > 1)
            scalingTensor = torch.tensor(scalings, ScalarType.Float64).to(weight.dtype, weight.device).view(E, 1, 1).DetachFromDisposeScope();
    }

    /// <summary>The adapted module's dotted name in the model.</summary>
    public string target { get; }
    public int members => scalings.Length;
    public int r => (int)lora_At.size(2);
    public long in_features => weight.size(1);
    public long out_features => weight.size(0);
    public IReadOnlyList<double> scaling => scalings;
    public IReadOnlyList<double> dropout => masks.Select(m => m?.p ?? 0).ToArray();

    /// <summary>Each member's length along dimension 1 of its own input (its sequence length before the ensemble padded
    /// it to the longest), for drawing its dropout masks at its own shape; null: every member's is the input's.</summary>
    internal long[]? memberLengths { get; set; }

    /// <summary>Member e's factors as a LoraLayer holds them: A [r, in] and B [out, r] (copies).</summary>
    public (Tensor A, Tensor B) Factors(int member)
    {
        using var noGrad = torch.no_grad();
        return (lora_At[member].t().contiguous(), lora_Bt[member].t().contiguous());
    }

    public override Tensor forward(Tensor x)
    {
        long E = members, rows = x.size(0);
        if (x.dim() < 2 || rows % E != 0)
            throw new ArgumentException($"'{target}': the input [{string.Join(", ", x.shape)}] does not hold {E} members' batches " +
                                        "stacked along its first dimension");
        var y = F.linear(x, weight, bias);
        var h = x.reshape(E, -1, in_features);                                        // [E, b·…, in]
        if (training && masks.Any(m => m is not null)) h = h * Masks(x);
        var u = h.bmm(Compute(lora_At, x.dtype)).bmm(Compute(lora_Bt, x.dtype));     // [E, b·…, out]
        u = scalingTensor is null ? u * scalings[0] : u * scalingTensor;
        return y + u.view(y.shape);
    }

    // The members' dropout masks, [E, b·…, in]: member e's drawn from its own stream at the shape of its own input
    // [b, T_e, …] (as its LoraLayer would), then padded with zeros to the ensemble's T. An input of one position per
    // sequence (a classifier's last block computes its query there only, LlamaAttention.ForwardAt) has that shape in
    // every member's own run too.
    private Tensor Masks(Tensor x)
    {
        long E = members, b = x.size(0) / E;
        var shape = x.shape.ToArray();
        shape[0] = b;
        var drawn = new Tensor[E];
        for (int e = 0; e < E; e++)
        {
            if (masks[e] is not { } stream) { drawn[e] = torch.ones(shape, x.dtype, x.device); continue; }
            var own = shape.ToArray();
            if (memberLengths is { } lengths && x.dim() >= 3 && shape[1] > 1)
            {
                if (lengths.Length != E || lengths[e] < 1 || lengths[e] > shape[1])
                    throw new InvalidOperationException($"'{target}': member lengths [{string.Join(", ", lengths)}] do not fit the input [{string.Join(", ", x.shape)}]");
                own[1] = lengths[e];
            }
            var mask = stream.Next(own, x.dtype, x.device);
            if (own[1] < shape[1])
            {
                var padding = new long[2 * (shape.Length - 1)];                       // F.pad: last dimension first
                padding[^1] = shape[1] - own[1];
                mask = F.pad(mask, padding);
            }
            drawn[e] = mask;
        }
        return torch.stack(drawn).view(E, -1, in_features);
    }

    private static Tensor Compute(Tensor factor, ScalarType dtype) => factor.dtype == dtype ? factor : factor.to(dtype);

    public override string ToString() =>
        $"EnsembleLoraLinear(in={in_features}, out={out_features}, members={members}, r={r}, scaling={string.Join("/", scalings.Distinct())})";
}
