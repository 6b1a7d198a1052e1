using LoraLab.Kernel;
using LoraLab.Kernel.Protocol;

// loralab-kernel: the Jupyter kernel "C# (LoraLab)" (docs/kernel.md).
const string Usage = """
    usage: loralab-kernel -f CONNECTION_FILE       run the kernel (what Jupyter front ends start)
           loralab-kernel install [--prefix DIR]   register the kernelspec loralab-csharp (default: for this user)
           loralab-kernel uninstall [--prefix DIR] remove it
    exit codes: 0 ok, 1 failed (a connection file that cannot be used, a kernelspec folder that cannot be written),
                2 bad arguments (anything else on the command line is refused, by name)
    """;

if (args is ["-h"] or ["--help"] or ["help"])
{
    Console.WriteLine(Usage);
    return 0;
}
if (args is [])
{
    Console.Error.WriteLine("loralab-kernel: name a command (Jupyter starts the kernel with -f CONNECTION_FILE)");
    Console.Error.WriteLine(Usage);
    return 2;
}

try
{
    switch (args)
    {
        case ["-f", var connectionFile]:
        {
            var server = new KernelServer(ConnectionInfo.Load(connectionFile), Environment.CurrentDirectory, Console.Error);
            return server.Run();
        }
        case ["install", .. var rest]:
        {
            var prefix = Prefix("install", rest);
            Console.WriteLine($"installed kernelspec {KernelSpecInstaller.Name} (\"{KernelSpecInstaller.DisplayName}\") in {KernelSpecInstaller.Install(prefix)}");
            return 0;
        }
        case ["uninstall", .. var rest]:
        {
            var prefix = Prefix("uninstall", rest);
            var removed = KernelSpecInstaller.Uninstall(prefix);
            Console.WriteLine(removed is null
                ? $"kernelspec {KernelSpecInstaller.Name} is not installed in {KernelSpecInstaller.KernelsDirectory(prefix)}"
                : $"removed kernelspec {KernelSpecInstaller.Name} from {removed}");
            return 0;
        }
        case ["-f"]:
            throw new ArgumentException("-f needs the connection file Jupyter writes");
        case ["-f", _, var extra, ..]:
            throw new ArgumentException($"unexpected argument '{extra}' after -f CONNECTION_FILE");
        default:
            throw new ArgumentException(args[0].StartsWith('-') ? $"unknown option '{args[0]}'" : $"unknown command '{args[0]}'");
    }
}
catch (ArgumentException error)
{
    Console.Error.WriteLine($"loralab-kernel: {error.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
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
catch (Exception error) when (error is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"loralab-kernel {args[0]}: {error.Message}");
    return 1;
}

// install|uninstall [--prefix DIR | --prefix=DIR]: the prefix, or null for the user's kernels folder. Anything else is
// refused by name (an ArgumentException).
static string? Prefix(string command, string[] rest)
{
    string? prefix = null;
    for (int i = 0; i < rest.Length; i++)
    {
        string? value = rest[i] == "--prefix" ? (i + 1 < rest.Length && !rest[i + 1].StartsWith('-') ? rest[++i] : throw new ArgumentException("--prefix needs a folder"))
            : rest[i].StartsWith("--prefix=", StringComparison.Ordinal) ? rest[i]["--prefix=".Length..]
            : throw new ArgumentException(rest[i].StartsWith('-') ? $"{command}: unknown option '{rest[i]}'" : $"{command}: unexpected argument '{rest[i]}'");
        if (value.Length == 0) throw new ArgumentException("--prefix needs a folder (got an empty one)");
        if (prefix is not null) throw new ArgumentException($"--prefix is given twice ('{prefix}' and '{value}')");
        if (File.Exists(value)) throw new ArgumentException($"--prefix {value} is a file, not a folder");
        prefix = value;
    }
    return prefix;
}
