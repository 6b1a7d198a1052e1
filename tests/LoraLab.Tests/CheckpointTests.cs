using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Checkpoints;
using LoraLab.Lora;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using LoraLab.Modules;

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
        Assert.Equal(TensorBytes.Of(source), TensorBytes.Of(loaded["a.weight"]));
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
        var e = Assert.Throws<ArgumentException>(() => model.load_state_dict_checked(state));
        Assert.Contains("missing keys: model.norm.weight", e.Message);
        Assert.Contains("unexpected keys: extra.weight", e.Message);
        var (missing, unexpected) = model.load_state_dict_checked(state, strict: false);
        Assert.Equal(new[] { "model.norm.weight" }, missing);
        state = new Dictionary<string, Tensor>(model.state_dict()) { ["lm_head.weight"] = torch.zeros(3, 3) };
        Assert.Contains("lm_head.weight: checkpoint [3, 3], model [48, 32]", Assert.Throws<ArgumentException>(() => model.load_state_dict_checked(state)).Message);
    }

    // ---- crafted safetensors files: each is rejected naming the file, the tensor and the problem ----

    private static string WriteBytes(byte[] header, byte[] data, ulong? claimedLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        string path = Path.Combine(TestSupport.TempDir("crafted"), "crafted.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static InvalidDataException Rejected(string path)
    {
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        return e;
    }

    [Fact]
    public void A_tensor_with_65_dimensions_loads_with_its_whole_shape()
    {
        // This once aborted the process: reading the shape overflowed a 64-entry buffer.
        var shape = Enumerable.Repeat(1L, 65).ToArray();
        shape[0] = 2;
        string header = "{\"deep\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(",", shape) + "],\"data_offsets\":[0,8]}}";
        var data = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        var loaded = Safetensors.Load(WriteBytes(Encoding.UTF8.GetBytes(header), data));
        using var t = loaded["deep"];
        Assert.Equal(shape, t.shape);
        Assert.Equal(new[] { 1.5f, -2f }, t.reshape(2).data<float>().ToArray());
    }

    [Fact]
    public void A_header_that_is_not_UTF8_is_rejected()
    {
        var header = Encoding.UTF8.GetBytes("{\"w#\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        header[3] = 0xFF;   // '#' becomes a byte that starts no UTF-8 sequence (a lenient reader loads "w\uFFFD")
        var e = Rejected(WriteBytes(header, new byte[4]));
        Assert.Contains("not valid UTF-8", e.Message);
        Assert.Contains("0xFF", e.Message);
    }

    [Fact]
    public void A_header_naming_a_tensor_twice_is_rejected()
    {
        string entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        var e = Rejected(WriteBytes(Encoding.UTF8.GetBytes("{\"w\":" + entry + ",\"w\":" + entry + "}"), new byte[4]));
        Assert.Contains("'w' twice", e.Message);
        e = Rejected(WriteBytes(Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}"), new byte[4]));
        Assert.Contains("'dtype' twice", e.Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "negative number -4")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e30]}}", 4, "not a 64-bit integer")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9223372036854775807]}}", 4, "needs 4 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 4, "end before begin")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "got 3 numbers")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "more bytes than a 64-bit size")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "negative number -1")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4, "shape holds 2.5")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8 bytes, its offsets span 4")]
    [InlineData("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "has no 'dtype'")]
    [InlineData("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string")]
    [InlineData("{\"w\":[1,2]}", 4, "not an object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"__metadata__\":{\"k\":1}}", 4, "metadata 'k' is not a string")]
    [InlineData("null", 0, "not a JSON object")]
    [InlineData("[1, 2]", 0, "not a JSON object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} trailing", 4, "not a JSON object")]
    public void Crafted_header_entries_are_rejected_naming_the_file_and_the_problem(string header, int dataBytes, string expected)
    {
        var e = Rejected(WriteBytes(Encoding.UTF8.GetBytes(header), new byte[dataBytes]));
        Assert.Contains(expected, e.Message);
        if (!expected.Contains("metadata") && !expected.Contains("JSON")) Assert.Contains("tensor 'w'", e.Message);
    }

    [Fact]
    public void A_BOOL_tensor_holding_other_bytes_than_0_and_1_is_rejected()
    {
        var header = Encoding.UTF8.GetBytes("{\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}");
        Assert.Contains("byte 2 at element 1", Rejected(WriteBytes(header, new byte[] { 1, 2, 0 })).Message);
        using var ok = Safetensors.Load(WriteBytes(header, new byte[] { 1, 0, 1 }))["mask"];
        Assert.Equal(2L, ok.sum().ToDouble());
    }

    [Theory]
    [InlineData(ulong.MaxValue, "over the format's limit")]
    [InlineData(1UL << 40, "over the format's limit")]
    [InlineData(99_000_000UL, "does not fit in a file")]
    [InlineData(0UL, "does not fit in a file")]
    public void An_absurd_or_too_long_header_length_is_rejected(ulong claimed, string expected)
    {
        var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        var e = Rejected(WriteBytes(header, new byte[4], claimed));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_zero_element_tensor_round_trips()
    {
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(TestSupport.TempDir("empty"), "e.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["empty"] = torch.zeros(0, 3), ["w"] = torch.ones(2) });
        var loaded = Safetensors.Load(path);
        Assert.Equal(new long[] { 0, 3 }, loaded["empty"].shape);
        Assert.Equal(2.0, loaded["w"].sum().ToDouble());
        foreach (var t in loaded.Values) t.Dispose();
    }

    // ---- adapter_config.json: a missing or mistyped field is an error naming the file and the field ----

    private static string AdapterDir(string configJson)
    {
        string dir = TestSupport.TempDir("adapter-config");
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), configJson);
        return dir;
    }

    [Theory]
    [InlineData("{\"peft_type\":\"LORA\",\"lora_alpha\":16,\"target_modules\":[\"q_proj\"]}", "field 'r' is missing")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":\"8\",\"lora_alpha\":16,\"target_modules\":[\"q_proj\"]}", "field 'r' must be a number, got \"8\"")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8.5,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"]}", "field 'r' must be an integer, got 8.5")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"target_modules\":[\"q_proj\"]}", "field 'lora_alpha' is missing")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[1]}", "field 'target_modules' must hold only strings")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"],\"use_rslora\":\"yes\"}", "field 'use_rslora' must be true or false")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":0,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"]}", "field 'r'")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[]}", "field 'target_modules'")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"],\"use_dora\":true}", "DoRA adapters are not supported")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"],\"rank_pattern\":{\"q_proj\":4}}", "field 'rank_pattern'")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"],\"init_lora_weights\":\"olora\"}", "field 'init_lora_weights' is \"olora\"")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"q_proj\"],\"loralab_init\":{\"scheme\":\"Init_C\"}}", "field 'scheme' is \"Init_C\"")]
    [InlineData("{\"peft_type\":\"IA3\",\"r\":8}", "field 'peft_type' is \"IA3\"")]
    [InlineData("{\"r\":8}", "field 'peft_type' is missing")]
    [InlineData("{\"peft_type\":\"LORA\",\"r\":8,\"r\":4}", "not valid JSON")]
    [InlineData("{\"peft_type\":", "not valid JSON")]
    [InlineData("[]", "not a JSON object")]
    public void A_bad_adapter_config_names_the_file_and_the_field(string json, string expected)
    {
        string dir = AdapterDir(json);
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.ReadConfig(dir));
        Assert.Contains(Path.Combine(dir, "adapter_config.json"), e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_PEFT_written_adapter_config_reads_with_PEFTs_defaults()
    {
        string dir = AdapterDir("{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\",\"v_proj\"],\"task_type\":null," +
                                "\"modules_to_save\":null,\"init_lora_weights\":\"gaussian\",\"rank_pattern\":{},\"alpha_pattern\":{},\"use_dora\":false}");
        var config = PeftAdapter.ReadConfig(dir);
        Assert.Equal((4, 8.0, "q_proj,v_proj", "CAUSAL_LM", ""), (config.r, config.lora_alpha, config.target_modules, config.task_type, config.modules_to_save));
        Assert.Equal(LoraInit.InitA_Gaussian, config.init);
        Assert.Equal(1.0 / 16, config.init_variance);   // PEFT's "gaussian" is std 1/r
    }

    public static TheoryData<LoraInit, double?, object, bool> InitsAsWritten => new()
    {
        // init, init_variance, init_lora_weights written, whether an exact record is added
        { LoraInit.InitA_KaimingUniform, null, true, false },
        { LoraInit.InitA_Gaussian, null, false, true },              // std 1/sqrt(in): PEFT has no such init
        { LoraInit.InitA_Gaussian, 1.0 / 16, "gaussian", false },     // std 1/r with r = 4: PEFT's "gaussian"
        { LoraInit.InitB_KaimingUniform, null, false, true },
        { LoraInit.InitB_Gaussian, 0.01, false, true },
        { LoraInit.PiSSA, null, "pissa", false },
    };

    [Theory, MemberData(nameof(InitsAsWritten))]
    public void Adapter_config_records_each_init_as_PEFT_would_reproduce_it_or_exactly(LoraInit init, double? variance, object peftValue, bool recorded)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var lora = new LoraConfig(r: 4, lora_alpha: 8, target_modules: "q_proj,v_proj", init: init, init_variance: variance);
        LoraAdapters.Apply(model, lora);
        string dir = TestSupport.TempDir("init-record");
        PeftAdapter.Save(dir, model, lora);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!;
        Assert.Equal(peftValue is bool b ? (b ? "true" : "false") : $"\"{peftValue}\"", json["init_lora_weights"]!.ToJsonString());
        var record = json[PeftAdapter.InitRecordKey];
        Assert.Equal(recorded, record is not null);
        if (record is not null)
        {
            Assert.Equal(init.ToString(), record["scheme"]!.GetValue<string>());
            Assert.Equal(init.ZeroesA() ? "lora_A" : "lora_B", record["zero_at_start"]!.GetValue<string>());
        }
        var back = PeftAdapter.ReadConfig(dir);
        Assert.Equal(init, back.init);
        Assert.Equal(variance, back.init_variance);
    }

    [Fact]
    public void Loading_an_adapter_that_does_not_fit_the_model_names_the_files()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new LlamaForCausalLM(TestSupport.TinyLlama());
        var lora = new LoraConfig(r: 4, lora_alpha: 8, target_modules: "q_proj");
        LoraAdapters.Apply(model, lora);
        string dir = TestSupport.TempDir("misfit");
        PeftAdapter.Save(dir, model, lora);
        using var other = new LlamaForCausalLM(TestSupport.TinyLlama() with { num_hidden_layers = 1 });
        var e = Assert.Throws<InvalidDataException>(() => PeftAdapter.Load(dir, other));
        Assert.Contains(Path.Combine(dir, "adapter_model.safetensors"), e.Message);
        Assert.Contains("layers.1", e.Message);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!;
        config["target_modules"] = new JsonArray("nonexistent_proj");
        File.WriteAllText(Path.Combine(dir, "adapter_config.json"), config.ToJsonString());
        using var third = new LlamaForCausalLM(TestSupport.TinyLlama());
        e = Assert.Throws<InvalidDataException>(() => PeftAdapter.Load(dir, third));
        Assert.Contains("adapter_config.json does not fit the model", e.Message);
    }
}
