using System.Text.RegularExpressions;

namespace LoraLab.Torch.Tests;

/// <summary>
/// The shim's grouped entry points take an operation code; C# sends the value of an enum in Native/OpCodes.cs and C++
/// switches on an enum in shim/math.cpp. Nothing but this test ties the two lists together: one op added in the middle
/// of one list would silently run a different op.
/// </summary>
public class OpCodeTests
{
    // C# enum (LoraLab.Torch.Native) → C++ enum (shim/math.cpp).
    public static TheoryData<string, string> Families => new()
    {
        { "UnaryOp", "Unary" }, { "BinaryOp", "Binary" }, { "ScalarOp", "Scalar" },
        { "InPlaceOp", "InPlace" }, { "InPlaceScalarOp", "InPlaceScalar" }, { "ReduceOp", "Reduce" },
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void The_CSharp_op_codes_and_the_shims_enum_list_the_same_ops_in_the_same_order(string csharpEnum, string cppEnum)
    {
        var type = typeof(Tensor).Assembly.GetType("LoraLab.Torch.Native." + csharpEnum)
                   ?? throw new InvalidOperationException($"enum LoraLab.Torch.Native.{csharpEnum} not found");
        // GetValues is in value order; the codes must also be 0, 1, 2, ... as C++ numbers them.
        var values = Enum.GetValues(type).Cast<object>().Select(Convert.ToInt32).ToList();
        Assert.Equal(Enumerable.Range(0, values.Count), values);
        var csharp = Enum.GetValues(type).Cast<object>().Select(v => Normalize(v.ToString()!)).ToList();

        var cpp = CppEnum(File.ReadAllText(MathCpp()), cppEnum);
        Assert.Equal(cpp, csharp);
    }

    [Fact]
    public void The_enum_parser_reads_names_in_order_and_drops_a_shared_prefix()
    {
        const string source = "enum Other { A };\nenum Scalar { S_ADD, S_RSUB,\n  S_CLAMP_MIN };\nenum Unary { NEG, GELU_TANH };";
        Assert.Equal(new[] { "ADD", "RSUB", "CLAMPMIN" }, CppEnum(source, "Scalar"));
        Assert.Equal(new[] { "NEG", "GELUTANH" }, CppEnum(source, "Unary"));
        Assert.Throws<InvalidOperationException>(() => CppEnum(source, "Reduce"));
    }

    // The enumerator names of `enum NAME { ... };`, with the prefix every name shares (S_, IS_, R_) removed.
    private static List<string> CppEnum(string source, string name)
    {
        var match = Regex.Match(source, $@"\benum\s+{name}\s*\{{(?<body>[^}}]*)\}}");
        if (!match.Success) throw new InvalidOperationException($"enum {name} not found in shim/math.cpp");
        var names = match.Groups["body"].Value.Split(',').Select(n => n.Split('=')[0].Trim()).Where(n => n != "").ToList();
        int underscore = names[0].IndexOf('_');
        string prefix = underscore < 0 ? "" : names[0][..(underscore + 1)];
        if (prefix != "" && names.All(n => n.StartsWith(prefix, StringComparison.Ordinal)))
            names = names.Select(n => n[prefix.Length..]).ToList();
        return names.Select(Normalize).ToList();
    }

    // GeluTanh and GELU_TANH, LogSumExp and LOGSUMEXP are the same op.
    private static string Normalize(string name) => name.Replace("_", "").ToUpperInvariant();

    private static string MathCpp()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string path = Path.Combine(folder.FullName, "lib", "LoraLab.Torch", "shim", "math.cpp");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("lib/LoraLab.Torch/shim/math.cpp not found above " + AppContext.BaseDirectory);
    }
}
