using System.Text.Json;
using Xunit.Abstractions;
using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Tests.Parity;

/// <summary>
/// Safetensors files and PEFT adapters against an independent reader and writer written from the safetensors spec
/// (tests/python/safetensors_io.py, numpy + torch 1.13) and PEFT's layout.
/// </summary>
[Collection(PyTorchParityCollection.Name)]
public class CheckpointParityTests(PyTorchReference py, ITestOutputHelper log)
{
    private static readonly Dictionary<ScalarType, string> TorchNames = new()
    {
        [ScalarType.Float64] = "float64", [ScalarType.Float32] = "float32", [ScalarType.BFloat16] = "bfloat16", [ScalarType.Float16] = "float16",
        [ScalarType.Int64] = "int64", [ScalarType.Int32] = "int32", [ScalarType.Int16] = "int16", [ScalarType.Int8] = "int8",
        [ScalarType.Byte] = "uint8", [ScalarType.Bool] = "bool",
    };

    /// <summary>Each element's bit pattern, read through TorchSharp's typed accessors (not through TensorBytes, which
    /// Safetensors.Save uses): bfloat16 as the top half of its exact float32 value.</summary>
    private static ulong[] Bits(Tensor t)
    {
        var flat = t.detach().contiguous().reshape(-1);
        return t.dtype switch
        {
            ScalarType.Float64 => flat.data<double>().ToArray().Select(BitConverter.DoubleToUInt64Bits).ToArray(),
            ScalarType.Float32 => flat.data<float>().ToArray().Select(v => (ulong)BitConverter.SingleToUInt32Bits(v)).ToArray(),
            ScalarType.BFloat16 => flat.to(ScalarType.Float32).data<float>().ToArray().Select(v => (ulong)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray(),
            ScalarType.Float16 => flat.data<Half>().ToArray().Select(v => (ulong)BitConverter.HalfToUInt16Bits(v)).ToArray(),
            ScalarType.Int64 => flat.data<long>().ToArray().Select(v => (ulong)v).ToArray(),
            ScalarType.Int32 => flat.data<int>().ToArray().Select(v => (ulong)(uint)v).ToArray(),
            ScalarType.Int16 => flat.data<short>().ToArray().Select(v => (ulong)(ushort)v).ToArray(),
            ScalarType.Int8 => flat.data<sbyte>().ToArray().Select(v => (ulong)(byte)v).ToArray(),
            ScalarType.Byte => flat.data<byte>().ToArray().Select(v => (ulong)v).ToArray(),
            ScalarType.Bool => flat.data<bool>().ToArray().Select(v => v ? 1UL : 0UL).ToArray(),
            _ => throw new ArgumentException($"no bits for {t.dtype}"),
        };
    }

    private static void SameTensor(string name, Tensor actual, JsonElement described)
    {
        Assert.Equal(described.GetProperty("dtype").GetString(), TorchNames[actual.dtype]);
        Assert.Equal(described.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(), actual.shape);
        var expected = described.GetProperty("bits").EnumerateArray().Select(b => b.GetUInt64()).ToArray();
        var bits = Bits(actual);
        Assert.True(expected.SequenceEqual(bits),
            $"{name}: LoraLab [{string.Join(", ", bits.Take(12).Select(b => $"0x{b:X}"))}], the spec reader [{string.Join(", ", expected.Take(12).Select(b => $"0x{b:X}"))}]");
    }

    private static Dictionary<string, Tensor> EveryDtype()
    {
        double[] specials = { 0.0, -0.0, 1.0, -2.5, 1e-3, 65504.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, Math.PI, 3e-39, -1e-7 };
        torch.manual_seed(501);
        var f64 = torch.cat(new[] { torch.tensor(specials.Concat(new[] { double.Epsilon, double.MaxValue }).ToArray()), torch.randn(10, ScalarType.Float64) }).reshape(2, 3, 4);
        var floats = torch.cat(new[] { torch.tensor(specials), torch.randn(4, ScalarType.Float64) });
        return new Dictionary<string, Tensor>
        {
            ["f64"] = f64,
            ["f32"] = floats.to(ScalarType.Float32).reshape(4, 4),
            ["bf16"] = floats.to(ScalarType.BFloat16).reshape(16),
            ["f16"] = floats.to(ScalarType.Float16).reshape(2, 8),
            ["i64"] = torch.tensor(new[] { 0L, -1L, long.MaxValue, long.MinValue, 1L << 40, 12345L }, new long[] { 3, 2 }),
            ["i32"] = torch.tensor(new[] { 0, -1, int.MaxValue, int.MinValue, 7 }),
            ["i16"] = torch.tensor(new[] { 0L, -1L, short.MaxValue, short.MinValue }, new long[] { 2, 2 }).to(ScalarType.Int16),
            ["i8"] = torch.tensor(new sbyte[] { 0, -1, 127, -128, 5 }),
            ["u8"] = torch.tensor(new byte[] { 0, 1, 128, 255 }, new long[] { 1, 4 }),
            ["bool"] = torch.tensor(new[] { true, false, false, true, true }),
            ["scalar"] = torch.tensor(2.5f),
            ["empty"] = torch.zeros(new long[] { 0, 3 }),
        };
    }

    [PyTorchFact]
    public void Safetensors_Save_of_every_dtype_reads_back_in_the_spec_reader_with_identical_values_and_the_spec_layout()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = EveryDtype();
        string path = Path.Combine(TestSupport.TempDir("safetensors-parity"), "every-dtype.safetensors");
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" });

        using var answer = py.Call("safetensors_read", args: new { path });
        var json = answer.json;
        Assert.Empty(json.GetProperty("problems").EnumerateArray());      // alignment, space padding, offsets tiling the data
        long n = json.GetProperty("header_length").GetInt64();
        Assert.Equal(0, (8 + n) % 8);
        Assert.Equal(new FileInfo(path).Length, json.GetProperty("file_length").GetInt64());
        var header = json.GetProperty("header");
        Assert.Equal("ünïcode ✓", header.GetProperty("__metadata__").GetProperty("note").GetString());
        // The data in sorted name order, each tensor's bytes right after the previous one's.
        long offset = 0;
        foreach (var name in tensors.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            var entry = header.GetProperty(name);
            Assert.Equal(Safetensors.DtypeName(tensors[name].dtype), entry.GetProperty("dtype").GetString());
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
            long size = tensors[name].numel() * TensorBytes.ElementSize(tensors[name].dtype);
            Assert.Equal(new[] { offset, offset + size }, offsets);
            offset += size;
            SameTensor(name, tensors[name], json.GetProperty("tensors").GetProperty(name));
        }
        Assert.Equal(new FileInfo(path).Length, 8 + n + offset);
        log.WriteLine($"{tensors.Count} tensors of {TorchNames.Count} dtypes: header {n} bytes, data {offset} bytes, all bits equal");
    }

