namespace LoraLab.Display;

/// <summary>
/// Where a figure's HTML loads plotly.js from when its page has none (a notebook in VS Code or Jupyter, or one exported
/// with nbconvert; `lab run`'s reports embed plotly.js once and need none of this). The sources are tried in order, each
/// after the last failed to load: the copy that ./lab installs in data/node_modules, as a path relative to the notebook's
/// folder (a kernel runs in its notebook's folder, and nbconvert writes its HTML there), so that an exported notebook draws
/// its charts offline; then the CDN.
/// </summary>
public static class PlotlySources
{
    public const string InstalledPath = "data/node_modules/plotly.js-dist-min/plotly.min.js";

    public static string Cdn => $"https://cdn.plot.ly/plotly-{Figure.PlotlyVersion}.min.js";

    /// <summary>Where this process's pages are written, when that is not its current folder: `lab run` writes the
    /// executed notebook to its output folder and says so here.</summary>
    public const string PageFolderVariable = "LORALAB_PAGE_FOLDER";

    /// <summary>The sources for this process: the installed copy found from its pages' folder upwards (as a relative
    /// path), then the CDN. The pages' folder is <see cref="PageFolderVariable"/>, else the current folder (a kernel's
    /// is its notebook's).</summary>
    public static IReadOnlyList<string> ForThisProcess =>
        From(Environment.GetEnvironmentVariable(PageFolderVariable) is { Length: > 0 } folder ? folder : Environment.CurrentDirectory);

    /// <summary>The sources for a page written in <paramref name="folder"/>: the installed copy of the nearest folder
    /// above it that has one, relative to it ("../data/node_modules/…"), then the CDN.</summary>
    public static IReadOnlyList<string> From(string folder)
    {
        for (var above = new DirectoryInfo(Path.GetFullPath(folder)); above is not null; above = above.Parent)
            if (File.Exists(Path.Combine(above.FullName, InstalledPath)))
                return [Path.GetRelativePath(folder, Path.Combine(above.FullName, InstalledPath)).Replace('\\', '/'), Cdn];
        return [Cdn];
    }
}
