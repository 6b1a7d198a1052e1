using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoraLab.Slurm.Tests;

/// <summary>
/// A real one-node Slurm cluster on localhost, in a temporary folder: its own munge key and munged, a minimal
/// slurm.conf naming this host with its CPUs and memory, slurmctld and slurmd as background daemons on free ports.
/// Dispose cancels every job and stops exactly the three daemons it started (by the PIDs in their PID files).
/// Commands talk to it through SLURM_CONF, which <see cref="Environment"/> sets for child processes.
/// </summary>
public sealed class SlurmCluster : IDisposable
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"loralab-slurm-{Environment.ProcessId}");
    public string ConfigFile => Path.Combine(Folder, "slurm.conf");
    private readonly List<string> _pidFiles = [];

    /// <summary>Why no cluster can run here, or null: checked before anything is started.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "Slurm tests need Linux";
        if (Environment.UserName != "root") return "a private Slurm cluster needs root (slurmd runs jobs as their user): run the tests as root";
        foreach (string tool in new[] { "munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo" })
            if (Which(tool) is null) return $"'{tool}' is missing: apt-get install slurm-wlm munge (./lab test installs them)";
        return null;
    }

    public SlurmCluster()
    {
        if (Unavailable() is { } reason) throw new InvalidOperationException(reason);
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        Directory.CreateDirectory(Path.Combine(Folder, "state"));
        Directory.CreateDirectory(Path.Combine(Folder, "spool"));
        File.WriteAllBytes(Path.Combine(Folder, "munge.key"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(Path.Combine(Folder, "munge.key"), UnixFileMode.UserRead);
        File.WriteAllText(ConfigFile, Config());
        Environment.SetEnvironmentVariable("SLURM_CONF", ConfigFile);

        Start("munged", "--force", $"--socket={Socket}", $"--key-file={Folder}/munge.key", $"--log-file={Folder}/munged.log",
              $"--pid-file={Folder}/munged.pid", $"--seed-file={Folder}/munged.seed");
        _pidFiles.Add($"{Folder}/munged.pid");
        Start("slurmctld", "-f", ConfigFile, "-c");
        _pidFiles.Add($"{Folder}/slurmctld.pid");
        Start("slurmd", "-f", ConfigFile);
        _pidFiles.Add($"{Folder}/slurmd.pid");
        WaitUntilIdle(TimeSpan.FromSeconds(60));
    }

    private string Socket => Path.Combine(Folder, "munge.socket");

    private string Config()
    {
        string host = Run("hostname", "-s").Trim();
        long memoryMb = (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024) * 0.8);
        return $"""
            ClusterName=loralabtest
            SlurmctldHost={host}(127.0.0.1)
            SlurmctldPort={FreePort()}
            SlurmdPort={FreePort()}
            AuthType=auth/munge
            AuthInfo=socket={Socket}
            CredType=cred/munge
            SlurmUser=root
            SlurmdUser=root
            StateSaveLocation={Folder}/state
            SlurmdSpoolDir={Folder}/spool
            SlurmctldPidFile={Folder}/slurmctld.pid
            SlurmdPidFile={Folder}/slurmd.pid
            SlurmctldLogFile={Folder}/slurmctld.log
            SlurmdLogFile={Folder}/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            SchedulerType=sched/backfill
            ReturnToService=2
            MpiDefault=none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            JobCompType=jobcomp/none
            SwitchType=switch/none
            NodeName={host} NodeAddr=127.0.0.1 CPUs={Environment.ProcessorCount} RealMemory={memoryMb} State=UNKNOWN
            PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP

            """;
    }

    private void WaitUntilIdle(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        string state = "";
        while (clock.Elapsed < limit)
        {
            state = TryRun("sinfo", "--noheader", "--format=%T").Trim();
            if (state is "idle" or "mixed" or "allocated") return;
            Thread.Sleep(250);
        }
        throw new TimeoutException($"the test cluster's node did not come up in {limit.TotalSeconds:F0}s (sinfo: '{state}'); logs in {Folder}");
    }

    /// <summary>Waits until Slurm holds no job of this cluster (every task and the merge ended).</summary>
    public void WaitUntilEmpty(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (TryRun("squeue", "--noheader", "--format=%i").Trim() == "") return;
            Thread.Sleep(500);
        }
        throw new TimeoutException($"jobs still queued after {limit.TotalSeconds:F0}s: {TryRun("squeue")}");
    }

    public void Dispose()
    {
        TryRun("scancel", "--full", "--user=root");
        foreach (string pidFile in Enumerable.Reverse(_pidFiles))
        {
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid)) continue;
            try
            {
                using var daemon = Process.GetProcessById(pid);
                daemon.Kill();
                daemon.WaitForExit(10_000);
            }
            catch (ArgumentException) { }               // already gone
            catch (InvalidOperationException) { }
        }
        Environment.SetEnvironmentVariable("SLURM_CONF", null);
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Start(string daemon, params string[] arguments)
    {
        var (code, output) = Execute(Which(daemon) ?? daemon, arguments);
        if (code != 0) throw new InvalidOperationException($"{daemon} did not start (exit {code}): {output}; logs in {Folder}");
    }

    public static string Run(string program, params string[] arguments)
    {
        var (code, output) = Execute(program, arguments);
        return code == 0 ? output : throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed (exit {code}): {output}");
    }

    private static string TryRun(string program, params string[] arguments) => Execute(program, arguments).output;

    private static (int code, string output) Execute(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);
}
