using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Modules;

/// <summary>A lookup table of num_embeddings vectors of size embedding_dim; weight ~ N(0, std²) (1 as in PyTorch by default).</summary>
public sealed class Embedding : Module
{
    public Embedding(long num_embeddings, long embedding_dim, double std = 1.0, ScalarType? dtype = null, Device? device = null)
    {
        RegisterParameter("weight", torch.empty(new[] { num_embeddings, embedding_dim }, dtype, device).normal_(0, std));
    }

    public Tensor weight => Param("weight");

    public Tensor forward(Tensor indices) => F.embedding(indices, weight);
}
