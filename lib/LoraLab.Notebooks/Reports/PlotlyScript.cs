namespace LoraLab.Notebooks.Reports;

/// <summary>
/// Finds plotly.js, which ./lab installs with npm into data/node_modules, so reports can embed it and work offline.
/// Searched for by walking up from a few start folders (the notebook's, the output folder, the current one) to the
/// repository root, unless a path is given explicitly.
/// </summary>
public static class PlotlyScript
{
    public const string RelativePath = "data/node_modules/plotly.js-dist-min/plotly.min.js";

    public const string MissingMessage =
        "plotly.js was not found (" + RelativePath + "), so reports will load it from the CDN and need network to draw " +
        "charts. Run ./lab once, or `npm install --no-audit --no-fund` in data/, to install it.";

    /// <summary>The first plotly.min.js found above any of the folders, or null.</summary>
    public static string? Find(params IEnumerable<string?> startFolders)
    {
        foreach (var start in startFolders.OfType<string>())
        {
            for (var folder = new DirectoryInfo(Path.GetFullPath(start)); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, RelativePath);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>The file's text made safe to put inside a &lt;script&gt; element: "&lt;/script" would end it early.</summary>
    public static string ReadForInlineScript(string path) =>
        // Reports are rewritten after every cell: read the 4.5 MB file once per process.
        Cache.GetOrAdd(Path.GetFullPath(path), full => File.ReadAllText(full).Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase));

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Cache = new();
}
