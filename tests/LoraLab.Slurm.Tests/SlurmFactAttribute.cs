namespace LoraLab.Slurm.Tests;

/// <summary>A test that needs a private Slurm cluster: skipped, with the reason shown, where one cannot start.</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (SlurmCluster.Unavailable() is { } reason) Skip = reason;
    }
}

[CollectionDefinition(Name)]
public sealed class SlurmCollection : ICollectionFixture<LazyCluster>
{
    public const string Name = "slurm";
}

/// <summary>Starts the cluster on first use, so that skipped tests start nothing.</summary>
public sealed class LazyCluster : IDisposable
{
    private readonly Lazy<SlurmCluster> _cluster = new(() => new SlurmCluster());
    public SlurmCluster Cluster => _cluster.Value;

    public void Dispose()
    {
        if (_cluster.IsValueCreated) _cluster.Value.Dispose();
    }
}
