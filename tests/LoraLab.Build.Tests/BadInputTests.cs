using System.Buffers.Binary;
using LoraLab.Build;

namespace LoraLab.Build.Tests;

/// <summary>A file that is not a sound 64-bit little-endian ELF library is an InvalidDataException naming it, whatever is wrong
/// with it: never an index or argument exception, never a hang. The build step turns that exception into a warning.</summary>
public sealed class BadInputTests
{
    private static byte[] Original => File.ReadAllBytes(TestPaths.CachedLibrary);

    /// <summary>A section header's fields, found the way the ELF header says (offsets of Elf64_Ehdr and Elf64_Shdr).</summary>
    private static int SectionHeader(byte[] bytes, uint type)
    {
        long shoff = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3A)), shnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3C));
        for (int i = 0; i < shnum; i++)
        {
            int header = (int)shoff + i * shentsize;
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(header + 4)) == type) return header;
        }
        throw new InvalidOperationException($"no section of type {type:x}");
    }

    private const uint DynSym = 11, VerNeed = 0x6ffffffe, VerSym = 0x6fffffff;
    private const int ShLink = 0x28, ShOffset = 0x18, ShSize = 0x20;

    private static byte[] With(Action<byte[]> change)
    {
        byte[] bytes = Original;
        change(bytes);
        return bytes;
    }

    private static void Put64(byte[] bytes, int at, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value);
    private static void Put32(byte[] bytes, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
    private static int VerneedStart(byte[] bytes) => (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(SectionHeader(bytes, VerNeed) + ShOffset));

    public static TheoryData<string> Cases => new(BadFiles.Keys);

    private static readonly Dictionary<string, Func<byte[]>> BadFiles = new()
    {
        ["not ELF"] = () => "#!/bin/sh\necho this is not a library\n"u8.ToArray(),
        ["empty"] = () => [],
        ["first 1000 bytes"] = () => Original[..1000],
        ["cut in the middle of the section headers"] = () =>
        {
            byte[] bytes = Original;
            long shoff = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(0x28));
            int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3A)), shnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(0x3C));
            return bytes[..(int)(shoff + shentsize * shnum / 2)];
        },
        ["32-bit header"] = () => With(b => b[4] = 1),
        ["big-endian header"] = () => With(b => b[5] = 2),
        ["ELF magic alone"] = () => Original[..4],
        ["section header size too small"] = () => With(b => b[0x3A] = 32),
        ["section headers past 2^63"] = () => With(b => Put64(b, 0x28, 0xFFFF_FFFF_FFFF_FF00)),
        ["section headers near 2^63 (the end wraps around)"] = () => With(b => Put64(b, 0x28, 0x7FFF_FFFF_FFFF_FFF0)),
        ["version needs past the end"] = () => With(b => Put64(b, SectionHeader(b, VerNeed) + ShOffset, (ulong)b.Length + 16)),
        ["version needs past 2^63"] = () => With(b => Put64(b, SectionHeader(b, VerNeed) + ShOffset, 0xFFFF_FFFF_FFFF_FF00)),
        ["version needs' string section out of range"] = () => With(b => Put32(b, SectionHeader(b, VerNeed) + ShLink, 9999)),
        ["version needs' strings past 2^63"] = () => With(b =>
        {
            int strings = SectionHeader(b, VerNeed) + ShLink;
            int header = (int)BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(0x28)) + 64 * (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(strings));
            Put64(b, header + ShOffset, 0x8000_0000_0000_0000);
        }),
        ["a library name past the end"] = () => With(b => Put32(b, VerneedStart(b) + 4, 0xFFFF_FFF0)),
        ["the first version's entry past the end"] = () => With(b => Put32(b, VerneedStart(b) + 8, 0xFFFF_FFF0)),
        ["the next library's entry past the end"] = () => With(b => Put32(b, VerneedStart(b) + 12, 0xFFFF_FFF0)),
        ["symbols past 2^63"] = () => With(b => Put64(b, SectionHeader(b, DynSym) + ShOffset, 0xFFFF_FFFF_FFFF_FF00)),
        ["symbols past the end"] = () => With(b => Put64(b, SectionHeader(b, DynSym) + ShOffset, (ulong)b.Length - 24)),
        ["symbol versions past 2^63"] = () => With(b => Put64(b, SectionHeader(b, VerSym) + ShOffset, 0xFFFF_FFFF_FFFF_FF00)),
        ["symbol table larger than the file"] = () => With(b => Put64(b, SectionHeader(b, DynSym) + ShSize, (ulong)b.Length * 24)),
    };

    [TheoryNeeding(Needs.Library)]
    [MemberData(nameof(Cases))]
    public void IsAnInvalidDataExceptionNamingTheFile(string @case)
    {
        using var temp = new TempFolder();
        string path = Path.Combine(temp.Path, "libLibTorchSharp.so");
        File.WriteAllBytes(path, BadFiles[@case]());

        // All the reading a build does: the needs, and (in Decide, with no libstdc++ versions at all) the symbols of each.
        var error = Assert.Throws<InvalidDataException>(() => GlibcxxCompatibility.Decide(ElfVersionNeeds.Read(path), Array.Empty<string>()));
        Assert.Contains(path, error.Message);
    }
}
