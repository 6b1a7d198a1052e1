using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace LoraLab.Tests;

public class LoraLayerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merged_output_equals_unmerged_output_and_unmerge_restores_the_weight(bool rslora)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        using var linear = nn.Linear(24, 16);
        var original = linear.weight.clone();
        using var lora = new LoraLinear(linear, r: 4, lora_alpha: 8, use_rslora: rslora);
        using (torch.no_grad()) lora.lora_B.normal_(0, 0.5);               // a trained-looking, nonzero B
        var x = torch.randn(5, 24);
        var unmerged = lora.forward(x).detach();
        lora.Merge();
        Assert.True(lora.merged);
        var merged = lora.forward(x).detach();
        Assert.True(TestSupport.MaxAbsDiff(unmerged, merged) < 1e-5, "merged output differs");
        Assert.True(TestSupport.MaxAbsDiff(lora.weight, original) > 1e-3, "merge did not change W");
        lora.Unmerge();
        Assert.True(TestSupport.MaxAbsDiff(lora.weight, original) < 1e-6, "unmerge did not restore W");
        Assert.Equal(rslora ? 8 / 2.0 : 8 / 4.0, lora.scaling);
    }

    [Fact]
    public void PiSSA_residual_plus_adapter_equals_the_original_weight()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(6);
        using var linear = nn.Linear(20, 12);
        var original = linear.weight.clone();
        var x = torch.randn(3, 20);
        var before = linear.forward(x).detach();
        using var lora = new LoraLinear(linear, r: 3, lora_alpha: 6, init: LoraInit.PiSSA);
        Assert.True(TestSupport.MaxAbsDiff(lora.weight + lora.Delta(), original) < 1e-5);
        Assert.True(TestSupport.MaxAbsDiff(lora.forward(x), before) < 1e-5);
        // The adapter holds W's top-3 singular values, the residual the rest.
        var s = torch.linalg.svdvals(original).data<float>();
        var sAdapter = torch.linalg.svdvals(lora.Delta()).data<float>();
        for (int i = 0; i < 3; i++) Assert.Equal(s[i], sAdapter[i], 3);
        Assert.True(torch.linalg.svdvals(lora.weight).data<float>()[0] < s[2] + 1e-4);
    }

    [Fact]
    public void Record_norms_reports_A_x_and_B_A_x()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        using var linear = nn.Linear(16, 16);
        using var lora = new LoraLinear(linear, r: 4, lora_alpha: 4) { RecordNorms = true };
        var x = torch.randn(8, 16);
        lora.call(x);                                                     // hooks run through call(), as in PyTorch
        Assert.True(lora.LastNormA > 0);
        Assert.Equal(0.0, lora.LastNormBA);                               // Init[A]: B = 0
        var expected = x.mm(lora.lora_A.T).norm(-1).mean().ToDouble();
        Assert.Equal(expected, lora.LastNormA, 5);
    }

    [Fact]
    public void Apply_freezes_the_base_and_reports_trainable_parameters()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        long total = model.num_parameters();
        var adapted = LoraAdapters.Apply(model, new LoraConfig(r: 2, target_modules: "q_proj,v_proj"));
        Assert.Equal(new[] { "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj" }, adapted);
        var report = ParameterReport.Of(model);
        Assert.Equal(4 * (2 * 32 + 32 * 2), report.trainable);
        Assert.Equal(total + report.trainable, report.total);
        Assert.All(model.named_parameters().Where(p => p.parameter.requires_grad), p => Assert.Contains(".lora_", p.name));
        Assert.Contains("trainable%", report.ToString());
    }

    [Fact]
    public void All_linear_skips_the_output_layers_and_modules_to_save_stay_trainable()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForSequenceClassification(TestSupport.TinyLlama());
        var adapted = LoraAdapters.Apply(model, new LoraConfig(r: 2, target_modules: "all-linear", modules_to_save: "score"));
        Assert.Equal(2 * 7, adapted.Count);
        Assert.DoesNotContain(adapted, n => n.Contains("score"));
        Assert.True(model.named_parameters().Single(p => p.name == "score.weight").parameter.requires_grad);
    }

    [Fact]
    public void Invalid_configurations_throw_ArgumentException_naming_the_field()
    {
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var zero = Assert.Throws<ArgumentException>(() => LoraAdapters.Apply(model, new LoraConfig(r: 0)));
        Assert.Equal("r", zero.ParamName);
        var tooBig = Assert.Throws<ArgumentException>(() => LoraAdapters.Apply(model, new LoraConfig(r: 33)));
        Assert.Equal("r", tooBig.ParamName);
        var unknown = Assert.Throws<ArgumentException>(() => LoraAdapters.Apply(model, new LoraConfig(target_modules: "q_proj,qkv_proj")));
        Assert.Equal("target_modules", unknown.ParamName);
        Assert.Contains("qkv_proj", unknown.Message);
        Assert.Empty(LoraAdapters.Layers(model));                          // nothing was changed
        Assert.Throws<ArgumentException>(() => new LoraLinear(nn.Linear(4, 8), r: 5, lora_alpha: 1));
    }
}
