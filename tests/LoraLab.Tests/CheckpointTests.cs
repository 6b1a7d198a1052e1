using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Models;
using LoraLab.Torch;

namespace LoraLab.Tests;

public class CheckpointTests
{
    public static TheoryData<ScalarType> AllDtypes => new()
    {
        ScalarType.Float32, ScalarType.Float64, ScalarType.BFloat16, ScalarType.Float16,
        ScalarType.Int64, ScalarType.Int32, ScalarType.Bool, ScalarType.Byte,
    };

    [Theory, MemberData(nameof(AllDtypes))]
    public void Safetensors_round_trip_preserves_every_dtype_shape_and_value(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var source = (torch.randn(3, 5) * 50).to(dtype);
        var scalar = torch.full(Array.Empty<long>(), 1, dtype);
        string path = Path.Combine(TestSupport.TempDir("st"), "t.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["a.weight"] = source, ["b"] = scalar }, new Dictionary<string, string> { ["note"] = "x" });
        var (loaded, meta) = Safetensors.LoadWithMetadata(path);
        Assert.Equal("x", meta["note"]);
        Assert.Equal(dtype, loaded["a.weight"].dtype);
        Assert.Equal(new long[] { 3, 5 }, loaded["a.weight"].shape);
        Assert.Empty(loaded["b"].shape);
        Assert.Equal(source.ToBytes(), loaded["a.weight"].ToBytes());
        foreach (var t in loaded.Values) t.Dispose();
        // The layout is the spec's: u64 header length, JSON with data_offsets, 8-byte aligned data.
        byte[] file = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0UL, n % 8);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(file, 8, (int)n))!;
        Assert.Equal(Safetensors.DtypeName(dtype), header["a.weight"]!["dtype"]!.GetValue<string>());
    }

    private static string WriteRaw(string header, int dataBytes, long? claimedLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(claimedLength ?? json.Length));
        json.CopyTo(bytes, 8);
        string path = Path.Combine(TestSupport.TempDir("bad"), "bad.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 100000L, "header length")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, null, "past the")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, null, "starts at 8")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, null, "unknown dtype 'Q4'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, null, "needs 12 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, null, "overlap")]
    [InlineData("not json at all", 0, null, "not a JSON object")]
    public void Corrupt_safetensors_files_are_rejected_with_a_clear_message(string header, int dataBytes, long? claimedLength, string expected)
    {
        string path = WriteRaw(header, dataBytes, claimedLength);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_truncated_safetensors_file_is_rejected()
    {
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(TestSupport.TempDir("trunc"), "t.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.randn(16, 16) });
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);
        Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        File.WriteAllBytes(path, bytes[..5]);
        Assert.Contains("8-byte header length", Assert.Throws<InvalidDataException>(() => Safetensors.Load(path)).Message);
    }

    [Fact]
    public void Adapter_files_use_PEFT_key_names_and_config_fields_and_load_back_reproduces_outputs()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var config = TestSupport.TinyLlama();
        using var model = new LlamaForCausalLM(config);
        using var fresh = new LlamaForCausalLM(config);
        fresh.load_state_dict(model.state_dict());
        var lora = new LoraConfig(r: 4, lora_alpha: 8, target_modules: "q_proj,v_proj", base_model_name_or_path: "tiny-llama");
        LoraAdapters.Apply(model, lora);
        foreach (var (_, _, p) in LoraAdapters.Factors(model)) using (torch.no_grad()) p.normal_(0, 0.3);
        var ids = torch.randint(0, 48, new long[] { 2, 8 });
        var expected = model.forward(ids).detach();

        string dir = TestSupport.TempDir("adapter");
        PeftAdapter.Save(dir, model, lora);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!;
        Assert.Equal("LORA", json["peft_type"]!.GetValue<string>());
        Assert.Equal(4, json["r"]!.GetValue<int>());
        Assert.Equal(8.0, json["lora_alpha"]!.GetValue<double>());
        Assert.Equal("none", json["bias"]!.GetValue<string>());
        Assert.False(json["fan_in_fan_out"]!.GetValue<bool>());
        Assert.False(json["use_rslora"]!.GetValue<bool>());
        Assert.True(json["init_lora_weights"]!.GetValue<bool>());
        Assert.Equal("CAUSAL_LM", json["task_type"]!.GetValue<string>());
        Assert.Equal("tiny-llama", json["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal(new[] { "q_proj", "v_proj" }, json["target_modules"]!.AsArray().Select(x => x!.GetValue<string>()));
        var keys = Safetensors.Load(Path.Combine(dir, "adapter_model.safetensors"));
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", keys.Keys);
        Assert.Contains("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight", keys.Keys);
        Assert.Equal(8, keys.Count);
        Assert.Equal(new long[] { 4, 32 }, keys["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].shape);
        foreach (var t in keys.Values) t.Dispose();

        PeftAdapter.Load(dir, fresh);
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(expected, fresh.forward(ids)));
    }

    [Fact]
    public void Load_state_dict_names_missing_unexpected_and_mismatched_keys()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var state = new Dictionary<string, Tensor>(model.state_dict());
        state.Remove("model.norm.weight");
        state["extra.weight"] = torch.zeros(2);
        var e = Assert.Throws<ArgumentException>(() => model.load_state_dict(state));
        Assert.Contains("missing keys: model.norm.weight", e.Message);
        Assert.Contains("unexpected keys: extra.weight", e.Message);
        var (missing, unexpected) = model.load_state_dict(state, strict: false);
        Assert.Equal(new[] { "model.norm.weight" }, missing);
        state = new Dictionary<string, Tensor>(model.state_dict()) { ["lm_head.weight"] = torch.zeros(3, 3) };
        Assert.Contains("lm_head.weight: checkpoint [3, 3], model [48, 32]", Assert.Throws<ArgumentException>(() => model.load_state_dict(state)).Message);
    }
}
