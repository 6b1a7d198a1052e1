using LoraLab.Models;
using LoraLab.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Checkpoints;

/// <summary>
/// Hugging Face model folders: config.json (LlamaConfig, model_type "llama") + model.safetensors,
/// loadable by transformers' LlamaForCausalLM.from_pretrained. LoRA layers must be merged (or the
/// model exported before LoRA was applied): a plain Llama checkpoint has no lora_A / lora_B keys.
/// </summary>
public static class HfCheckpoint
{
    public static void Save(string directory, LlamaForCausalLM model) =>
        Save(directory, model, model.config, "LlamaForCausalLM");

    public static void Save(string directory, LlamaForSequenceClassification model) =>
        Save(directory, model, model.config, "LlamaForSequenceClassification");

    private static void Save(string directory, nn.Module model, LlamaConfig config, string architecture)
    {
        Directory.CreateDirectory(directory);
        var state = model.state_dict();
        if (state.Keys.Any(k => k.Contains(".lora_A.") || k.Contains(".lora_B.")))
            throw new InvalidOperationException("the model has LoRA layers: merge them into a copy of the base, or save the adapter with PeftAdapter.Save");
        var dtype = state.Values.First().dtype;
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJson(dtype, architecture));
        Safetensors.Save(Path.Combine(directory, "model.safetensors"), state, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A causal LM built from a folder's config.json and filled from its model.safetensors (strict).
    /// A config or weights that do not fit give an InvalidDataException naming the file.</summary>
    public static LlamaForCausalLM LoadCausalLM(string directory, Device? device = null)
    {
        string configPath = Path.Combine(directory, "config.json"), weightsPath = Path.Combine(directory, "model.safetensors");
        var config = LlamaConfig.FromJson(File.ReadAllText(configPath), configPath);
        var model = new LlamaForCausalLM(config, device: device);
        Dictionary<string, Tensor> tensors;
        try { tensors = Safetensors.Load(weightsPath); }
        catch { model.Dispose(); throw; }
        try { model.load_state_dict_checked(tensors); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
        {
            model.Dispose();
            throw new InvalidDataException($"{weightsPath} does not fit {configPath}: {e.Message}", e);
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        return model;
    }
}
