using System.Globalization;
using System.Text.RegularExpressions;

namespace LoraLab.Data;

/// <summary>
/// One generated grade-school arithmetic problem. <see cref="Solution"/> is a worked solution whose
/// every step is written "a op b = c", so both the steps and the final answer can be checked.
/// </summary>
public sealed record MathProblem(string Question, string Solution, long Answer)
{
    /// <summary>What the model is given: "Question: ...\nAnswer:".</summary>
    public string Prompt => $"Question: {Question}\nAnswer:";

    /// <summary>What the model should produce after the prompt: " steps\n#### 42".</summary>
    public string Completion => $" {Solution}\n#### {Answer.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Prompt and completion together, the GSM8K layout.</summary>
    public string Text => Prompt + Completion;
}

/// <summary>
/// A deterministic generator of GSM8K-like multi-step word problems with exact integer answers.
/// Problem <c>i</c> for a seed is always the same problem whatever the count asked for, because each
/// problem draws from its own random stream seeded by (seed, i). Numbers are kept small enough that
/// a small model can in principle learn the arithmetic, so exact-match accuracy can move during finetuning.
/// </summary>
public static partial class MathWordProblems
{
    private static readonly string[] Names =
        ["Ava", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Isla", "Jamal", "Kira", "Liam", "Mei", "Noah", "Olga", "Priya"];
    private static readonly string[] Items =
        ["apples", "pencils", "stickers", "marbles", "cookies", "books", "stamps", "shells", "cards", "eggs"];
    private static readonly string[] Containers = ["boxes", "bags", "packs", "jars", "crates"];
    // (singular, plural) so sentences read naturally either way.
    private static readonly (string One, string Many)[] Goods =
        [("notebook", "notebooks"), ("sandwich", "sandwiches"), ("ticket", "tickets"), ("toy car", "toy cars"), ("plant", "plants"), ("scarf", "scarves")];

    private delegate MathProblem Template(Random random);

    private static readonly Template[] Templates = [BuyAndGiveAway, ChangeFromPurchase, PagesLeft, ShareEqually, SavingsGoal];

    /// <summary>The <paramref name="index"/>-th problem of the stream for <paramref name="seed"/>.</summary>
    public static MathProblem Problem(int index, int seed)
    {
        // System.Random with an explicit seed uses a fixed legacy algorithm, stable across .NET versions.
        var random = new Random(HashCode32(seed, index));
        return Templates[random.Next(Templates.Length)](random);
    }

    /// <summary>Problems 0..count-1 of the stream for <paramref name="seed"/>.</summary>
    public static IReadOnlyList<MathProblem> Generate(int count, int seed) =>
        Enumerable.Range(0, count).Select(i => Problem(i, seed)).ToList();

    /// <summary>
    /// Train/validation/test sets with no question text shared between them: problems are drawn in order
    /// from one stream and a question already used (identical wording) is skipped.
    /// </summary>
    public static Splits<MathProblem> Splits(int trainCount, int validationCount, int testCount, int seed)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var parts = new List<MathProblem>[] { [], [], [] };
        int[] wanted = [trainCount, validationCount, testCount];
        int part = 0;
        for (int index = 0; part < 3; index++)
        {
            while (part < 3 && parts[part].Count == wanted[part]) part++;
            if (part == 3) break;
            var problem = Problem(index, seed);
            if (seen.Add(problem.Question))
                parts[part].Add(problem);
        }
        return new Splits<MathProblem>(parts[0], parts[1], parts[2]);
    }

    [GeneratedRegex(@"####\s*(-?[0-9][0-9,]*)")]
    private static partial Regex FinalAnswerMarker();

    [GeneratedRegex(@"-?[0-9][0-9,]*")]
    private static partial Regex AnyNumber();

    /// <summary>
    /// The final answer in a model's output: the number after the first "####". If there is no marker
    /// and <paramref name="fallBackToLastNumber"/> is set, the last number in the text (lenient scoring).
    /// Thousands separators are accepted ("1,200" → 1200). Null when nothing parses.
    /// </summary>
    public static long? ExtractAnswer(string output, bool fallBackToLastNumber = false)
    {
        var marked = FinalAnswerMarker().Match(output);
        if (marked.Success)
            return ParseNumber(marked.Groups[1].Value);
        if (!fallBackToLastNumber)
            return null;
        var numbers = AnyNumber().Matches(output);
        return numbers.Count == 0 ? null : ParseNumber(numbers[^1].Value);
    }

