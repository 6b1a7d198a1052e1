using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Cli;

/// <summary>
/// `lab torch [--require-cuda]`: loads TorchSharp's native library (LORALAB_LIBTORCHSHARP, else the one beside
/// TorchSharp.dll), says which file and which devices, and checks that a matrix product on each device agrees with the
/// CPU's. The GPU script (tests/gpu/run-on-gpu.sh) uses it to decide whether TorchSharp's prebuilt library works with the
/// machine's PyTorch or a build from TorchSharp's sources is needed.
/// </summary>
public static class TorchCommand
{
    public const string Usage = """
        usage: lab torch [--require-cuda]
        Loads TorchSharp's native library (LORALAB_LIBTORCHSHARP names one built against another libtorch, e.g. a Python
        install of PyTorch with CUDA), prints where it came from and the devices it sees, and checks a matrix product on
        each device against the CPU's.
          --require-cuda   fail (exit 3) when the library loads but sees no CUDA device
        exit codes: 0 ok, 1 the library does not load or a device computes wrongly, 2 bad arguments, 3 no CUDA device
        """;

    /// <summary>The library loaded and works, but without the CUDA device that --require-cuda asked for.</summary>
    public const int NoCuda = 3;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        bool requireCuda;
        try
        {
            var options = CommandArguments.Parse(args, flags: ["require-cuda"], valued: []);
            if (options.Help)
            {
                output.WriteLine(Usage);
                return CommandExitCodes.Ok;
            }
            if (options.Positional.Count > 0) throw new ArgumentException($"unknown argument '{options.Positional[0]}' (torch takes only --require-cuda)");
            requireCuda = options.Flag("require-cuda");
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"lab torch: {e.Message}");
            error.WriteLine(Usage);
            return CommandExitCodes.BadArguments;
        }
        // LoraLab loads the native library in its module initializer, which runs when Check first touches LoraLab: a
        // library that cannot load surfaces here as a TypeInitializationException around the loader's reason.
        try { return Check(requireCuda, output, error); }
        catch (TorchRuntimeException e) { return Fail(error, e.Message); }
        catch (TypeInitializationException e) when (e.InnerException is TorchRuntimeException cause) { return Fail(error, cause.Message); }
        catch (ExternalException e) { return Fail(error, $"libtorch failed: {e.Message}"); }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Check(bool requireCuda, TextWriter output, TextWriter error)
    {
        output.WriteLine($"libLibTorchSharp: {TorchRuntime.EnsureLoaded()}");
        bool cuda = torch.cuda.is_available();
        output.WriteLine($"intra-op threads: {torch.get_num_threads()}; CUDA: {(cuda ? $"{torch.cuda.device_count()} device(s)" : "not available")}");
        double error64 = MatmulError(torch.CPU);
        output.WriteLine($"cpu: a 64 x 64 float32 matrix product, largest difference from float64 (relative): {error64:G2}");
        if (!(error64 < 1e-4)) return Fail(error, "the CPU's matrix product is wrong");
        if (cuda)
        {
            double errorCuda = MatmulError(torch.CUDA);
            output.WriteLine($"cuda: the same product on the GPU, largest difference from float64 (relative): {errorCuda:G2}");
            if (!(errorCuda < 1e-2)) return Fail(error, "the CUDA device's matrix product is wrong");
        }
        if (requireCuda && !cuda)
        {
            error.WriteLine("lab torch: the library loads, but sees no CUDA device (--require-cuda)");
            return NoCuda;
        }
        return CommandExitCodes.Ok;
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"lab torch: {message}");
        return CommandExitCodes.Failed;
    }

    // A float32 product on the device against the float64 product on the CPU (TF32 on a GPU allows about 1e-3).
    private static double MatmulError(Device device)
    {
        using var scope = torch.NewDisposeScope();
        var generator = new Generator(0);
        var a = torch.randn(new long[] { 64, 64 }, ScalarType.Float64, generator: generator);
        var b = torch.randn(new long[] { 64, 64 }, ScalarType.Float64, generator: generator);
        var exact = a.mm(b);
        var product = a.to(ScalarType.Float32).to(device).mm(b.to(ScalarType.Float32).to(device)).cpu().to(ScalarType.Float64);
        return (product - exact).abs().max().ToDouble() / exact.abs().max().ToDouble();
    }
}
