using LoraLab.BaseModels;

namespace LoraLab.Cli;

/// <summary>`lab pretrain [--profile quick|paper|tiny]`: builds (or finds cached) the base model of a profile.</summary>
public static class PretrainCommand
{
    public const string Usage = """
        usage: lab pretrain [--profile quick|paper|tiny]
        Builds the base model of a profile (default quick: corpora, tokenizer, token shards, pretraining), or finds it
        cached under data/cache/. ci is another name for tiny.
        exit codes: 0 ok, 1 it failed (a corpus missing, libtorch not loading, ...), 2 bad arguments
        """;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        BaseModelProfile profile;
        try
        {
            var options = CommandArguments.Parse(args, flags: [], valued: ["profile"]);
            if (options.Help)
            {
                output.WriteLine(Usage);
                return CommandExitCodes.Ok;
            }
            if (options.Positional.Count > 0) throw new ArgumentException($"unknown argument '{options.Positional[0]}' (pretrain takes only --profile)");
            string name = options.Value("profile") ?? "quick";
            try { profile = BaseModelProfile.Named(name); }
            catch (ArgumentException) { throw new ArgumentException($"unknown profile '{name}'; use one of quick, paper, tiny (ci is tiny)"); }
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"lab pretrain: {e.Message}");
            error.WriteLine(Usage);
            return CommandExitCodes.BadArguments;
        }
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var baseModel = PretrainedBase.LoadOrBuild(profile, log: error.WriteLine);
            var r = baseModel.Report;
            output.WriteLine($"base model '{r.Profile}' in {baseModel.Directory}");
            output.WriteLine($"validation perplexity {r.ValidationPerplexity:F1} (unigram baseline {r.UnigramPerplexity:F1}); pretrained on {r.TrainTokens:N0} tokens in {r.Seconds:F0} s on {r.Device}; this command took {clock.Elapsed.TotalSeconds:F0} s");
            return CommandExitCodes.Ok;
        }
        catch (Exception e) when (e is ArgumentException or LoraLab.Data.MissingCorpusException or InvalidOperationException)
        {
            error.WriteLine($"lab pretrain: {e.Message}");
            return CommandExitCodes.Failed;
        }
        catch (TypeInitializationException e) when (e.InnerException is TorchRuntimeException cause)
        {
            error.WriteLine($"lab pretrain: {cause.Message}");   // libtorch could not load: the loader's reason
            return CommandExitCodes.Failed;
        }
    }
}
