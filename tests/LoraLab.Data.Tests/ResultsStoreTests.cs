using LoraLab.Data.Results;

namespace LoraLab.Data.Tests;

public class ResultsStoreTests
{
    [Fact]
    public void A_finished_run_reads_back_with_its_metrics_including_NaN()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        long id = store.TryStartRun("exp", "{\"lr\":0.1}", "h1", 3, "cpu", "abc")!.Value;
        store.AppendMetrics(id, [(0, "loss", 2.5), (1, "loss", 1.5)]);
        store.FinishRun(id, RunStatus.Diverged, "loss is NaN", new Dictionary<string, double> { ["loss"] = double.NaN }, [(2, "loss", double.NaN)]);

        var run = Assert.Single(store.Runs("exp"));
        Assert.Equal((RunStatus.Diverged, "loss is NaN", 3, "cpu", "abc"), (run.Status, run.Error, run.Seed, run.Device, run.GitCommit));
        Assert.True(double.IsNaN(run.FinalMetrics["loss"]));
        var loss = store.MetricSeries(id, "loss");
        Assert.Equal([0L, 1L, 2L], loss.Select(p => p.Step));
        Assert.Equal(1.5, loss[1].Value);
        Assert.True(double.IsNaN(loss[2].Value));
    }

    [Fact]
    public void The_database_refuses_a_second_finished_row_for_the_same_run()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        long first = store.TryStartRun("exp", "{}", "h", 0)!.Value;
        store.FinishRun(first, RunStatus.Done);
        Assert.Null(store.TryStartRun("exp", "{}", "h", 0));
        Assert.Single(store.Runs());
    }

    [Fact]
    public void A_running_row_of_a_dead_process_is_abandoned_and_the_run_can_start_again()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        string path = folder.File("results.db");
        using (var store = new ResultsStore(path))
            store.TryStartRun("exp", "{}", "h", 0);
        // Pretend the row belongs to a process that no longer exists.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE runs SET pid = 2147483000";
            command.ExecuteNonQuery();
        }
        using var reopened = new ResultsStore(path);
        long? retry = reopened.TryStartRun("exp", "{}", "h", 0);
        Assert.NotNull(retry);
        var runs = reopened.Runs();
        Assert.Equal([RunStatus.Failed, RunStatus.Running], runs.Select(r => r.Status));
        Assert.Contains("abandoned", runs[0].Error);
    }

    [Fact]
    public void Csv_export_quotes_commas_quotes_and_line_breaks()
    {
        Assert.Equal("plain", CsvExport.Escape("plain"));
        Assert.Equal("\"a,b\"", CsvExport.Escape("a,b"));
        Assert.Equal("\"say \"\"hi\"\"\"", CsvExport.Escape("say \"hi\""));
        Assert.Equal("\"two\nlines\"", CsvExport.Escape("two\nlines"));

        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        long id = store.TryStartRun("exp", "{\"name\":\"a,b\"}", "h", 0)!.Value;
        store.FinishRun(id, RunStatus.Failed, "boom, \"bad\"\nthing", new Dictionary<string, double> { ["acc"] = 0.5 });
        var text = new StringWriter();
        CsvExport.WriteRuns(store, text);
        string[] lines = text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);   // the embedded \n stays inside a quoted field
        Assert.EndsWith(",acc", lines[0]);
        Assert.Contains("\"boom, \"\"bad\"\"\nthing\"", lines[1]);
        Assert.Contains("\"{\"\"name\"\":\"\"a,b\"\"}\"", lines[1]);
        Assert.EndsWith(",0.5", lines[1]);
    }

    [Fact]
    public void Metrics_csv_has_one_line_per_logged_value()
    {
        using var folder = TestPaths.NewTemporaryFolder();
        using var store = new ResultsStore(folder.File("results.db"));
        long id = store.TryStartRun("exp", "{}", "h", 0)!.Value;
        store.FinishRun(id, RunStatus.Done, lastPoints: [(0, "loss", 1.0), (1, "loss", 0.25), (1, "acc", 0.75)]);
        var text = new StringWriter();
        CsvExport.WriteMetrics(store, text);
        string[] lines = text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["run_id,experiment,config_hash,seed,step,name,value", $"{id},exp,h,0,1,acc,0.75", $"{id},exp,h,0,0,loss,1", $"{id},exp,h,0,1,loss,0.25"], lines);
    }
}
