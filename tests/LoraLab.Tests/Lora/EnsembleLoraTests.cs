using LoraLab.Lora;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Tests.Lora;

/// <summary>LoRA dropout from each layer's own generator, and ensembles of LoRA runs on one shared frozen model.</summary>
public class EnsembleLoraTests
{
    // A member as a single run builds it: the same frozen model (seed 0), then its own LoRA under its own seed.
    private static LlamaForCausalLM Member(int seed, LoraConfig config, int baseSeed = 0)
    {
        torch.manual_seed(baseSeed);
        var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        torch.manual_seed(seed);
        LoraAdapters.Apply(model, config);
        // A trained-looking zero factor, so that the update is not zero (from the member's own seed, as its init).
        using (torch.no_grad())
            foreach (var (_, layer) in LoraAdapters.Layers(model))
                (layer.init.ZeroesB() ? layer.lora_B : layer.lora_A).normal_(0, 0.3);
        return model;
    }

    private static readonly (int seed, LoraConfig config)[] Members =
    {
        (1, new LoraConfig(r: 4, lora_alpha: 8, lora_dropout: 0.2)),
        (2, new LoraConfig(r: 4, lora_alpha: 4, lora_dropout: 0.2, init: LoraInit.InitB_KaimingUniform)),
        (3, new LoraConfig(r: 4, lora_alpha: 16, lora_dropout: 0.0, init: LoraInit.InitA_Gaussian)),
    };

    [Fact]
    public void A_dropout_layer_draws_its_masks_from_its_own_generator_so_a_seeded_run_repeats_and_the_global_generator_does_not_matter()
    {
        using var scope = torch.NewDisposeScope();
        Tensor Output(long globalSeedBeforeForward)
        {
            torch.manual_seed(11);
            using var linear = nn.Linear(16, 8);
            using var lora = new LoraLinear(linear, r: 2, lora_alpha: 2, lora_dropout: 0.5);
            using (torch.no_grad()) lora.lora_B.normal_(0, 1);
            var x = torch.ones(4, 16);
            torch.manual_seed(globalSeedBeforeForward);        // a draw from the global generator would change with this
            lora.train();
            return torch.stack(new[] { lora.forward(x), lora.forward(x) }).detach();
        }
        var a = Output(1);
        var b = Output(2);
        Assert.Equal(0, TestSupport.MaxAbsDiff(a, b));                              // the same masks: the layer's own generator
        Assert.True(TestSupport.MaxAbsDiff(a[0], a[1]) > 0, "the second forward draws a new mask");
    }