    private static long? ParseNumber(string digits) =>
        long.TryParse(digits.Replace(",", "").TrimEnd(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value : null;

    private static int HashCode32(int seed, int index) => (int)(StableHash.UInt64($"math:{seed}:{index}") & 0x7FFFFFFF);

    private static T Pick<T>(Random random, T[] options) => options[random.Next(options.Length)];

    private static (string, string) TwoNames(Random random)
    {
        string first = Pick(random, Names);
        string second;
        do second = Pick(random, Names); while (second == first);
        return (first, second);
    }

    // ---- Templates. Each computes the answer with C# arithmetic and writes each step as "a op b = c". ----

    private static MathProblem BuyAndGiveAway(Random random)
    {
        var (name, friend) = TwoNames(random);
        string item = Pick(random, Items), container = Pick(random, Containers);
        int start = random.Next(2, 40), packs = random.Next(2, 9), perPack = random.Next(3, 13);
        int bought = packs * perPack, total = start + bought;
        int given = random.Next(1, total);
        int left = total - given;
        return new MathProblem(
            $"{name} has {start} {item}. {name} buys {packs} {container} with {perPack} {item} in each, then gives {given} {item} to {friend}. How many {item} does {name} have now?",
            $"{name} buys {packs} * {perPack} = {bought} {item}. Then {name} has {start} + {bought} = {total} {item}. After giving some away, {total} - {given} = {left}.",
            left);
    }

    private static MathProblem ChangeFromPurchase(Random random)
    {
        string name = Pick(random, Names);
        var good = Pick(random, Goods);
        var other = Pick(random, Goods.Where(g => g != good).ToArray());
        int count = random.Next(2, 7), price = random.Next(2, 15), otherCount = random.Next(1, 5), otherPrice = random.Next(3, 20);
        int cost = count * price, otherCost = otherCount * otherPrice, total = cost + otherCost;
        int paid = ((total / 10) + 1 + random.Next(0, 3)) * 10;
        int change = paid - total;
        return new MathProblem(
            $"{name} buys {count} {good.Many} costing ${price} each and {otherCount} {other.Many} costing ${otherPrice} each. {name} pays with ${paid}. How many dollars of change does {name} get?",
            $"The {good.Many} cost {count} * {price} = {cost} dollars. The {other.Many} cost {otherCount} * {otherPrice} = {otherCost} dollars. Together that is {cost} + {otherCost} = {total} dollars. The change is {paid} - {total} = {change}.",
            change);
    }

    private static MathProblem PagesLeft(Random random)
    {
        string name = Pick(random, Names);
        int firstRate = random.Next(5, 30), firstDays = random.Next(2, 8), secondRate = random.Next(5, 40), secondDays = random.Next(1, 6);
        int firstPages = firstRate * firstDays, secondPages = secondRate * secondDays, read = firstPages + secondPages;
        int bookPages = read + random.Next(1, 200);
        int left = bookPages - read;
        return new MathProblem(
            $"{name} is reading a book with {bookPages} pages. {name} reads {firstRate} pages a day for {firstDays} days and then {secondRate} pages a day for {secondDays} days. How many pages are left to read?",
            $"First {name} reads {firstRate} * {firstDays} = {firstPages} pages. Then {name} reads {secondRate} * {secondDays} = {secondPages} pages. That is {firstPages} + {secondPages} = {read} pages. Left to read: {bookPages} - {read} = {left}.",
            left);
    }

    private static MathProblem ShareEqually(Random random)
    {
        string name = Pick(random, Names);
        string item = Pick(random, Items);
        int trays = random.Next(2, 8), perTray = random.Next(4, 13), friends = random.Next(2, 7);
        int made = trays * perTray;
        // Eat just enough that the rest divides evenly, so the answer is an exact integer.
        int eaten = made % friends + friends * random.Next(0, 2);
        if (eaten >= made) eaten = made % friends;
        int rest = made - eaten, each = rest / friends;
        return new MathProblem(
            $"{name} fills {trays} trays with {perTray} {item} each. {name} keeps {eaten} {item} and shares the rest equally among {friends} friends. How many {item} does each friend get?",
            $"There are {trays} * {perTray} = {made} {item}. After keeping some, {made} - {eaten} = {rest} are left. Each friend gets {rest} / {friends} = {each}.",
            each);
    }

    private static MathProblem SavingsGoal(Random random)
    {
        string name = Pick(random, Names);
        string good = Pick(random, Goods).One;
        int weekly = random.Next(3, 25), weeks = random.Next(2, 10), saved = random.Next(0, 50);
        int earned = weekly * weeks, total = saved + earned;
        int price = random.Next(total + 1, total + 120);
        int missing = price - total;
        return new MathProblem(
            $"{name} has ${saved} saved and earns ${weekly} each week. After {weeks} weeks {name} wants to buy a {good} that costs ${price}. How many more dollars does {name} need?",
            $"{name} earns {weekly} * {weeks} = {earned} dollars. In total {name} has {saved} + {earned} = {total} dollars. {name} still needs {price} - {total} = {missing}.",
            missing);
    }
}
