using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Modules;

/// <summary>What LoraLab adds to every TorchSharp module: freezing, counting, evaluating, and the module tree with its root.</summary>
public static class ModuleExtensions
{
    /// <summary>Sets requires_grad on every parameter (false freezes the module), as PyTorch's Module.requires_grad_.</summary>
    public static T requires_grad_<T>(this T module, bool requires_grad = true) where T : nn.Module
    {
        foreach (var (_, p) in module.named_parameters()) p.requires_grad = requires_grad;
        return module;
    }

    /// <summary>Freezes every parameter (requires_grad = false).</summary>
    public static T freeze<T>(this T module) where T : nn.Module => module.requires_grad_(false);

    /// <summary>The number of parameter elements, all or only the trainable ones.</summary>
    public static long num_parameters(this nn.Module module, bool trainableOnly = false) =>
        module.named_parameters().Where(p => !trainableOnly || p.parameter.requires_grad).Sum(p => p.parameter.numel());

    /// <summary>This module (named "") and every descendant, depth first, as PyTorch's named_modules
    /// (TorchSharp's leaves the root out).</summary>
    public static IEnumerable<(string name, nn.Module module)> named_modules_and_self(this nn.Module module) =>
        new[] { ("", module) }.Concat(module.named_modules());

    /// <summary>The device of the module's first parameter (CPU for a module without parameters).</summary>
    public static Device device(this nn.Module module)
    {
        foreach (var (_, p) in module.named_parameters()) return p.device;
        return torch.CPU;
    }

    /// <summary>
    /// Runs an evaluation in eval mode (no dropout) and without gradients, then puts the module back in the mode it was
    /// in, also when the evaluation throws.
    /// </summary>
    public static T Evaluating<T>(this nn.Module module, Func<T> evaluation)
    {
        bool wasTraining = module.training;
        module.eval();
        try
        {
            using var noGrad = torch.no_grad();
            return evaluation();
        }
        finally { module.train(wasTraining); }
    }
}
