using LoraLab.Torch;
using F = LoraLab.Torch.torch.nn.functional;

namespace LoraLab.Torch.Tests;

/// <summary>Bad input throws a managed exception with a clear message, and the process goes on.</summary>
public class BadInputTests
{
    [Fact]
    public void Matmul_of_mismatched_shapes_names_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => torch.randn(2, 3).matmul(torch.randn(4, 5)));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 5]", e.Message);
        Assert.Contains("matmul", e.Message);
        // The process goes on, and the next operation works.
        Assert.Equal(new long[] { 2, 5 }, torch.randn(2, 4).matmul(torch.randn(4, 5)).shape);
    }

    [Fact]
    public void Broadcasting_failure_names_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => torch.randn(2, 3) + torch.randn(4));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void Embedding_with_float_indices_is_rejected()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => F.embedding(torch.randn(3), torch.randn(5, 2)));
        Assert.Contains("Float", e.Message);
    }

    [Fact]
    public void Cross_entropy_with_a_class_out_of_range_is_rejected()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<TorchException>(() => F.cross_entropy(torch.randn(2, 3), torch.tensor(new long[] { 0, 7 })));
    }

    [Fact]
    public void Reading_data_as_the_wrong_type_is_rejected()
    {
        using var t = torch.zeros(3);
        var e = Assert.Throws<ArgumentException>(() => t.data<double>());
        Assert.Contains("Float32", e.Message);
    }

    [Fact]
    public void A_view_to_an_incompatible_shape_is_rejected()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => torch.zeros(6).view(4, 2));
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void Too_few_values_for_a_shape_is_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => torch.tensor(new float[] { 1, 2, 3 }, new long[] { 2, 2 }));
        Assert.Contains("[2, 2]", e.Message);
    }

    [Fact]
    public void A_disposed_tensor_cannot_be_used()
    {
        var t = torch.ones(2);
        t.Dispose();
        t.Dispose();   // disposing twice is harmless
        var e = Assert.Throws<ObjectDisposedException>(() => t + 1.0);
        Assert.Contains("disposed", e.Message);
        Assert.Equal("Tensor(disposed)", t.ToString());
    }

    [Fact]
    public void A_tensor_freed_by_its_scope_cannot_be_used()
    {
        Tensor escaped;
        using (torch.NewDisposeScope()) escaped = torch.ones(2);
        Assert.Throws<ObjectDisposedException>(() => escaped.sum());
    }

    [Fact]
    public void Moving_to_a_missing_cuda_device_is_a_clear_error()
    {
        if (torch.cuda.is_available()) return;   // this machine has one; covered by the CUDA tests
        using var t = torch.ones(2);
        var e = Assert.ThrowsAny<Exception>(() => t.to(Device.CUDA));
        Assert.True(e is TorchException, e.ToString());
        Assert.Contains("CUDA", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Unknown_device_names_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Device.Parse("tpu"));
        Assert.Contains("tpu", e.Message);
        Assert.Equal(new Device(DeviceType.CUDA, 1), Device.Parse("cuda:1"));
    }

    [CudaFact]
    public void Mixing_devices_in_one_operation_is_a_clear_error()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => torch.ones(2) + torch.ones(2).cuda());
        Assert.Contains("device", e.Message);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    public void A_tensor_with_many_dimensions_reports_its_whole_shape(int rank)
    {
        // libtorch allows any number of dimensions; reading the shape once overflowed a 64-entry buffer.
        using var scope = torch.NewDisposeScope();
        var sizes = Enumerable.Repeat(1L, rank).ToArray();
        sizes[0] = 2; sizes[^1] = 3;
        var x = torch.ones(sizes);
        Assert.Equal(sizes, x.shape);
        Assert.Equal(rank, x.dim());
        Assert.Equal(6, x.numel());
        Assert.Equal(sizes, (x * 2).shape);
        Assert.Equal(12.0, (x * 2).sum().ToDouble());
        Assert.Equal(new long[] { 2, 3 }, x.reshape(2, 3).shape);
        // An error about such a tensor still names its shape.
        var e = Assert.Throws<TorchException>(() => x.view(4, 2));
        Assert.Contains("[2, 1, 1", e.Message);
    }
}
