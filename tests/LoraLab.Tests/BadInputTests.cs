using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using LoraLab.Data;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Optim;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LoraLab.Tests;

/// <summary>Bad input on TorchSharp gives an exception with a message, and the process goes on.</summary>
public class BadInputTests
{
    [Fact]
    public void A_disposed_tensor_cannot_be_used_and_disposing_twice_is_harmless()
    {
        var t = torch.ones(2);
        t.Dispose();
        t.Dispose();
        var e = Assert.Throws<InvalidOperationException>(() => t + 1.0);
        Assert.Contains("invalid", e.Message);
        using var scope = torch.NewDisposeScope();
        Assert.Equal(2.0, torch.ones(2).sum().ToDouble());                    // and the next operation works
    }

    [Fact]
    public void A_tensor_freed_by_its_scope_cannot_be_used()
    {
        Tensor escaped;
        using (torch.NewDisposeScope()) escaped = torch.ones(2);
        Assert.Throws<InvalidOperationException>(() => escaped.sum());
    }

    [Theory]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    public void A_tensor_with_many_dimensions_keeps_its_whole_shape_and_its_errors_are_exceptions(int rank)
    {
        using var scope = torch.NewDisposeScope();
        var sizes = Enumerable.Repeat(1L, rank).ToArray();
        sizes[0] = 2; sizes[^1] = 3;
        var x = torch.ones(sizes);
        Assert.Equal(sizes, x.shape);
        Assert.Equal(6, x.numel());
        Assert.Equal(12.0, (x * 2).sum().ToDouble());
        Assert.Equal(new long[] { 2, 3 }, x.reshape(2, 3).shape);
        var e = Assert.Throws<ExternalException>(() => x.view(4, 2));
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void Asking_for_cuda_on_a_machine_without_it_is_a_clear_error()
    {
        if (torch.cuda.is_available()) return;   // this machine has a GPU: nothing to check here
        using var t = torch.ones(2);
        var e = Assert.ThrowsAny<Exception>(() => t.to(torch.CUDA));
        Assert.Contains("CUDA", e.Message);
        Assert.ThrowsAny<Exception>(() => new LlamaForCausalLM(TestSupport.TinyLlama(), device: torch.CUDA));
    }

    [Fact]
    public void A_trillion_element_allocation_is_refused_with_libtorchs_message()
    {
        var e = Assert.Throws<ExternalException>(() => torch.empty(1_000_000_000_000L));
        Assert.Contains("allocate", e.Message);
        using var ok = torch.empty(10);                                        // the process goes on
    }

    [Fact]
    public void Shape_errors_in_the_operations_LoraLab_uses_are_exceptions_that_say_what_did_not_fit()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Contains("2x3 and 4x5", Assert.Throws<ExternalException>(() => torch.randn(2, 3).mm(torch.randn(4, 5))).Message);
        Assert.Contains("2x3 and 5x4", Assert.Throws<ExternalException>(() => F.linear(torch.randn(2, 3), torch.randn(4, 5))).Message);
        Assert.Contains("size of tensor", Assert.Throws<ExternalException>(() => torch.randn(2, 3) + torch.randn(4)).Message);
        Assert.Contains("out of bounds", Assert.Throws<ExternalException>(() => F.cross_entropy(torch.randn(2, 3), torch.tensor(new long[] { 0, 7 }))).Message);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        Assert.ThrowsAny<Exception>(() => model.forward(torch.randn(2, 5)));    // float ids: the embedding says so
        Assert.Throws<ArgumentException>(() => model.forward(torch.zeros(new long[] { 1, 64 }, ScalarType.Int64)));   // past max_position_embeddings
    }

    [Fact]
    public void The_library_never_calls_Tensor_matmul_whose_errors_TorchSharp_does_not_catch()
    {
        // TorchSharp 0.107's native THSTensor_matmul has no try/catch: a shape mismatch there terminates the process.
        // mm, mv, bmm and F.linear report it as an exception, so the library uses those.
        string lib = Path.Combine(DataRoot.RepositoryRoot(), "lib", "LoraLab");
        var offenders = Directory.EnumerateFiles(lib, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(x => Regex.IsMatch(x.line, @"\.matmul\(|torch\.matmul\("))
            .Select(x => $"{Path.GetRelativePath(lib, x.f)}:{x.i + 1}").ToList();
        Assert.True(offenders.Count == 0, "Tensor.matmul in " + string.Join(", ", offenders));
    }

    [Fact]
    public void Two_threads_training_and_evaluating_one_model_at_once_finish_without_crashing_the_process()
    {
        torch.manual_seed(8);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        LoraAdapters.Apply(model, new LoraConfig(r: 4, lora_alpha: 8));
        using var opt = new AdamW(LoraPlus.ParamGroups(model, lr: 1e-3));
        var ids = torch.randint(0, 48, new long[] { 2, 16 }).DetachFromDisposeScope();
        var losses = new double[2];
        var training = new Thread(() =>
        {
            for (int i = 0; i < 40; i++)
            {
                using var scope = torch.NewDisposeScope();
                opt.zero_grad();
                var loss = model.Loss(ids);
                loss.backward();
                opt.step();
                losses[0] = loss.ToDouble();
            }
        });
        var evaluating = new Thread(() =>
        {
            for (int i = 0; i < 40; i++)
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                losses[1] = model.Loss(ids).ToDouble();
            }
        });
        training.Start(); evaluating.Start();
        training.Join(); evaluating.Join();
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"loss {l}"));
        ids.Dispose();
    }

    [Fact]
    public void A_native_library_that_cannot_load_is_explained_with_the_loaders_reason_and_what_to_do()
    {
        string glibcxx = TorchRuntime.Explain("/x/libLibTorchSharp.so",
            "/x/libLibTorchSharp.so: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /x/libLibTorchSharp.so)");
        Assert.Contains("GLIBCXX_3.4.32", glibcxx);
        Assert.Contains("libstdc++", glibcxx);
        Assert.Contains("./lab build", glibcxx);
        string missing = TorchRuntime.Explain("/x/libLibTorchSharp.so", "libtorch_cpu.so: cannot open shared object file: No such file or directory");
        Assert.Contains("libtorch_cpu.so", missing);
        Assert.Contains("missing", missing);
        Assert.EndsWith(".so", TorchRuntime.LoadedFrom);                   // and here it did load
    }
}
