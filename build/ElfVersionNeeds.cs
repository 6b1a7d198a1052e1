// TorchSharp's prebuilt libLibTorchSharp.so (0.107) was linked against libstdc++ 13 and so asks for the symbol
// version GLIBCXX_3.4.32, for a single symbol: _ZSt21ios_base_library_initv, an anchor that GCC 13's <iostream>
// references so that the library initializing std::cout is linked in; nothing calls it. Debian 12's libstdc++ (GCC 12)
// stops at GLIBCXX_3.4.30, so the dynamic loader refuses the whole library. Marking that one version requirement weak
// (VER_FLG_WEAK in the library's .gnu.version_r section) turns the refusal into nothing at all: the loader accepts a
// missing weak version, and the anchor symbol is never bound because it is never called.
//
// This file is compiled twice: by MSBuild as an inline task (see TorchSharpNative.targets), which patches the copy of
// the library in a project's build output, and by tests/LoraLab.Build.Tests, which checks it on the real library.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace LoraLab.Build
{
    /// <summary>The symbol-version sections of a 64-bit little-endian ELF shared library, read and (for one flag) written.</summary>
    public sealed class ElfVersionNeeds
    {
        private const uint SHT_DYNSYM = 11, SHT_GNU_verdef = 0x6ffffffd, SHT_GNU_verneed = 0x6ffffffe, SHT_GNU_versym = 0x6fffffff;
        public const ushort VER_FLG_WEAK = 0x2;

        /// <summary>One version a library needs from another: "GLIBCXX_3.4.32" from "libstdc++.so.6".</summary>
        public sealed class Need
        {
            public Need(string library, string version, ushort flags, ushort index, long flagsOffset)
            {
                this.library = library; this.version = version; this.flags = flags; this.index = index; this.flagsOffset = flagsOffset;
            }
            public string library { get; }
            public string version { get; }
            public ushort flags { get; }
            /// <summary>The version's index in .gnu.version (vna_other), which binds symbols to it.</summary>
            public ushort index { get; }
            public long flagsOffset { get; }
            public bool weak => (flags & VER_FLG_WEAK) != 0;
        }

        private readonly byte[] bytes;
        private readonly List<(uint type, long offset, long size, uint link, uint info)> sections = new();

        public string path { get; }
        public IReadOnlyList<Need> needs { get; }
        /// <summary>The versions this library defines (a library such as libstdc++.so.6: GLIBCXX_3.4 … GLIBCXX_3.4.30).</summary>
        public IReadOnlyList<string> definitions { get; }

        private ElfVersionNeeds(string path, byte[] bytes)
        {
            this.path = path;
            this.bytes = bytes;
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
                throw new InvalidDataException($"{path} is not an ELF file");
            if (bytes[4] != 2 || bytes[5] != 1) throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file");
            ulong shoff = U64(0x28);
            int shentsize = U16(0x3A), shnum = U16(0x3C);
            // Compared as unsigned and before adding, so that a huge offset can neither wrap around nor pass as negative.
            if (shoff == 0 || shentsize < 64 || shoff > (ulong)bytes.Length || (ulong)shentsize * (ulong)shnum > (ulong)bytes.Length - shoff)
                throw new InvalidDataException($"{path} has no readable section headers");
            for (int i = 0; i < shnum; i++)
            {
                long h = (long)shoff + (long)i * shentsize;
                sections.Add((U32(h + 4), (long)U64(h + 0x18), (long)U64(h + 0x20), U32(h + 0x28), U32(h + 0x2C)));
            }
            // The sections read here, and the ones they link to (names, symbols), must lie within the file: from a damaged
            // header, an offset past 2^63 reads as negative and would make some other part of the file pass for symbols.
            foreach (var s in sections.Where(s => s.type is SHT_DYNSYM or SHT_GNU_verdef or SHT_GNU_verneed or SHT_GNU_versym))
            {
                if (s.link >= sections.Count) throw Truncated();
                WithinFile(s.offset, s.size);
                WithinFile(sections[(int)s.link].offset, sections[(int)s.link].size);
            }
            void WithinFile(long offset, long size)
            {
                if (offset < 0 || size < 0 || offset > bytes.Length || size > bytes.Length - offset) throw Truncated();
            }
            needs = ReadNeeds();
            definitions = ReadDefinitions();
        }

        public static ElfVersionNeeds Read(string path) => new(path, File.ReadAllBytes(path));

        private List<Need> ReadNeeds()
        {
            var result = new List<Need>();
            foreach (var s in sections.Where(s => s.type == SHT_GNU_verneed))
            {
                long entry = s.offset;
                for (uint n = 0; n < s.info; n++)
                {
                    ushort count = U16(entry + 2);
                    string library = String(s.link, U32(entry + 4));
                    long aux = entry + U32(entry + 8);
                    for (int a = 0; a < count; a++)
                    {
                        result.Add(new Need(library, String(s.link, U32(aux + 8)), U16(aux + 4), U16(aux + 6), aux + 4));
                        aux += U32(aux + 12);
                    }
                    uint next = U32(entry + 12);
                    if (next == 0) break;
                    entry += next;
                }
            }
            return result;
        }

        private List<string> ReadDefinitions()
        {
            var result = new List<string>();
            foreach (var s in sections.Where(s => s.type == SHT_GNU_verdef))
            {
                long entry = s.offset;
                for (uint n = 0; n < s.info; n++)
                {
                    ushort flags = U16(entry + 2);
                    if ((flags & 0x1) == 0) result.Add(String(s.link, U32(entry + U32(entry + 12))));   // not VER_FLG_BASE (the soname)
                    uint next = U32(entry + 16);
                    if (next == 0) break;
                    entry += next;
                }
            }
            return result;
        }

        /// <summary>The undefined dynamic symbols bound to a needed version (by the version's index in .gnu.version).</summary>
        public IReadOnlyList<string> SymbolsNeeding(Need need)
        {
            var dynsym = sections.FirstOrDefault(s => s.type == SHT_DYNSYM);
            var versym = sections.FirstOrDefault(s => s.type == SHT_GNU_versym);
            if (dynsym.size == 0 || versym.size == 0) return Array.Empty<string>();
            var result = new List<string>();
            long count = dynsym.size / 24;
            for (long i = 0; i < count; i++)
            {
                if ((U16(versym.offset + 2 * i) & 0x7fff) != need.index) continue;
                long sym = dynsym.offset + 24 * i;
                if (U16(sym + 6) != 0) continue;   // st_shndx: defined here, not needed from elsewhere
                result.Add(String(dynsym.link, U32(sym)));
            }
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on the given needs, in memory; Save writes the result.</summary>
        public void MarkWeak(IEnumerable<Need> toWeaken)
        {
            foreach (var need in toWeaken)
            {
                ushort flags = (ushort)(U16(need.flagsOffset) | VER_FLG_WEAK);
                bytes[need.flagsOffset] = (byte)flags;
                bytes[need.flagsOffset + 1] = (byte)(flags >> 8);
            }
        }

        /// <summary>Writes the bytes to a new file and moves it over `target`, so a hard link there (to the NuGet
        /// cache, say) is replaced, never written through. The new file keeps the mode (executable bits) and the
        /// modification time of the file that was read: MSBuild's incremental copy compares a package file's size and
        /// time with the output's, so a patched output still counts as up to date, and is not copied and patched again
        /// on every build.</summary>
        public void Save(string target)
        {
            string temporary = target + ".patching-" + Guid.NewGuid().ToString("N");
            try
            {
                File.Copy(path, temporary);   // a copy keeps the file's mode
                File.WriteAllBytes(temporary, bytes);
                File.SetLastWriteTimeUtc(temporary, File.GetLastWriteTimeUtc(path));
                File.Replace(temporary, target, null);
            }
            finally { if (File.Exists(temporary)) File.Delete(temporary); }
        }

        // Offsets come from the file: a section offset past 2^63 reads as a negative long, so both ends are checked.
        private ushort U16(long at) => at >= 0 && at + 2 <= bytes.Length ? BitConverter.ToUInt16(bytes, (int)at) : throw Truncated();
        private uint U32(long at) => at >= 0 && at + 4 <= bytes.Length ? BitConverter.ToUInt32(bytes, (int)at) : throw Truncated();
        private ulong U64(long at) => at >= 0 && at + 8 <= bytes.Length ? BitConverter.ToUInt64(bytes, (int)at) : throw Truncated();
        private InvalidDataException Truncated() => new($"{path} is truncated or its sections point outside it");

        private string String(uint stringSection, uint offset)
        {
            if (stringSection >= sections.Count) throw Truncated();
            long start = sections[(int)stringSection].offset + offset, end = start;
            if (start < 0) throw Truncated();
            while (end < bytes.Length && bytes[end] != 0) end++;
            if (end >= bytes.Length) throw Truncated();
            return Encoding.ASCII.GetString(bytes, (int)start, (int)(end - start));
        }
    }

    /// <summary>What to do about a library's needs from libstdc++ on this system: the decision, apart from the I/O.</summary>
    public static class GlibcxxCompatibility
    {
        /// <summary>Symbols known to be link-time anchors that are never called: a missing version that only they need
        /// can be made weak. GCC 13's &lt;iostream&gt; references std::ios_base_library_init() (GLIBCXX_3.4.32).</summary>
        public static readonly string[] NeverCalled = { "_ZSt21ios_base_library_initv" };

        public sealed class Plan
        {
            public Plan(IReadOnlyList<ElfVersionNeeds.Need> weaken, IReadOnlyList<string> blocking) { this.weaken = weaken; this.blocking = blocking; }
            /// <summary>Needs to mark weak: only never-called anchors ask for them. None while anything is blocking.</summary>
            public IReadOnlyList<ElfVersionNeeds.Need> weaken { get; }
            /// <summary>Missing versions that real symbols need, each with some of those symbols.</summary>
            public IReadOnlyList<string> blocking { get; }
        }

        /// <summary>
        /// The libstdc++ versions `library` needs that `systemLibstdcxx` does not define: those needed only by never-called
        /// anchors are to be weakened; any other is blocking (a real symbol is missing: the library cannot run here).
        /// A library with a blocking need is left as it is: weakening its other needs would not make it load.
        /// </summary>
        public static Plan Decide(ElfVersionNeeds library, IReadOnlyCollection<string> systemDefinitions)
        {
            var weaken = new List<ElfVersionNeeds.Need>();
            var blocking = new List<string>();
            foreach (var need in library.needs.Where(n => n.library.StartsWith("libstdc++.so", StringComparison.Ordinal)))
            {
                if (need.weak || systemDefinitions.Contains(need.version)) continue;
                var symbols = library.SymbolsNeeding(need);
                var real = symbols.Where(s => !NeverCalled.Contains(s)).ToList();
                if (real.Count == 0) weaken.Add(need);
                else blocking.Add($"{need.version} (for {string.Join(", ", real.Take(3))}{(real.Count > 3 ? $" and {real.Count - 3} more" : "")})");
            }
            return blocking.Count > 0 ? new Plan(Array.Empty<ElfVersionNeeds.Need>(), blocking) : new Plan(weaken, blocking);
        }

        /// <summary>The libstdc++ the dynamic loader gives this process (the one a .NET process on this machine gets):
        /// read from /proc/self/maps, else the usual multiarch paths.</summary>
        public static string? SystemLibstdcxx()
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/maps"))
                {
                    int slash = line.IndexOf('/');
                    if (slash < 0 || !line.Contains("/libstdc++.so")) continue;
                    // A library upgraded since this process mapped it (a long-lived MSBuild node) reads "... (deleted)".
                    string mapped = line.Substring(slash).Trim();
                    if (File.Exists(mapped)) return mapped;
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            foreach (var candidate in new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
                                              "/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
                if (File.Exists(candidate)) return candidate;
            return null;
        }
    }

    /// <summary>
    /// MSBuild task: where this system's libstdc++ lacks a version that TorchSharp's native library asks for only for a
    /// never-called anchor, marks that need weak in the copy at Library (the build output; never the NuGet cache) and
    /// says so. A missing version that a real symbol needs is reported as a warning naming it, and nothing is changed.
    /// </summary>
    public sealed class WeakenGlibcxxNeeds : Microsoft.Build.Utilities.Task   // qualified: ImplicitUsings brings System.Threading.Tasks.Task
    {
        [Required] public string Library { get; set; } = "";

        public override bool Execute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || !File.Exists(Library)) return true;
            string? system = GlibcxxCompatibility.SystemLibstdcxx();
            if (system is null)
            {
                Log.LogWarning($"LoraLab: no libstdc++.so.6 found on this system; {Path.GetFileName(Library)} may not load");
                return true;
            }
            try
            {
                var library = ElfVersionNeeds.Read(Library);
                var plan = GlibcxxCompatibility.Decide(library, ElfVersionNeeds.Read(system).definitions);
                if (plan.blocking.Count > 0)
                    Log.LogWarning($"LoraLab: {Library} needs {string.Join("; ", plan.blocking)} from libstdc++, which {system} lacks: " +
                                   "it will not load here. Install a newer libstdc++ (GCC 13 or later).");
                else if (plan.weaken.Count > 0)
                {
                    library.MarkWeak(plan.weaken);
                    library.Save(Library);
                    Log.LogMessage(MessageImportance.High,
                        $"LoraLab: {system} lacks {string.Join(", ", plan.weaken.Select(n => n.version))}; marked that need weak in {Library} " +
                        $"(only {string.Join(", ", GlibcxxCompatibility.NeverCalled)}, which is never called, asks for it)");
                }
                return true;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                Log.LogWarning($"LoraLab: could not check {Library} against {system}: {e.Message}");
                return true;
            }
        }
    }
}
