namespace LoraLab.Kernel.Tests;

/// <summary>The kernel through real Jupyter clients: jupyter_kernel_test's suite and jupyter_client scenarios.</summary>
[Collection(JupyterClientsCollection.Name)]
public sealed class ProtocolClientTests(JupyterClients clients)
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void Jupyter_kernel_test_suite_passes()
    {
        var output = clients.RunPython(["-m", "unittest", "-v", "test_loralab_kernel"], Path.GetDirectoryName(JupyterClients.PythonScript("x"))!, Timeout);
        Assert.Contains("OK", output);
    }

    [Theory]
    [InlineData("interrupt")] // interrupt_request on the control channel
    [InlineData("sigint")]
    public void Interrupting_a_while_true_cell_stops_it_and_the_next_cell_runs(string how) => Check(how);

    [Fact]
    public void A_message_with_a_wrong_signature_is_ignored() => Check("bad-signature");

    [Fact]
    public void Two_kernels_run_at_once_on_different_ports_with_their_own_state() => Check("two-kernels");

    [Fact]
    public void Cells_queued_behind_a_failing_cell_are_aborted() => Check("stop-on-error");

    [Fact]
    public void Output_reaches_the_client_while_the_cell_is_still_running() => Check("live-output");

    [Fact]
    public void Console_ReadLine_asks_the_front_end_for_input_or_fails_clearly_without_one() => Check("stdin");

    [Fact]
    public void A_restart_starts_a_fresh_session_that_runs_cells() => Check("restart");

    [Fact]
    public void The_kernel_survives_a_throwing_cell_and_bad_input_to_libtorch()
    {
        var bin = Path.Combine(JupyterClients.RepositoryRoot, "lib", "LoraLab", "bin", "Release", "net10.0");
        foreach (var dll in new[] { "TorchSharp.dll", "LoraLab.dll" })
            Assert.True(File.Exists(Path.Combine(bin, dll)), $"{Path.Combine(bin, dll)} is missing: run ./lab build");
        Check("survives-errors", Path.Combine(bin, "TorchSharp.dll"), Path.Combine(bin, "LoraLab.dll"));
    }

    void Check(string scenario, params string[] arguments)
    {
        var output = clients.RunPython([JupyterClients.PythonScript("client_checks.py"), scenario, .. arguments], Path.GetTempPath(), Timeout);
        Assert.Contains($"{scenario}: ok", output);
    }
}
