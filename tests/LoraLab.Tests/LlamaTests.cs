using System.Diagnostics;
using Xunit.Abstractions;
using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

namespace LoraLab.Tests;

public class LlamaTests(ITestOutputHelper log)
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

    [Theory]
    [InlineData(null)]
    [InlineData(2)]
    public void States_at_one_position_per_sequence_equal_the_full_forward_read_there_with_the_same_LoRA_gradients(int? kvHeads)
    {
        // StatesAt computes the last block at the read positions only (LlamaAttention.ForwardAt): in float64 its states,
        // and the gradients they send to LoRA factors in every block (the last block's q and v included), must be the
        // full forward's at those positions, for rows of different lengths.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(25);
        var config = TestSupport.TinyLlama(init: 0.2) with { num_key_value_heads = kvHeads };
        using var model = new LlamaModel(config, ScalarType.Float64);
        LoraAdapters.Apply(model, new LoraConfig(r: 4, lora_alpha: 8, target_modules: "q_proj,v_proj,down_proj"));
        using (torch.no_grad())
            foreach (var (_, _, factor) in LoraAdapters.Factors(model)) factor.normal_(0, 0.1);   // B ≠ 0, so that A gets a gradient too
        var ids = torch.randint(0, 48, new long[] { 3, 9 });
        var positions = torch.tensor(new long[] { 8, 0, 4 });
        var probe = torch.randn(3, config.hidden_size, ScalarType.Float64);     // a loss that weighs every state element

        Tensor[] Gradients(Tensor states)
        {
            model.zero_grad();
            (states * probe).sum().backward();
            return LoraAdapters.Factors(model).Select(f => f.parameter.grad!.clone()).ToArray();
        }
        var full = model.forward(ids).gather(1, positions.view(3, 1, 1).expand(3, 1, config.hidden_size)).squeeze(1);
        var fullGradients = Gradients(full);
        var at = model.StatesAt(ids, positions);
        var atGradients = Gradients(at);

        Assert.Equal(new long[] { 3, config.hidden_size }, at.shape);
        Assert.True(TestSupport.MaxAbsDiff(at, full) < 1e-12, $"states differ by {TestSupport.MaxAbsDiff(at, full):G3}");
        Assert.Equal(3 * 2 * config.num_hidden_layers, fullGradients.Length);          // q, v and down in every block: A and B
        for (int i = 0; i < fullGradients.Length; i++)
        {
            Assert.True(fullGradients[i].abs().max().ToDouble() > 1e-6, $"factor {i} gets no gradient: the test would prove nothing");
            Assert.True(TestSupport.MaxAbsDiff(atGradients[i], fullGradients[i]) < 1e-12, $"factor {i}: gradients differ");
        }
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
        long before = Tensor.TotalCount;
        Train(model, opt, ids, 300);
        GC.Collect(); GC.WaitForPendingFinalizers();
        long after = Tensor.TotalCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after}");
    }

    [PythonTorchFact]
    public void Exported_checkpoint_matches_an_independent_python_reference_forward()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(23);
        foreach (var (tie, kvHeads) in new (bool, int?)[] { (false, null), (true, null), (false, 2), (true, 1) })
        {
            using var model = new LlamaForCausalLM(TestSupport.TinyLlama(tie: tie, init: 0.2) with { num_key_value_heads = kvHeads });
            string dir = TestSupport.TempDir("parity");
            HfCheckpoint.Save(dir, model);
            var ids = torch.randint(0, 48, new long[] { 2, 12 });
            var logits = model.forward(ids).detach();
            string io = Path.Combine(dir, "parity_io.safetensors");
            Safetensors.Save(io, new Dictionary<string, Tensor> { ["input_ids"] = ids, ["logits"] = logits });
            var (code, output) = RunPython(ParityScript(), dir, io, "--atol", "1e-4");
            log.WriteLine($"tie={tie}, num_key_value_heads={kvHeads}: {output.Trim()}");
            Assert.True(code == 0, $"python parity failed (tie={tie}, num_key_value_heads={kvHeads}):\n{output}");
            Assert.Contains("max_abs_diff", output);
        }
    }

    // ---- grouped-query attention ----

    [Fact]
    public void Grouped_query_attention_sizes_k_and_v_by_the_key_value_heads_and_LoRA_follows()
    {
        using var scope = torch.NewDisposeScope();
        var config = TestSupport.TinyLlama() with { num_key_value_heads = 2 };   // hidden 32, 4 heads of 8: k, v are 2 · 8 = 16 wide
        using var model = new LlamaForCausalLM(config);
        var state = model.state_dict();
        Assert.Equal(new long[] { 32, 32 }, state["model.layers.0.self_attn.q_proj.weight"].shape);
        Assert.Equal(new long[] { 16, 32 }, state["model.layers.0.self_attn.k_proj.weight"].shape);
        Assert.Equal(new long[] { 16, 32 }, state["model.layers.1.self_attn.v_proj.weight"].shape);
        Assert.Equal(new long[] { 32, 32 }, state["model.layers.0.self_attn.o_proj.weight"].shape);

        LoraAdapters.Apply(model, new LoraConfig(r: 4, target_modules: "q_proj,k_proj,v_proj", init: LoraInit.InitB_KaimingUniform));
        var factors = LoraAdapters.Factors(model).ToDictionary(f => f.name, f => f.parameter.shape);
        Assert.Equal(new long[] { 4, 32 }, factors["model.layers.0.self_attn.k_proj.lora_A.weight"]);
        Assert.Equal(new long[] { 16, 4 }, factors["model.layers.0.self_attn.k_proj.lora_B.weight"]);
        Assert.Equal(new long[] { 16, 4 }, factors["model.layers.0.self_attn.v_proj.lora_B.weight"]);
        Assert.Equal(new long[] { 32, 4 }, factors["model.layers.0.self_attn.q_proj.lora_B.weight"]);
        var ids = torch.randint(0, 48, new long[] { 2, 6 });
        Assert.Equal(new long[] { 2, 6, 48 }, model.forward(ids).shape);
        model.Loss(ids).backward();
        foreach (var (name, _, p) in LoraAdapters.Factors(model)) Assert.True(p.grad is not null, name);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void Grouped_query_attention_equals_full_attention_with_each_key_value_head_repeated_per_group(int kvHeads)
    {
        // Query head j reads key/value head j / groups: copying each k_proj/v_proj row block `groups` times
        // gives a model with one key/value head per query head and the same logits.
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(24);
        var config = TestSupport.TinyLlama(init: 0.2) with { num_key_value_heads = kvHeads };
        using var grouped = new LlamaForCausalLM(config);
        using var full = new LlamaForCausalLM(config with { num_key_value_heads = null });
        int groups = config.num_attention_heads / kvHeads, D = config.head_dim;
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, t) in grouped.state_dict())
        {
            bool kv = name.EndsWith("k_proj.weight") || name.EndsWith("v_proj.weight");
            // [KV·D, C] -> [KV, 1, D, C] -> [KV, groups, D, C] -> [H·D, C]
            state[name] = kv ? t.view(kvHeads, 1, D, -1).expand(kvHeads, groups, D, t.size(1)).reshape(-1, t.size(1)) : t;
        }
        full.load_state_dict(state);
        var ids = torch.randint(0, 48, new long[] { 2, 10 });
        Assert.True(TestSupport.MaxAbsDiff(grouped.forward(ids), full.forward(ids)) < 1e-5);
    }

    [Fact]
    public void Grouped_query_checkpoints_round_trip_through_the_Hugging_Face_layout()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(25);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama(init: 0.2) with { num_key_value_heads = 2 });
        string dir = TestSupport.TempDir("gqa-export");
        HfCheckpoint.Save(dir, model);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal(2, json["num_key_value_heads"]!.GetValue<int>());
        Assert.Equal(4, json["num_attention_heads"]!.GetValue<int>());
        using var loaded = HfCheckpoint.LoadCausalLM(dir);
        Assert.Equal(2, loaded.config.key_value_heads);
        var ids = torch.randint(0, 48, new long[] { 1, 7 });
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(model.forward(ids), loaded.forward(ids)));
        // Without grouping the config reads back equal to one that never named num_key_value_heads.
        using var plain = new LlamaForCausalLM(TestSupport.TinyLlama());
        HfCheckpoint.Save(dir, plain);
        Assert.Equal(TestSupport.TinyLlama(), LlamaConfig.FromJson(File.ReadAllText(Path.Combine(dir, "config.json"))));
    }

    [Fact]
    public void A_config_without_grouped_query_attention_serializes_as_before_so_cache_keys_do_not_change()
    {
        // Base-model caches are keyed by the serialized profile, LlamaConfig included.
        string json = System.Text.Json.JsonSerializer.Serialize(TestSupport.TinyLlama());
        Assert.DoesNotContain("key_value", json);
        Assert.Contains("\"num_key_value_heads\":2", System.Text.Json.JsonSerializer.Serialize(TestSupport.TinyLlama() with { num_key_value_heads = 2 }));
    }

    [Theory]
    [InlineData("{\"num_attention_heads\":4,\"num_key_value_heads\":3}", "field 'num_key_value_heads'", "divide num_attention_heads 4")]
    [InlineData("{\"num_attention_heads\":4,\"num_key_value_heads\":0}", "field 'num_key_value_heads'", "must be positive")]
    [InlineData("{\"hidden_size\":\"64\"}", "field 'hidden_size'", "must be a number")]
    [InlineData("{\"hidden_size\":63}", "field 'num_attention_heads'", "not divisible")]
    [InlineData("{\"tie_word_embeddings\":1}", "field 'tie_word_embeddings'", "true or false")]
    [InlineData("{\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}}", "field 'rope_scaling'", "not supported")]
    [InlineData("{\"head_dim\":32}", "field 'head_dim'", "only hidden_size / num_attention_heads = 16")]
    [InlineData("{\"model_type\":\"gpt2\"}", "field 'model_type'", "only llama")]
    [InlineData("{\"attention_bias\":true}", "field 'attention_bias'", "not supported")]
    [InlineData("{\"hidden_size\":64,\"hidden_size\":32}", "not valid JSON", "")]
    public void A_bad_model_config_names_the_file_and_the_field(string json, string field, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => LlamaConfig.FromJson(json, "/models/x/config.json"));
        Assert.Contains("/models/x/config.json", e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Model_weights_that_do_not_fit_the_config_name_both_files()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama() with { num_key_value_heads = 2 });
        string dir = TestSupport.TempDir("misfit-model");
        HfCheckpoint.Save(dir, model);
        File.WriteAllText(Path.Combine(dir, "config.json"), TestSupport.TinyLlama().ToJson());   // claims 4 key/value heads
        var e = Assert.Throws<InvalidDataException>(() => HfCheckpoint.LoadCausalLM(dir));
        Assert.Contains(Path.Combine(dir, "model.safetensors"), e.Message);
        Assert.Contains("k_proj.weight: checkpoint [16, 32], model [32, 32]", e.Message);
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