    [PyTorchFact]
    public void A_file_laid_out_by_hand_in_Python_per_the_spec_loads_identically()
    {
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(TestSupport.TempDir("safetensors-parity"), "python-written.safetensors");
        using var answer = py.Call("safetensors_write", args: new { path });
        var (tensors, metadata) = Safetensors.LoadWithMetadata(path);
        try
        {
            var described = answer.json.GetProperty("tensors");
            Assert.Equal(described.EnumerateObject().Select(p => p.Name).Order(), tensors.Keys.Order());
            Assert.Equal(TorchNames.Count, tensors.Values.Select(t => t.dtype).Distinct().Count());
            foreach (var (name, t) in tensors) SameTensor(name, t, described.GetProperty(name));
            Assert.Equal("parity_reference.py", metadata["written_by"]);
            log.WriteLine($"{tensors.Count} tensors written by Python (unsorted data order, a scalar, an empty tensor) load bit for bit");
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>
    /// PeftAdapter.Save against PEFT's layout: adapter_model.safetensors keys base_model.model.&lt;module&gt;.lora_A.weight
    /// [r, in] and .lora_B.weight [out, r], adapter_config.json with PEFT's LoraConfig fields; a PyTorch forward that
    /// reads only those two files and the base checkpoint (W + s·B·A with s from the config, rsLoRA here) reproduces the
    /// adapted model's logits to 1e-9 relative, with the RoPE tables given as in LlamaParityTests (which says why).
    /// </summary>
    [PyTorchFact]
    public void PeftAdapter_Save_writes_PEFT_keys_shapes_and_config_and_its_factors_reproduce_the_adapted_logits()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(502);
        var modelConfig = TestSupport.TinyLlama(init: 0.2) with { num_key_value_heads = 2 };
        using var model = new LlamaForCausalLM(modelConfig, ScalarType.Float64);
        string baseDir = TestSupport.TempDir("peft-parity-base"), adapterDir = TestSupport.TempDir("peft-parity-adapter");
        HfCheckpoint.Save(baseDir, model);
        var ids = torch.randint(0, modelConfig.vocab_size, new long[] { 2, 10 });
        var baseLogits = model.forward(ids).detach();
        var lora = new LoraConfig(r: 4, lora_alpha: 8, target_modules: "q_proj,k_proj,v_proj,down_proj", use_rslora: true);
        var adapted = LoraAdapters.Apply(model, lora);
        using (torch.no_grad())
            foreach (var (_, _, p) in LoraAdapters.Factors(model)) p.normal_(0, 0.3);          // a trained-looking adapter: B ≠ 0
        PeftAdapter.Save(adapterDir, model, lora);
        var logits = model.forward(ids).detach();
        Assert.True(TestSupport.MaxAbsDiff(logits, baseLogits) > 1e-2, "the adapter hardly changes the logits: the comparison would prove little");

        var (cos, sin) = Rotary.Tables(ids.size(1), modelConfig.head_dim, modelConfig.rope_theta, ScalarType.Float64, torch.CPU);
        using var answer = py.Call("peft", new Dictionary<string, Tensor> { ["input_ids"] = ids, ["cos"] = cos, ["sin"] = sin },
                                   new { @base = baseDir, adapter = adapterDir, rope = "given" });
        var json = answer.json;
        var problems = json.GetProperty("problems").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.True(problems.Count == 0, "PEFT layout problems:\n" + string.Join("\n", problems));
        Assert.Equal(adapted.Order(StringComparer.Ordinal), json.GetProperty("adapted").EnumerateArray().Select(a => a.GetString()!).Order(StringComparer.Ordinal));
        Assert.Equal(LoraAdapters.Layers(model).First().layer.scaling, json.GetProperty("scaling").GetDouble());
        var written = json.GetProperty("config");
        Assert.Equal(new[] { "down_proj", "k_proj", "q_proj", "v_proj" }, written.GetProperty("target_modules").EnumerateArray().Select(t => t.GetString()));
        Assert.True(written.GetProperty("use_rslora").GetBoolean());
        Check.Close(log, "adapted logits", logits, answer["logits"], 1e-9);
    }
}
