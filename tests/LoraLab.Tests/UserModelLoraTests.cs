using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using AdamW = LoraLab.Optim.AdamW;

namespace LoraLab.Tests;

/// <summary>
/// LoRA on models written the way TorchSharp users write them, not LoraLab's own: fields typed Linear (sealed, so the
/// adapter is a forward hook) called through call(), fields typed Module&lt;Tensor, Tensor&gt; (the adapter takes the
/// Linear's place), a Sequential, and the one shape that cannot work: a field typed Linear called with forward().
/// </summary>
public class UserModelLoraTests
{
    /// <summary>Fields typed Linear, invoked with call(): LoRA attaches as forward hooks.</summary>
    private sealed class LinearFields : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc1, fc2;

        public LinearFields() : base(nameof(LinearFields))
        {
            fc1 = nn.Linear(6, 16, dtype: ScalarType.Float64);
            fc2 = nn.Linear(16, 3, dtype: ScalarType.Float64);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc2.call(fc1.call(x).relu());
    }

    /// <summary>Fields typed Module&lt;Tensor, Tensor&gt;, invoked with forward(): LoRA takes the Linears' places.</summary>
    private sealed class ModuleFields : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> fc1, fc2;

        public ModuleFields() : base(nameof(ModuleFields))
        {
            fc1 = nn.Linear(6, 16, dtype: ScalarType.Float64);
            fc2 = nn.Linear(16, 3, dtype: ScalarType.Float64);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x).relu());
    }

    /// <summary>A field typed Linear invoked with forward(), which runs no hooks: an adapter there would be dead.</summary>
    private sealed class ForwardCalls : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc1, fc2;

        public ForwardCalls() : base(nameof(ForwardCalls))
        {
            fc1 = nn.Linear(6, 16, dtype: ScalarType.Float64);
            fc2 = nn.Linear(16, 3, dtype: ScalarType.Float64);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x).relu());
    }

    private static nn.Module<Tensor, Tensor> Sequential() => nn.Sequential(
        ("fc1", nn.Linear(6, 16, dtype: ScalarType.Float64)), ("act", nn.ReLU()), ("fc2", nn.Linear(16, 3, dtype: ScalarType.Float64)));

    public static TheoryData<string> Models => new() { "LinearFields", "ModuleFields", "Sequential" };

    private static nn.Module<Tensor, Tensor> Make(string kind, int seed)
    {
        torch.manual_seed(seed);
        return kind switch
        {
            "LinearFields" => new LinearFields(),
            "ModuleFields" => new ModuleFields(),
            "Sequential" => Sequential(),
            "ForwardCalls" => new ForwardCalls(),
            _ => throw new ArgumentException(kind),
        };
    }

    private static readonly LoraConfig Recipe = new(r: 2, lora_alpha: 4, target_modules: "fc1,fc2");

    private static (Tensor x, Tensor y) Data()
    {
        torch.manual_seed(99);
        var x = torch.randn(new long[] { 32, 6 }, ScalarType.Float64);
        var y = torch.randint(0, 3, new long[] { 32 });
        return (x, y);
    }

    private static double Loss(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y) =>
        nn.functional.cross_entropy(model.call(x), y).ToDouble();

    [Theory, MemberData(nameof(Models))]
    public void Init_A_leaves_the_output_unchanged_at_step_0_and_training_lowers_the_loss(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var model = Make(kind, seed: 1);
        var (x, y) = Data();
        var before = model.call(x).detach();
        var adapted = LoraAdapters.Apply(model, Recipe);
        Assert.Equal(new[] { "fc1", "fc2" }, adapted);
        Assert.Equal(2, LoraAdapters.Layers(model).Count());
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(before, model.call(x)));

        // Names as PEFT's: the base weight keeps its name, the factors sit under the layer.
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("fc1.weight", names);
        Assert.Contains("fc1.lora_A.weight", names);
        Assert.Contains("fc2.lora_B.weight", names);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).OrderBy(n => n).ToList();
        Assert.Equal(new[] { "fc1.lora_A.weight", "fc1.lora_B.weight", "fc2.lora_A.weight", "fc2.lora_B.weight" }, trainable);

        double initial = Loss(model, x, y);
        using var opt = new AdamW(LoraPlus.ParamGroups(model, lr: 0.05, lr_ratio: 4));
        for (int step = 0; step < 30; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            opt.zero_grad();
            nn.functional.cross_entropy(model.call(x), y).backward();
            opt.step();
        }
        Assert.True(Loss(model, x, y) < 0.9 * initial, $"{kind}: the loss went from {initial:G4} to {Loss(model, x, y):G4}");
        Assert.All(LoraAdapters.Layers(model), l => Assert.True(l.layer.lora_B.abs().sum().ToDouble() > 0, $"{l.name}'s B did not move"));
    }

    [Theory, MemberData(nameof(Models))]
    public void The_adapter_round_trips_in_PEFTs_layout_onto_a_fresh_copy_of_the_base(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var model = Make(kind, seed: 2);
        using var copy = Make(kind, seed: 2);                       // the same base weights
        var (x, _) = Data();
        LoraAdapters.Apply(model, Recipe);
        using (torch.no_grad())
            foreach (var (_, _, p) in LoraAdapters.Factors(model)) p.normal_(0, 0.3);
        var expected = model.call(x).detach();
        string dir = TestSupport.TempDir("user-peft");
        PeftAdapter.Save(dir, model, Recipe);
        var loaded = PeftAdapter.Load(dir, copy);
        Assert.Equal(Recipe.r, loaded.r);
        Assert.True(TestSupport.MaxAbsDiff(expected, copy.call(x)) < 1e-12);

        var keys = Safetensors.Load(Path.Combine(dir, "adapter_model.safetensors"));
        Assert.Equal(new[] { "base_model.model.fc1.lora_A.weight", "base_model.model.fc1.lora_B.weight",
                             "base_model.model.fc2.lora_A.weight", "base_model.model.fc2.lora_B.weight" }, keys.Keys.OrderBy(k => k));
        Assert.Equal(new long[] { 2, 6 }, keys["base_model.model.fc1.lora_A.weight"].shape);    // A: [r, in]
        Assert.Equal(new long[] { 16, 2 }, keys["base_model.model.fc1.lora_B.weight"].shape);   // B: [out, r]
        foreach (var t in keys.Values) t.Dispose();

        // Merging folds s·B·A into the base weights: the same outputs from one matmul per layer.
        LoraAdapters.Merge(model);
        Assert.True(TestSupport.MaxAbsDiff(expected, model.call(x)) < 1e-12);
        LoraAdapters.Unmerge(model);
        Assert.True(TestSupport.MaxAbsDiff(expected, model.call(x)) < 1e-12);
    }

    [Fact]
    public void Fields_typed_Linear_get_hooks_and_other_fields_and_containers_get_a_LoraLinear()
    {
        using var hooked = Make("LinearFields", 3);
        using var replaced = Make("ModuleFields", 3);
        using var sequential = Make("Sequential", 3);
        LoraAdapters.Apply(hooked, Recipe);
        LoraAdapters.Apply(replaced, Recipe);
        LoraAdapters.Apply(sequential, Recipe);
        Assert.All(hooked.named_children(), c => Assert.IsType<Linear>(c.module));
        Assert.All(LoraAdapters.Layers(hooked), l => Assert.Contains("forward hook", l.layer.attachedAs));
        Assert.All(replaced.named_children(), c => Assert.IsType<LoraLinear>(c.module));
        Assert.Equal(new[] { typeof(LoraLinear), typeof(ReLU), typeof(LoraLinear) }, sequential.named_children().Select(c => c.module.GetType()));
    }

    [Fact]
    public void A_hooked_adapter_that_the_model_calls_with_forward_is_a_clear_error_at_the_first_step()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Make("ForwardCalls", seed: 4);
        var (x, y) = Data();
        // fc2 trains in full, so backward has something to do; fc1's adapter never runs.
        LoraAdapters.Apply(model, Recipe with { target_modules = "fc1", modules_to_save = "fc2" });
        using var opt = new AdamW(LoraPlus.ParamGroups(model, lr: 0.05));
        opt.zero_grad();
        nn.functional.cross_entropy(model.call(x), y).backward();
        var before = LoraAdapters.Factors(model).Select(f => f.parameter.clone()).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => opt.step());
        Assert.Contains("'fc1'", e.Message);
        Assert.Contains("fc1.call(x)", e.Message);
        Assert.Contains("Module<Tensor, Tensor>", e.Message);
        Assert.All(LoraAdapters.Factors(model).Zip(before), f => Assert.Equal(0.0, TestSupport.MaxAbsDiff(f.First.parameter, f.Second)));
    }
}
