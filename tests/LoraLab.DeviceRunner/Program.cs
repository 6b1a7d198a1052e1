// A minimal xunit-compatible runner for machines without the dotnet SDK (the lent GPU machine).
// It finds [Fact] and [Theory] methods (with [InlineData] or [MemberData] rows) in the given test
// assemblies, honours Skip (so CUDA tests run exactly where a GPU is visible), runs each on a fresh
// instance (a test class may take an ITestOutputHelper, which writes to the console), and prints
// one line per test and a closing "N passed, N failed, N skipped".
//
//   LoraLab.DeviceRunner [assembly-name ...] [--filter text]   (default: LoraLab.Tests)
//   LoraLab.DeviceRunner bench [options]        (./lab bench: LoraLab against Python PyTorch, tests/LoraLab.Benchmarks)
//   LoraLab.DeviceRunner bench train [options]  (the training benchmark, tests/LoraLab.Benchmarks/TrainBenchmark.cs)
using System.Diagnostics;
using System.Reflection;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

if (args.FirstOrDefault() == "bench")
{
    var benchmark = Assembly.Load("LoraLab.Benchmarks").EntryPoint!;
    var status = benchmark.Invoke(null, new object[] { args.Skip(1).ToArray() });
    return status as int? ?? Environment.ExitCode;   // the benchmark's status (1: a LoraLab case failed; 2: a bad argument)
}

var names = args.TakeWhile(a => a != "--filter").ToList();
string? filter = args.SkipWhile(a => a != "--filter").Skip(1).FirstOrDefault();
if (names.Count == 0) names.Add("LoraLab.Tests");

int passed = 0, failed = 0, skipped = 0;
foreach (var name in names)
{
    var assembly = Assembly.Load(name);
    foreach (var type in assembly.GetTypes().Where(t => t.IsClass && t.IsPublic && !t.IsAbstract).OrderBy(t => t.FullName))
    {
        // xunit's class fixtures (IClassFixture<T>): made when the class's first test runs, shared by its tests, disposed after.
        using var fixtures = new ClassFixtures(type);
        foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<FactAttribute>() is not null).OrderBy(m => m.Name))
        {
            string id = $"{type.Name}.{method.Name}";
            if (filter is not null && !id.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            var fact = method.GetCustomAttribute<FactAttribute>()!;
            if (fact.Skip is not null)
            {
                skipped++;
                Console.WriteLine($"SKIP {id}: {fact.Skip}");
                continue;
            }
            foreach (var arguments in Cases(method))
            {
                string label = arguments.Length == 0 ? id : $"{id}({string.Join(", ", arguments)})";
                var clock = Stopwatch.StartNew();
                try
                {
                    object? instance = method.IsStatic ? null : NewInstance(type, label, fixtures);
                    var result = method.Invoke(instance, arguments);
                    if (result is Task task) task.GetAwaiter().GetResult();
                    (instance as IDisposable)?.Dispose();
                    passed++;
                    Console.WriteLine($"PASS {label} ({clock.ElapsedMilliseconds} ms)");
                }
                catch (Exception e)
                {
                    failed++;
                    var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
                    Console.WriteLine($"FAIL {label}: {inner.GetType().Name}: {inner.Message}");
                }
            }
        }
    }
}
Console.WriteLine();
Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
return failed == 0 ? 0 : 1;

// The argument lists of a test: one empty list for a [Fact], each [InlineData] or [MemberData] row for a [Theory].
static IEnumerable<object?[]> Cases(MethodInfo method)
{
    var rows = method.GetCustomAttributes<DataAttribute>().SelectMany(d => d.GetData(method)).ToList();
    return rows.Count > 0 ? rows : new List<object?[]> { Array.Empty<object?>() };
}

// A fresh instance of a test class: a constructor whose parameters are all an ITestOutputHelper or a class fixture.
static object NewInstance(Type type, string test, ClassFixtures fixtures)
{
    foreach (var constructor in type.GetConstructors().OrderBy(c => c.GetParameters().Length))
    {
        var parameters = constructor.GetParameters();
        if (!parameters.All(p => p.ParameterType == typeof(ITestOutputHelper) || fixtures.Has(p.ParameterType))) continue;
        return constructor.Invoke(parameters.Select(p => p.ParameterType == typeof(ITestOutputHelper) ? new ConsoleOutput(test) : fixtures.Get(p.ParameterType)).ToArray());
    }
    throw new InvalidOperationException($"{type.Name} has no constructor this runner can call (parameters other than ITestOutputHelper and its class fixtures)");
}

// The fixtures a test class declares with IClassFixture<T>: each made once, on first use, and disposed with the class.
sealed class ClassFixtures(Type testClass) : IDisposable
{
    private readonly HashSet<Type> declared = testClass.GetInterfaces()
        .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IClassFixture<>)).Select(i => i.GetGenericArguments()[0]).ToHashSet();
    private readonly Dictionary<Type, object> made = new();

    public bool Has(Type type) => declared.Contains(type);

    public object Get(Type type) => made.TryGetValue(type, out var fixture) ? fixture : made[type] = Activator.CreateInstance(type)!;

    public void Dispose()
    {
        foreach (var fixture in made.Values) (fixture as IDisposable)?.Dispose();
    }
}

// ITestOutputHelper for the runner: each line goes to the console, after the test's name.
sealed class ConsoleOutput(string test) : ITestOutputHelper
{
    public void WriteLine(string message) => Console.WriteLine($"  {test}: {message}");
    public void WriteLine(string format, params object[] args) => WriteLine(string.Format(format, args));
}
