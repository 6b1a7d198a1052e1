using System.Text.Json.Nodes;

namespace LoraLab.Kernel.Tests;

[Collection(JupyterClientsCollection.Name)]
public sealed class KernelSpecTests
{
    [Fact]
    public void Install_registers_loralab_csharp_for_jupyter_and_uninstall_removes_it()
    {
        using var clients = new JupyterClients(); // its own prefix, so removing the spec affects no other test
        JsonObject Specs() => (JsonObject)JsonNode.Parse(clients.RunPythonForStandardOutput(["-m", "jupyter_client.kernelspecapp", "list", "--json"], Path.GetTempPath(), TimeSpan.FromMinutes(1)))!["kernelspecs"]!;

        var spec = Specs()["loralab-csharp"]?["spec"];
        Assert.NotNull(spec);
        Assert.Equal("C# (LoraLab)", (string?)spec["display_name"]);
        Assert.Equal("C#", (string?)spec["language"]);
        Assert.Equal("message", (string?)spec["interrupt_mode"]);
        Assert.Contains("{connection_file}", spec["argv"]!.AsArray().Select(arg => (string?)arg));

        Assert.Contains("removed kernelspec loralab-csharp", clients.Uninstall());
        Assert.Null(Specs()["loralab-csharp"]);
        Assert.Contains("not installed", clients.Uninstall());
    }
}
