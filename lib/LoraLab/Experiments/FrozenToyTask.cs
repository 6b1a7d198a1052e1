using LoraLab.Models;
using TorchSharp;
using Linear = TorchSharp.Modules.Linear;
using static TorchSharp.torch;

namespace LoraLab.Experiments;

/// <summary>
/// What the toy runs of one task share and never train: the student's weights, the data, the adapted layer's inputs z
/// and their W z. Built once per process for each (task, seed, device) and reused by every run of it: a sweep trains about
/// 30 runs of each width and seed (both inits at every rate). Building one is most of a wide run's setup: two
/// [N, n]×[n, n] products (the teacher's targets, W z) and four n×n draws, 1.35 s at n = 4096 where the whole run took
/// 3.7 s. A run built on it is the run built from scratch: the same tensors, and LoRA factors drawn from the random
/// generators as building the task left them (<see cref="RestoreGenerators"/>).
/// </summary>
internal sealed class FrozenToyTask
{
    private readonly TeacherStudentTask task;
    private readonly Tensor generatorState;     // the CPU generator's state right after the task was built
    private readonly long seed;
    private readonly long bytes;                // what it holds, for the cache's budget
    private int users;                          // runs holding it (Acquire, Release)
    private bool evicted;                       // out of the cache: disposed when its last run releases it

    private FrozenToyTask(ToyConfig c, int seed, Device device)
    {
        // ΔW = delta_scale·√(n/r*)·U Vᵀ/n with U, V ~ N(0, 1): a rank-r* change whose size does not grow with n.
        task = new TeacherStudentTask(c.d, c.n, c.planted_rank, c.delta_scale * Math.Sqrt((double)c.n / c.planted_rank),
                                      c.n_train, c.n_test, seed);
        // Everything below outlives the caller's dispose scope (a run's, or an ensemble's): the cache owns it.
        generatorState = torch.get_rng_state().DetachFromDisposeScope();
        this.seed = seed;
        task.student.to(device);
        using var noGrad = torch.no_grad();
        var (w_in, hidden) = ((Linear)task.student.w_in, (Linear)task.student.hidden);
        x_train = task.x_train.to(device).DetachFromDisposeScope();
        x_test = task.x_test.to(device).DetachFromDisposeScope();
        z_train = w_in.forward(x_train).relu().DetachFromDisposeScope();
        z_test = w_in.forward(x_test).relu().DetachFromDisposeScope();
        wz_train = hidden.forward(z_train).DetachFromDisposeScope();
        wz_test = hidden.forward(z_test).DetachFromDisposeScope();
        y_train = task.y_train.to(device).DetachFromDisposeScope();
        y_test = task.y_test.to(device).DetachFromDisposeScope();
        // The teacher and its change ΔW have given their targets: freeing them frees two of the task's three n×n matrices.
        task.teacher.Dispose();
        task.delta.Dispose();
        bytes = Features.Concat(task.student.parameters()).Sum(t => t.numel() * t.ElementSize);
    }

    /// <summary>The pretrained network, on the device; never adapted itself: a run adapts a <see cref="ToyMlp"/> over its
    /// weights (<see cref="ToyMlp(ToyMlp)"/>).</summary>
    public ToyMlp student => task.student;
    public Tensor x_train { get; }
    public Tensor x_test { get; }
    public Tensor y_train { get; }
    public Tensor y_test { get; }
    public Tensor z_train { get; }
    public Tensor z_test { get; }
    public Tensor wz_train { get; }
    public Tensor wz_test { get; }
    private Tensor[] Features => [x_train, x_test, z_train, z_test, wz_train, wz_test, y_train, y_test];

    /// <summary>Puts the random generators where building the task left them, so that what a run draws next (its LoRA
    /// factors) is what it would draw right after building the task itself.</summary>
    public void RestoreGenerators()
    {
        torch.manual_seed(seed);                 // every device's generator as the task's seed left it (the task draws on the CPU)
        torch.set_rng_state(generatorState);     // and the CPU's where the task's draws left it
    }

    // The most recently used tasks, most recent first, as many as fit in BudgetBytes (the newest always). A worker's runs
    // cycle through the seeds of one width (the sweep's order: configs, then seeds), and a least-recently-used cache
    // cycled through more keys than it holds misses every time: so the cache is bounded by bytes, not by a count that
    // would have to follow the number of seeds. A task of width 4096 is about 100 MB (its n×n weight, z and W z): 1 GiB
    // holds ten, every seed of a quick sweep.
    internal static long BudgetBytes { get; set; } = 1L << 30;
    private static readonly List<(string key, FrozenToyTask task)> recent = new();
    private static readonly object gate = new();

    /// <summary>The task of <paramref name="c"/> and <paramref name="seed"/> on <paramref name="device"/>, built or from the
    /// cache; the caller releases it (<see cref="Release"/>) when its run is over.</summary>
    public static FrozenToyTask Acquire(ToyConfig c, int seed, Device device)
    {
        string key = $"d={c.d} n={c.n} planted={c.planted_rank} scale={c.delta_scale:R} train={c.n_train} test={c.n_test} " +
                     $"seed={seed} device={device} dtype={torch.get_default_dtype()}";
        lock (gate)
        {
            int at = recent.FindIndex(x => x.key == key);
            var entry = at >= 0 ? recent[at] : (key, task: new FrozenToyTask(c, seed, device));
            if (at >= 0) recent.RemoveAt(at);
            recent.Insert(0, entry);
            entry.task.users++;
            while (recent.Count > 1 && recent.Sum(x => x.task.bytes) > BudgetBytes)
            {
                var oldest = recent[^1].task;
                recent.RemoveAt(recent.Count - 1);
                oldest.evicted = true;
                if (oldest.users == 0) oldest.Dispose();
            }
            return entry.task;
        }
    }

    /// <summary>A run is done with the task: it stays cached, or is disposed if it has left the cache meanwhile.</summary>
    public void Release()
    {
        lock (gate)
        {
            users--;
            if (evicted && users == 0) Dispose();
        }
    }

    /// <summary>Empties the cache (a task still in use is disposed when its last run releases it): for benchmarks that
    /// time ways of running a sweep from the same start.</summary>
    public static void Clear()
    {
        lock (gate)
        {
            foreach (var (_, task) in recent)
            {
                task.evicted = true;
                if (task.users == 0) task.Dispose();
            }
            recent.Clear();
        }
    }

    private void Dispose()
    {
        foreach (var t in Features.Append(generatorState)) t.Dispose();
        task.Dispose();
    }
}
