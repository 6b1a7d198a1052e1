using LoraLab.Kernel;
using LoraLab.Kernel.Protocol;

// loralab-kernel: the Jupyter kernel "C# (LoraLab)" (docs/kernel.md).
const string Usage = """
    usage: loralab-kernel -f CONNECTION_FILE       run the kernel (what Jupyter front ends start)
           loralab-kernel install [--prefix DIR]   register the kernelspec loralab-csharp (default: for this user)
           loralab-kernel uninstall [--prefix DIR] remove it
    """;

try
{
    switch (args)
    {
        case ["-f", var connectionFile]:
        {
            var server = new KernelServer(ConnectionInfo.Load(connectionFile), Environment.CurrentDirectory, Console.Error);
            return server.Run();
        }
        case ["install", .. var rest] when Prefix(rest, out var prefix):
            Console.WriteLine($"installed kernelspec {KernelSpecInstaller.Name} (\"{KernelSpecInstaller.DisplayName}\") in {KernelSpecInstaller.Install(prefix)}");
            return 0;
        case ["uninstall", .. var rest] when Prefix(rest, out var prefix):
            var removed = KernelSpecInstaller.Uninstall(prefix);
            Console.WriteLine(removed is null
                ? $"kernelspec {KernelSpecInstaller.Name} is not installed in {KernelSpecInstaller.KernelsDirectory(prefix)}"
                : $"removed kernelspec {KernelSpecInstaller.Name} from {removed}");
            return 0;
        default:
            Console.Error.WriteLine(Usage);
            return 2;
    }
}
catch (KernelStartupException error)
{
    Console.Error.WriteLine($"loralab-kernel: {error.Message}");
    return 1;
}
catch (DllNotFoundException error)
{
    Console.Error.WriteLine($"loralab-kernel: {error.Message}");
    return 1;
}

static bool Prefix(string[] rest, out string? prefix)
{
    prefix = rest switch { [] => null, ["--prefix", var dir] => dir, _ => "" };
    return prefix != "";
}
