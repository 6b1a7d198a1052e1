namespace LoraLab.Torch;

/// <summary>Device kinds, numbered as libtorch numbers them (c10::DeviceType).</summary>
public enum DeviceType
{
    CPU = 0,
    CUDA = 1,
}

/// <summary>Where a tensor lives: "cpu", "cuda" or "cuda:N".</summary>
public readonly record struct Device(DeviceType type, int index = -1)
{
    public static readonly Device CPU = new(DeviceType.CPU);
    public static readonly Device CUDA = new(DeviceType.CUDA);

    public static Device Parse(string text)
    {
        string s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        if (s == "cuda") return CUDA;
        if (s.StartsWith("cuda:") && int.TryParse(s.AsSpan(5), out int n) && n >= 0) return new Device(DeviceType.CUDA, n);
        throw new ArgumentException($"'{text}' is not a device; use \"cpu\", \"cuda\" or \"cuda:N\"");
    }

    public static implicit operator Device(string text) => Parse(text);

    public bool is_cuda => type == DeviceType.CUDA;

    public override string ToString() =>
        type == DeviceType.CPU ? "cpu" : index < 0 ? "cuda" : $"cuda:{index}";
}
