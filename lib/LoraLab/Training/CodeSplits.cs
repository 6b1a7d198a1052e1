using LoraLab.Data;
using LoraLab.Data.Corpora;
using LoraLab.Data.Tokenization;

namespace LoraLab.Training;

/// <summary>
/// The code domain of the workbook (notebooks 01, 03 and 04): lodash's module files split by file, 80% to train on, 10%
/// for validation and 10% for test (<see cref="DatasetSplit.ByGroup{T}"/>, seed 0, the same on every machine), each split
/// encoded with a base model's tokenizer as one token stream, the files joined by &lt;|endoftext|&gt;. A held-out file was
/// never seen in training, so the held-out losses measure the code, not memorized windows of it.
/// </summary>
public sealed record CodeSplits(Splits<TextDocument> Files, int[] Train, int[] Validation, int[] Test)
{
    public static CodeSplits Encode(DataRoot corpora, BpeTokenizer tokenizer)
    {
        var files = DatasetSplit.ByGroup(LodashCorpus.Load(corpora), d => d.Id, _ => "code", seed: 0, validationFraction: 0.1, testFraction: 0.1);
        int[] Stream(IEnumerable<TextDocument> documents) => documents.SelectMany(d => tokenizer.Encode(d.Text).Append(tokenizer.EndOfTextId)).ToArray();
        return new CodeSplits(files, Stream(files.Train), Stream(files.Validation), Stream(files.Test));
    }
}
