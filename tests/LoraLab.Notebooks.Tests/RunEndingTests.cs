using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using LoraLab.Notebooks.Runner;
using static LoraLab.Notebooks.Tests.TestNotebooks;

namespace LoraLab.Notebooks.Tests;

/// <summary>
/// Runs that do not end by themselves: an endless cell, a cell that exits the process, a killed worker, Ctrl-C, SIGTERM
/// and SIGKILL of `lab run`. Each must keep the executed notebook and report of every cell that finished, mark the cell
/// that was running, and exit with the code docs/notebooks.md gives.
/// </summary>
public class RunEndingTests
{
    // Writes its worker's process id to a file, then works slowly: the test knows when and whom to stop.
    static string SlowCell(string pidFile) =>
        $"System.IO.File.WriteAllText(@\"{pidFile}\", Environment.ProcessId.ToString());\n" +
        "for (var i = 0; i < 600; i++) { Console.WriteLine($\"step {i}\"); System.Threading.Thread.Sleep(100); }";

    static async Task<int> WaitForPid(string pidFile)
    {
        for (var waited = 0; waited < 120_000; waited += 100)
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile), out var pid)) return pid;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the slow cell never started ({pidFile})");
    }

    static void AssertFinishedCellKeptAndRunningCellMarked(JsonObject executed, string status, string errorName)
    {
        NbformatAssert.Valid(executed);
        var cells = CodeCells(executed);
        Assert.Equal("ok", Status(cells[0]));
        Assert.Contains("first cell done", Text(cells[0]));
        Assert.Equal(status, Status(cells[1]));
        Assert.Equal(errorName, (string?)Error(cells[1])!["ename"]);
        Assert.All(cells.Skip(2), cell => Assert.Null(Status(cell)));
        Assert.Equal(status, (string?)executed["metadata"]!["loralab"]!["status"]);
    }

    [Fact]
    public async Task An_endless_cell_is_stopped_by_timeout_and_the_earlier_cells_are_kept()
    {
        var folder = TestPaths.NewOutputFolder("timeout");
        var notebook = Write(folder, "endless", new JsonObject(),
            Code("Console.WriteLine(\"first cell done\");", Timeout(0)), // its own "no limit": the first cell also compiles the session
            Code("Console.WriteLine(\"spinning\");\nwhile (true) { }"),
            Code("Console.WriteLine(\"never\");"));
        var output = Path.Combine(folder, "out");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--timeout", "4", "--out", output);

        Assert.True(exitCode == ExitCodes.TimedOut, log);
        var executed = Load(Path.Combine(output, "endless.ipynb"));
        AssertFinishedCellKeptAndRunningCellMarked(executed, "timed-out", "CellTimeout");
        Assert.Contains("spinning", Text(CodeCells(executed)[1])); // what it printed before it was stopped
        Assert.Contains("cell 2 of 3 ran past its timeout of 4 s", log);
        Assert.Contains("ran past its timeout", File.ReadAllText(Path.Combine(output, "endless.html")));
        Assert.Contains("timed-out", File.ReadAllText(Path.Combine(output, "index.html")));
    }

    [Fact]
    public async Task The_notebooks_metadata_sets_the_timeout()
    {
        var folder = TestPaths.NewOutputFolder("metadata-timeout");
        var notebook = Write(folder, "endless", new JsonObject { ["loralab"] = new JsonObject { ["timeout"] = 3 } },
            Code("Console.WriteLine(\"first cell done\");", Timeout(0)),
            Code("while (true) { }"),
            Code("1"));

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.TimedOut, log);
        AssertFinishedCellKeptAndRunningCellMarked(Load(Path.Combine(folder, "out", "endless.ipynb")), "timed-out", "CellTimeout");
    }

    [Fact]
    public async Task Environment_Exit_in_a_cell_is_reported_with_its_code()
    {
        var folder = TestPaths.NewOutputFolder("exit");
        var notebook = Write(folder, "exits", "Console.WriteLine(\"first cell done\");", "Console.WriteLine(\"bye\");\nEnvironment.Exit(3);", "1");

        var (exitCode, log) = await RunnerTests.Run(notebook, "--out", folder + "/out");

        Assert.True(exitCode == ExitCodes.Exited, log);
        Assert.Contains("cell 2 of 3 exited the process with code 3", log);
        var executed = Load(Path.Combine(folder, "out", "exits.ipynb"));
        AssertFinishedCellKeptAndRunningCellMarked(executed, "exited", "ProcessExited");
        Assert.Contains("bye", Text(CodeCells(executed)[1]));
        Assert.Contains("cell 2 of 3 exited the process with code 3", File.ReadAllText(Path.Combine(folder, "out", "exits.html")));
    }

    [Fact]
    public async Task A_killed_worker_keeps_the_finished_cells_marked_interrupted()
    {
        var folder = TestPaths.NewOutputFolder("sigkill-worker");
        var pidFile = Path.Combine(folder, "worker.pid");
        var notebook = Write(folder, "slow", "Console.WriteLine(\"first cell done\");", SlowCell(pidFile), "1");

        var run = RunnerTests.Run(notebook, "--out", folder + "/out");
        Process.GetProcessById(await WaitForPid(pidFile)).Kill(); // SIGKILL
        var (exitCode, log) = await run;

        Assert.True(exitCode == ExitCodes.Interrupted, log);
        Assert.Contains("stopped by signal SIGKILL", log);
        AssertFinishedCellKeptAndRunningCellMarked(Load(Path.Combine(folder, "out", "slow.ipynb")), "interrupted", "Interrupted");
    }

    [Fact]
    public async Task Ctrl_C_stops_the_run_keeps_what_finished_and_skips_the_next_notebook()
    {
        var folder = TestPaths.NewOutputFolder("ctrl-c");
        var pidFile = Path.Combine(folder, "worker.pid");
        var notebook = Write(folder, "slow", "Console.WriteLine(\"first cell done\");", SlowCell(pidFile), "1");
        var next = Write(folder, "next", "1");
        using var interrupt = new CancellationTokenSource();

        var run = RunnerTests.Run(interrupt.Token, notebook, next, "--out", folder + "/out");
        var worker = Process.GetProcessById(await WaitForPid(pidFile));
        interrupt.Cancel(); // what lab's Ctrl-C and SIGTERM handlers do
        var (exitCode, log) = await run;

        Assert.True(exitCode == ExitCodes.Interrupted, log);
        Assert.True(worker.WaitForExit(10_000), "the worker process must be stopped");
        AssertFinishedCellKeptAndRunningCellMarked(Load(Path.Combine(folder, "out", "slow.ipynb")), "interrupted", "Interrupted");
        Assert.False(File.Exists(Path.Combine(folder, "out", "next.ipynb")));
        Assert.Contains("not-run", File.ReadAllText(Path.Combine(folder, "out", "index.html")));
    }

    [Fact]
    public async Task A_cell_that_finished_before_Ctrl_C_stays_finished_when_its_events_reach_the_runner_after_the_stop()
    {
        // The runner may be slow to read its worker's events (a busy machine): Ctrl-C can come after the worker finished
        // a cell and started the next but before the runner saw either. Here that is certain: the worker's events go to a
        // file, and a relay outside its process tree (the runner's kill does not reach it) hands them over only after the
        // stop. They are facts (the worker writes the executed notebook before it reports a cell finished), so the cell
        // still running is the one started last, not the one that finished.
        var folder = TestPaths.NewOutputFolder("late-events");
        var (pidFile, events, release) = (Path.Combine(folder, "worker.pid"), Path.Combine(folder, "events.txt"), Path.Combine(folder, "release"));
        var notebook = Write(folder, "slow", "Console.WriteLine(\"first cell done\");", SlowCell(pidFile), "1");
        string relay = $"setsid -f sh -c 'while [ ! -e \"{release}\" ]; do sleep 0.05; done; cat \"{events}\"'";
        IReadOnlyList<string> worker = ["sh", "-c", $"{relay}; exec \"$0\" \"$@\" > \"{events}\"", .. TestPaths.WorkerCommand];
        using var interrupt = new CancellationTokenSource();
        var log = new StringWriter();
        var run = RunCommand.RunAsync([notebook, "--out", folder + "/out"], log, worker, interrupt.Token);
        try
        {
            await WaitForPid(pidFile);
            interrupt.Cancel();
        }
        finally { File.WriteAllText(release, ""); }
        int exitCode = await run;

        Assert.True(exitCode == ExitCodes.Interrupted, log.ToString());
        Assert.Contains("interrupted (Ctrl-C or SIGTERM) in cell 2 of 3", log.ToString());
        AssertFinishedCellKeptAndRunningCellMarked(Load(Path.Combine(folder, "out", "slow.ipynb")), "interrupted", "Interrupted");
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    /// <summary>`dotnet lab.dll run ...` as its own process, as a user starts it.</summary>
    static Process StartLab(params string[] args)
    {
        var start = new ProcessStartInfo(TestPaths.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { TestPaths.LabDll, "run" }.Concat(args)) start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [Fact]
    public async Task SIGTERM_to_lab_run_writes_what_finished_marked_interrupted_and_exits_130()
    {
        var folder = TestPaths.NewOutputFolder("sigterm");
        var pidFile = Path.Combine(folder, "worker.pid");
        var notebook = Write(folder, "slow", "Console.WriteLine(\"first cell done\");", SlowCell(pidFile), "1");
        using var lab = StartLab(notebook, "--out", folder + "/out");

        await WaitForPid(pidFile);
        Assert.Equal(0, kill(lab.Id, 15));
        Assert.True(lab.WaitForExit(60_000), "lab run must end after SIGTERM");

        Assert.Equal(ExitCodes.Interrupted, lab.ExitCode);
        AssertFinishedCellKeptAndRunningCellMarked(Load(Path.Combine(folder, "out", "slow.ipynb")), "interrupted", "Interrupted");
        Assert.Contains("interrupted", File.ReadAllText(Path.Combine(folder, "out", "index.html")));
    }

    [Fact]
    public async Task When_lab_run_itself_is_killed_its_worker_marks_the_run_interrupted_and_exits()
    {
        var folder = TestPaths.NewOutputFolder("sigkill-parent");
        var pidFile = Path.Combine(folder, "worker.pid");
        var notebook = Write(folder, "slow", "Console.WriteLine(\"first cell done\");", SlowCell(pidFile), "1");
        using var lab = StartLab(notebook, "--out", folder + "/out");

        var worker = Process.GetProcessById(await WaitForPid(pidFile));
        lab.Kill(); // SIGKILL: no chance to clean up
        Assert.True(worker.WaitForExit(30_000), "the worker must not run on without its runner");

        AssertFinishedCellKeptAndRunningCellMarked(Load(Path.Combine(folder, "out", "slow.ipynb")), "interrupted", "Interrupted");
    }
}
