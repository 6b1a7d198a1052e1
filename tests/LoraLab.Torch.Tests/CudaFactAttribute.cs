using LoraLab.Torch;

namespace LoraLab.Torch.Tests;

/// <summary>A test that needs a CUDA device: skipped, with the reason shown, where there is none.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!torch.cuda.is_available())
            Skip = torch.cuda.is_cuda_build()
                ? "needs a CUDA device: this libtorch is a CUDA build but sees no GPU"
                : "needs a CUDA device: this libtorch is a CPU build (run tests/gpu/run-on-gpu.sh on a GPU machine)";
    }
}