    [Fact]
    public void The_ensemble_layer_gives_each_member_its_own_LoraLinear_output_dropout_included_on_inputs_of_different_lengths()
    {
        using var scope = torch.NewDisposeScope();
        const string target = "model.layers.1.self_attn.v_proj";
        long b = 3, T = 7;
        long[] lengths = { 7, 4, 5 };
        torch.manual_seed(100);
        var inputs = lengths.Select(t => torch.randn(b, t, 32)).ToArray();

        // Each member's own LoraLinear, in training mode (dropout on), on its own input.
        var alone = Members.Select((m, e) =>
        {
            using var model = Member(m.seed, m.config);
            var layer = (LoraLinear)model.named_modules().Single(x => x.name == target).module;
            layer.train();
            return torch.stack(new[] { layer.forward(inputs[e]), layer.forward(inputs[e]) }).detach();   // two steps' masks
        }).ToList();

        // The same members as one ensemble, on their inputs padded to T and stacked.
        using var ensemble = LoraEnsemble.FromMembers(Members.Select(m => Member(m.seed, m.config)).ToList());
        var ensembleLayer = ensemble.layers.Single(l => l.name == target).layer;
        Assert.Equal(new long[] { 3, 32, 4 }, ensembleLayer.lora_At.shape);
        Assert.Equal(new long[] { 3, 4, 32 }, ensembleLayer.lora_Bt.shape);
        Assert.True(ensembleLayer.lora_At.is_contiguous() && ensembleLayer.lora_Bt.is_contiguous());
        ensemble.SetMemberLengths(lengths);
        ensemble.model.train();
        var stacked = torch.cat(inputs.Select(x => F.pad(x, new long[] { 0, 0, 0, T - x.size(1) })).ToArray());   // [E·b, T, 32]
        var together = torch.stack(new[] { ensembleLayer.forward(stacked), ensembleLayer.forward(stacked) }).detach();
        for (int e = 0; e < Members.Length; e++)
        {
            var mine = together.narrow(1, e * b, b).narrow(2, 0, lengths[e]);
            // bmm and F.linear round differently: float32's tolerance on outputs of size ~1.
            Assert.True(TestSupport.MaxAbsDiff(mine, alone[e]) < 1e-5, $"member {e} differs by {TestSupport.MaxAbsDiff(mine, alone[e])}");
        }
        // In eval mode there is no dropout, and the members' outputs are their LoraLinear's without it.
        ensemble.model.eval();
        var evaluated = ensembleLayer.forward(stacked).detach();
        using var first = Member(Members[0].seed, Members[0].config);
        var firstLayer = (LoraLinear)first.named_modules().Single(x => x.name == target).module;
        firstLayer.eval();
        Assert.True(TestSupport.MaxAbsDiff(evaluated.narrow(0, 0, b), firstLayer.forward(stacked.narrow(0, 0, b))) < 1e-5);
    }

    [Fact]
    public void The_ensemble_model_gives_each_member_its_own_model_output_and_trains_only_the_stacked_factors()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var ids = torch.randint(0, 48, new long[] { 2, 9 });
        var alone = Members.Select(m => { using var model = Member(m.seed, m.config); model.eval(); return model.forward(ids).detach(); }).ToList();
        using var ensemble = LoraEnsemble.FromMembers(Members.Select(m => Member(m.seed, m.config)).ToList());
        ensemble.model.eval();
        var together = ensemble.model.forward(ids.repeat(Members.Length, 1)).detach();
        for (int e = 0; e < Members.Length; e++)
            Assert.True(TestSupport.MaxAbsDiff(together.narrow(0, 2 * e, 2), alone[e]) < 1e-4, $"member {e}");
        var trainable = ensemble.model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(2 * 2 * 2, trainable.Count);                       // 2 layers × (q, v) × (Aᵀ, Bᵀ)
        Assert.All(trainable, name => Assert.True(name.EndsWith(".lora_At") || name.EndsWith(".lora_Bt"), name));
        Assert.Equal(ensemble.A.Count + ensemble.B.Count, trainable.Count);
    }

    [Fact]
    public void An_ensemble_of_models_whose_frozen_weights_differ_is_refused()
    {
        using var scope = torch.NewDisposeScope();
        var config = new LoraConfig(r: 2, lora_alpha: 2);
        var models = new[] { Member(1, config, baseSeed: 0), Member(2, config, baseSeed: 1) };
        var e = Assert.Throws<ArgumentException>(() => LoraEnsemble.FromMembers(models));
        Assert.Contains("member 1's frozen weight", e.Message);
        Assert.Contains("differs from member 0's", e.Message);
        Assert.IsType<LoraLinear>(models[0].model.layers[0].self_attn.q_proj);      // nothing changed
        foreach (var m in models) m.Dispose();
    }

    [Fact]
    public void An_ensemble_of_runs_that_train_more_than_LoRA_factors_is_refused()
    {
        using var scope = torch.NewDisposeScope();
        var config = new LoraConfig(r: 2, lora_alpha: 2, modules_to_save: "lm_head");
        var models = new[] { Member(1, config), Member(2, config) };
        var e = Assert.Throws<ArgumentException>(() => LoraEnsemble.FromMembers(models));
        Assert.Contains("lm_head.weight", e.Message);
        Assert.Contains("must train alone", e.Message);
        foreach (var m in models) m.Dispose();
    }
}
