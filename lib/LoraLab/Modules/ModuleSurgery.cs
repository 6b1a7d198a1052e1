using System.Collections;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Modules;

/// <summary>
/// Puts one module in another's place inside a model, the way PyTorch's setattr(parent, name, new) does. TorchSharp has
/// no such operation (register_module refuses an existing name), and a model reaches its children through its own
/// fields or a container's list, so both must change: the child registry (what named_modules and state_dict see) and
/// the reference the parent's forward uses.
/// </summary>
public static class ModuleSurgery
{
    private static readonly FieldInfo Submodules =
        typeof(nn.Module).GetField("_internal_submodules", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new MissingFieldException("TorchSharp's nn.Module no longer has _internal_submodules: LoraLab needs updating for this TorchSharp");

    /// <summary>
    /// Replaces the child <paramref name="name"/> of <paramref name="parent"/> with what <paramref name="makeReplacement"/>
    /// makes (called only when the replacement can be done), and says whether it could. It can when the parent is a Sequential, a ModuleList or a ModuleDict whose element type admits
    /// the replacement, or when every field of the parent that holds the child is of a type that admits it (a field
    /// typed Module&lt;Tensor, Tensor&gt;, say). It cannot when such a field is typed more narrowly (TorchSharp's Linear is
    /// sealed), or when no field holds the child (the parent's forward reaches it some other way): then nothing changes.
    /// </summary>
    public static bool TryReplace<T>(nn.Module parent, string name, Func<T> makeReplacement) where T : nn.Module
    {
        if (!CanReplace(parent, name, typeof(T))) return false;
        Replace(parent, name, makeReplacement());
        return true;
    }

    /// <summary>Whether <see cref="TryReplace{T}"/> would succeed, without changing anything.</summary>
    public static bool CanReplace(nn.Module parent, string name, Type replacementType) => Plan(parent, name, replacementType) is not null;

    private static void Replace(nn.Module parent, string name, nn.Module replacement) => Plan(parent, name, replacement.GetType())!(replacement);

    // What replacing would take, as an action; null where it cannot be done.
    private static Action<nn.Module>? Plan(nn.Module parent, string name, Type replacementType)
    {
        var old = parent.named_children().Where(c => c.name == name).Select(c => c.module).FirstOrDefault()
                  ?? throw new ArgumentException($"{parent.GetType().Name} has no child module '{name}'", nameof(name));
        if (parent is Sequential sequential) return SequentialPlan(sequential, name, replacementType);
        if (IsGeneric(parent, typeof(ModuleList<>), out var listElement))
        {
            if (!listElement.IsAssignableFrom(replacementType) || !int.TryParse(name, out int index)) return null;
            return replacement => { SetItem(parent, index, replacement); Register(parent, name, replacement); };
        }
        if (IsGeneric(parent, typeof(ModuleDict<>), out var dictElement))
        {
            if (!dictElement.IsAssignableFrom(replacementType)) return null;
            return replacement => { SetItem(parent, name, replacement); Register(parent, name, replacement); };
        }
        var holders = Fields(parent.GetType()).Where(f => ReferenceEquals(f.GetValue(parent), old)).ToList();
        if (holders.Count == 0 || holders.Any(f => !f.FieldType.IsAssignableFrom(replacementType))) return null;
        return replacement =>
        {
            foreach (var field in holders) field.SetValue(parent, replacement);
            Register(parent, name, replacement);
        };
    }

    /// <summary>The fields of a type and its base types up to TorchSharp's own module classes.</summary>
    public static IEnumerable<FieldInfo> Fields(Type type)
    {
        for (var t = type; t is not null && t.Assembly != typeof(nn.Module).Assembly; t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                yield return f;
    }

    private static void Register(nn.Module parent, string name, nn.Module replacement)
    {
        var registry = (IDictionary<string, nn.Module>)Submodules.GetValue(parent)!;
        registry[name] = replacement;
    }

    // A Sequential keeps its children in private lists (and runs them through call()); the element type is
    // IModule<Tensor, Tensor>.
    private static Action<nn.Module>? SequentialPlan(Sequential sequential, string name, Type replacementType)
    {
        if (!typeof(nn.IModule<Tensor, Tensor>).IsAssignableFrom(replacementType)) return null;
        var modules = typeof(Sequential).GetField("_modules", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(sequential) as IList;
        var names = typeof(Sequential).GetField("_names", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(sequential) as IList<string>;
        int index = names?.IndexOf(name) ?? -1;
        if (modules is null || index < 0) return null;
        return replacement => modules[index] = replacement;
    }

    // The container's indexer (this[int] of ModuleList<T>, this[string] of ModuleDict<T>), which updates its own list.
    private static void SetItem(nn.Module container, object key, nn.Module value) =>
        container.GetType().GetProperty("Item", new[] { key.GetType() })!.SetValue(container, value, new[] { key });

    private static bool IsGeneric(nn.Module module, Type definition, out Type element)
    {
        for (var t = module.GetType(); t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericTypeDefinition() == definition)
            {
                element = t.GetGenericArguments()[0];
                return true;
            }
        element = typeof(void);
        return false;
    }
}
