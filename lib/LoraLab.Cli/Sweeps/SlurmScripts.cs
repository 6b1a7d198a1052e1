using System.Text;

namespace LoraLab.Cli.Sweeps;

/// <summary>
/// The two sbatch scripts of a sweep. The array script runs `lab run` on one shard of the notebook's sweep
/// (`--param shard=i/N`, its own database, and `--skip-tag figures`: the cells tagged "figures", which draw from the
/// whole store, are not run by a shard); the merge script folds the shard
/// databases into the store and renders the report with `lab run`, which then finds every run finished and trains
/// nothing. A shard's task writes its exit code to shards/shard-i.exit when it ends; a killed task writes none.
/// </summary>
public static class SlurmScripts
{
    /// <summary>The cell tag of a notebook's drawing cells, which a shard's task skips (`lab run --skip-tag`).</summary>
    public const string FiguresTag = "figures";

    public static string Shards(SweepPlan plan)
    {
        var script = Header(plan, $"lab-{plan.Name}", Path.Combine(plan.LogsDirectory, "shard-%a.out"));
        string exit = Quote(plan.ShardsDirectory + "/shard-") + "\"$i\".exit";
        script.AppendLine($$"""
            i="$SLURM_ARRAY_TASK_ID"
            cd {{Quote(plan.RepositoryRoot)}}
            mkdir -p {{Quote(plan.ShardsDirectory)}}
            rm -f {{exit}}
            {{plan.LabCommand}} run {{Quote(plan.Notebook)}} --profile {{Quote(plan.Profile)}}{{ParamArgs(plan)}} \
              --param "shard=$i/{{plan.ShardCount}}" \
              --param {{Quote("store_path=" + plan.ShardsDirectory + "/shard-")}}"$i".db \
              --skip-tag {{FiguresTag}} --out {{Quote(plan.ShardsDirectory + "/shard-")}}"$i"
            status=$?
            # Written atomically: the exit file exists only for a task that ended by itself (a killed one writes none).
            echo "$status" > {{exit}}.tmp && mv {{exit}}.tmp {{exit}}
            exit "$status"
            """);
        return script.ToString();
    }

    public static string Merge(SweepPlan plan)
    {
        var script = Header(plan, $"lab-{plan.Name}-merge", Path.Combine(plan.LogsDirectory, "merge-%j.out"));
        string shards = Quote(plan.ShardsDirectory);
        string status = Quote(plan.MergeStatusFile);
        script.AppendLine($$"""
            cd {{Quote(plan.RepositoryRoot)}}
            unfinished=()
            for i in $(seq 0 {{plan.ShardCount - 1}}); do
              [ "$(cat {{shards}}/shard-"$i".exit 2>/dev/null)" = 0 ] || unfinished+=("$i")
            done
            if [ ${#unfinished[@]} -gt 0 ]; then
              # Rendering now would train the missing runs on this node: say which shards to rerun instead.
              echo "failed: shards ${unfinished[*]} did not finish; lab sweep resubmit reruns them" | tee {{status}}
              exit 1
            fi
            echo "merging" > {{status}}
            {{plan.LabCommand}} results merge {{shards}}/shard-*.db --db {{Quote(plan.StorePath)}} \
              || { echo "failed: lab results merge" | tee {{status}}; exit 1; }
            echo "rendering" > {{status}}
            {{plan.LabCommand}} run {{Quote(plan.Notebook)}} --profile {{Quote(plan.Profile)}}{{ParamArgs(plan)}} \
              --param {{Quote("store_path=" + plan.StorePath)}} --out {{Quote(plan.ReportDirectory)}} \
              || { echo "failed: the report's notebook run (see the merge log)" | tee {{status}}; exit 1; }
            echo "done" | tee {{status}}
            """);
        return script.ToString();
    }

    private static StringBuilder Header(SweepPlan plan, string jobName, string output)
    {
        var script = new StringBuilder();
        script.AppendLine("#!/usr/bin/env bash");
        script.AppendLine($"# Written by `lab sweep submit` for {plan.Notebook} (profile {plan.Profile}, {plan.ShardCount} shards).");
        script.AppendLine($"#SBATCH --job-name={jobName}");
        script.AppendLine($"#SBATCH --output={output}");
        script.AppendLine($"#SBATCH --cpus-per-task={plan.Resources.CpusPerTask}");
        if (plan.Resources.Partition is { } partition) script.AppendLine($"#SBATCH --partition={partition}");
        if (plan.Resources.Gres is { } gres) script.AppendLine($"#SBATCH --gres={gres}");
        if (plan.Resources.Time is { } time) script.AppendLine($"#SBATCH --time={time}");
        foreach (string extra in plan.Resources.ExtraArgs) script.AppendLine($"#SBATCH {extra}");
        script.AppendLine("set -uo pipefail");
        return script;
    }

    private static string ParamArgs(SweepPlan plan) =>
        string.Concat(plan.Params.Select(p => $" --param {Quote(p)}"));

    /// <summary>Single-quotes a word for bash (an embedded quote becomes '\'').</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";
}
