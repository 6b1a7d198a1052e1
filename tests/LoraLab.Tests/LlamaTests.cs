using System.Diagnostics;
using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using LoraLab.Torch;

namespace LoraLab.Tests;

public class LlamaTests
{
    [Fact]
    public void Parameter_names_follow_Hugging_Face_LlamaForCausalLM()
    {
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var names = model.state_dict().Keys.ToList();
        foreach (var n in new[] { "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.o_proj.weight",
                                  "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                                  "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight" })
            Assert.Contains(n, names);
        Assert.Equal(2 + 1 + 2 * 9, names.Count);
        using var tied = new LlamaForCausalLM(TestSupport.TinyLlama(tie: true));
        Assert.DoesNotContain("lm_head.weight", tied.state_dict().Keys);
    }

    [Fact]
    public void Causal_attention_makes_logits_independent_of_later_tokens()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(init: 0.2));
        var a = torch.tensor(new long[] { 1, 2, 3, 4, 5, 6 }, new long[] { 1, 6 });
        var b = torch.tensor(new long[] { 1, 2, 3, 9, 9, 9 }, new long[] { 1, 6 });
        var la = model.forward(a); var lb = model.forward(b);
        Assert.Equal(new long[] { 1, 6, 48 }, la.shape);
        Assert.True(TestSupport.MaxAbsDiff(la.narrow(1, 0, 3), lb.narrow(1, 0, 3)) < 1e-6);
        Assert.True(TestSupport.MaxAbsDiff(la.narrow(1, 3, 1), lb.narrow(1, 3, 1)) > 1e-4);
    }

    [Fact]
    public void Sequence_classification_reads_the_last_non_pad_token()
    {
        using var scope = torch.NewDisposeScope();
        var config = TestSupport.TinyLlama(init: 0.2) with { pad_token_id = 0, num_labels = 3 };
        using var model = new LlamaForSequenceClassification(config);
        var padded = torch.tensor(new long[] { 5, 6, 7, 0, 0 }, new long[] { 1, 5 });
        var plain = torch.tensor(new long[] { 5, 6, 7 }, new long[] { 1, 3 });
        var logits = model.forward(padded);
        Assert.Equal(new long[] { 1, 3 }, logits.shape);
        Assert.True(TestSupport.MaxAbsDiff(logits, model.forward(plain)) < 1e-5);
    }

    private static double Train(LlamaForCausalLM model, Optimizer opt, Tensor ids, int steps)
    {
        double loss = double.NaN;
        for (int i = 0; i < steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var l = model.Loss(ids);
            l.backward();
            opt.clip_grad_norm_(1.0);
            opt.step();
            loss = l.ToDouble();
        }
        return loss;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_small_llama_overfits_a_tiny_batch(bool lora)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(init: 0.2));
        var ids = torch.randint(0, 48, new long[] { 2, 16 });
        double initial = model.Loss(ids).ToDouble();
        if (lora) LoraAdapters.Apply(model, new LoraConfig(r: 8, lora_alpha: 16, target_modules: "q_proj,v_proj"));
        using var opt = new AdamW(lora ? LoraPlus.ParamGroups(model, lr: 1e-2, lr_ratio: 4) : new List<ParamGroup> { new(model.parameters(), 1e-2) });
        double final = Train(model, opt, ids, lora ? 150 : 100);
        Assert.True(final < 0.5, $"loss {initial:F3} -> {final:F3}");
    }

    [Fact]
    public void Training_steps_inside_dispose_scopes_do_not_leak_tensors()
    {
        using var outer = torch.NewDisposeScope();
        torch.manual_seed(22);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        LoraAdapters.Apply(model, new LoraConfig(r: 4, target_modules: "all-linear"));
        LoraAdapters.RecordNorms(model);
        var ids = torch.randint(0, 48, new long[] { 2, 8 });
        using var opt = new AdamW(LoraPlus.ParamGroups(model, lr: 1e-3));
        Train(model, opt, ids, 20);                       // warm up: gradients and state exist
        GC.Collect(); GC.WaitForPendingFinalizers();
        long before = Tensor.LiveCount;
        Train(model, opt, ids, 300);
        GC.Collect(); GC.WaitForPendingFinalizers();
        long after = Tensor.LiveCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after}");
    }

    [PythonTorchFact]
    public void Exported_checkpoint_matches_an_independent_python_reference_forward()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(23);
        foreach (bool tie in new[] { false, true })
        {
            using var model = new LlamaForCausalLM(TestSupport.TinyLlama(tie: tie, init: 0.2));
            string dir = TestSupport.TempDir("parity");
            HfCheckpoint.Save(dir, model);
            var ids = torch.randint(0, 48, new long[] { 2, 12 });
            var logits = model.forward(ids).detach();
            string io = Path.Combine(dir, "parity_io.safetensors");
            Safetensors.Save(io, new Dictionary<string, Tensor> { ["input_ids"] = ids, ["logits"] = logits });
            var (code, output) = RunPython(ParityScript(), dir, io, "--atol", "1e-4");
            Assert.True(code == 0, $"python parity failed (tie={tie}):\n{output}");
            Assert.Contains("max_abs_diff", output);
        }
    }

    private static string ParityScript()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "python", "llama_parity.py"))) dir = dir.Parent;
        return dir is null ? throw new FileNotFoundException("tests/python/llama_parity.py") : Path.Combine(dir.FullName, "tests", "python", "llama_parity.py");
    }

    /// <summary>A Fact that is skipped, with the reason shown, when /usr/bin/python3 cannot import torch.</summary>
    public sealed class PythonTorchFactAttribute : FactAttribute
    {
        public PythonTorchFactAttribute()
        {
            if (!PythonTorchAvailable(out string why)) Skip = why;
        }
    }

    private static bool PythonTorchAvailable(out string why)
    {
        why = "";
        if (!File.Exists("/usr/bin/python3")) { why = "/usr/bin/python3 is missing: the Python parity check is skipped"; return false; }
        var (code, output) = RunPython("-c", "import torch, numpy");
        if (code != 0) { why = "/usr/bin/python3 cannot import torch and numpy: the Python parity check is skipped (" + output.Trim() + ")"; return false; }
        return true;
    }

    private static (int code, string output) RunPython(params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }
}
