using LoraLab.BaseModels;

namespace LoraLab.Cli;

/// <summary>`lab pretrain [--profile quick|paper|tiny]`: builds (or finds cached) the base model of a profile.</summary>
public static class PretrainCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        string profileName = "quick";
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--profile" && i + 1 < args.Length) profileName = args[++i];
            else
            {
                error.WriteLine($"lab pretrain: unknown argument '{args[i]}'\nusage: lab pretrain [--profile quick|paper|tiny]");
                return 2;
            }
        }
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var baseModel = PretrainedBase.LoadOrBuild(BaseModelProfile.Named(profileName), log: error.WriteLine);
            var r = baseModel.Report;
            output.WriteLine($"base model '{r.Profile}' in {baseModel.Directory}");
            output.WriteLine($"validation perplexity {r.ValidationPerplexity:F1} (unigram baseline {r.UnigramPerplexity:F1}); pretrained on {r.TrainTokens:N0} tokens in {r.Seconds:F0} s on {r.Device}; this command took {clock.Elapsed.TotalSeconds:F0} s");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or LoraLab.Data.MissingCorpusException or InvalidOperationException)
        {
            error.WriteLine($"lab pretrain: {e.Message}");
            return 1;
        }
        catch (TypeInitializationException e) when (e.InnerException is TorchRuntimeException cause)
        {
            error.WriteLine($"lab pretrain: {cause.Message}");   // libtorch could not load: the loader's reason
            return 1;
        }
    }
}
