using System.Runtime.InteropServices;

namespace LoraLab.Torch.Native;

// The entry points of libloralab_torch (shim/*.cpp), one line each. Every argument is
// blittable, so a call costs no marshalling. Conventions are in shim/shim.h: a tensor is an
// opaque handle, a failed call returns 0 (handles) or -1 (status), and lt_take_error says why.
internal static unsafe partial class NativeMethods
{
    internal const string Library = "loralab_torch";

    // errors and lifetime
    [DllImport(Library)] internal static extern int lt_take_error(byte* buffer, int capacity);
    [DllImport(Library)] internal static extern void lt_free(IntPtr t);
    [DllImport(Library)] internal static extern int lt_version(out int major, out int minor, out int patch);
    [DllImport(Library)] internal static extern int lt_dim(IntPtr t);
    [DllImport(Library)] internal static extern int lt_shape(IntPtr t, long* shape);
    [DllImport(Library)] internal static extern int lt_dtype(IntPtr t);
    [DllImport(Library)] internal static extern int lt_device(IntPtr t, out int index);
    [DllImport(Library)] internal static extern int lt_requires_grad(IntPtr t);
    [DllImport(Library)] internal static extern int lt_is_leaf(IntPtr t);
    [DllImport(Library)] internal static extern int lt_is_contiguous(IntPtr t);
    [DllImport(Library)] internal static extern int lt_set_requires_grad(IntPtr t, int requiresGrad);
    [DllImport(Library)] internal static extern int lt_item(IntPtr t, out double value);
    [DllImport(Library)] internal static extern int lt_item_long(IntPtr t, out long value);
    [DllImport(Library)] internal static extern IntPtr lt_to_string(IntPtr t);
    [DllImport(Library)] internal static extern void lt_free_string(IntPtr s);

    // creation and conversion
    [DllImport(Library)] internal static extern IntPtr lt_empty(long* shape, int ndim, int dtype, int dev, int index, int requiresGrad);
    [DllImport(Library)] internal static extern IntPtr lt_full(long* shape, int ndim, double value, int dtype, int dev, int index, int requiresGrad);
    [DllImport(Library)] internal static extern IntPtr lt_randn(long* shape, int ndim, int dtype, int dev, int index, int requiresGrad);
    [DllImport(Library)] internal static extern IntPtr lt_rand(long* shape, int ndim, int dtype, int dev, int index, int requiresGrad);
    [DllImport(Library)] internal static extern IntPtr lt_randint(long low, long high, long* shape, int ndim, int dtype, int dev, int index);
    [DllImport(Library)] internal static extern IntPtr lt_randperm(long n, int dtype, int dev, int index);
    [DllImport(Library)] internal static extern IntPtr lt_arange(double start, double end, double step, int dtype, int dev, int index);
    [DllImport(Library)] internal static extern IntPtr lt_linspace(double start, double end, long steps, int dtype, int dev, int index);
    [DllImport(Library)] internal static extern IntPtr lt_eye(long n, long m, int dtype, int dev, int index);
    [DllImport(Library)] internal static extern int lt_manual_seed(ulong seed);
    [DllImport(Library)] internal static extern int lt_normal_(IntPtr t, double mean, double std);
    [DllImport(Library)] internal static extern int lt_uniform_(IntPtr t, double from, double to);
    [DllImport(Library)] internal static extern IntPtr lt_from_data(void* data, long* shape, int ndim, int dtype);
    [DllImport(Library)] internal static extern int lt_copy_to(IntPtr t, void* destination, long count);
    [DllImport(Library)] internal static extern IntPtr lt_data_ptr(IntPtr t);
    [DllImport(Library)] internal static extern IntPtr lt_to(IntPtr t, int dtype, int dev, int index, int nonBlocking, int copy);
    [DllImport(Library)] internal static extern IntPtr lt_clone(IntPtr t);
    [DllImport(Library)] internal static extern IntPtr lt_detach(IntPtr t);
    [DllImport(Library)] internal static extern IntPtr lt_contiguous(IntPtr t);
    [DllImport(Library)] internal static extern IntPtr lt_alias(IntPtr t);

    // arithmetic and reductions
    [DllImport(Library)] internal static extern IntPtr lt_unary(int op, IntPtr x);
    [DllImport(Library)] internal static extern int lt_unary_(int op, IntPtr x);
    [DllImport(Library)] internal static extern IntPtr lt_binary(int op, IntPtr a, IntPtr b);
    [DllImport(Library)] internal static extern IntPtr lt_scalar(int op, IntPtr a, double s);
    [DllImport(Library)] internal static extern int lt_inplace(int op, IntPtr a, IntPtr b, double alpha);
    [DllImport(Library)] internal static extern int lt_inplace_scalar(int op, IntPtr a, double s);
    [DllImport(Library)] internal static extern int lt_addcmul_(IntPtr self, IntPtr a, IntPtr b, double value);
    [DllImport(Library)] internal static extern int lt_addcdiv_(IntPtr self, IntPtr a, IntPtr b, double value);
    [DllImport(Library)] internal static extern int lt_lerp_(IntPtr self, IntPtr end, double weight);
    [DllImport(Library)] internal static extern int lt_zero_(IntPtr self);
    [DllImport(Library)] internal static extern IntPtr lt_reduce(int op, IntPtr x, long* dims, int ndims, int keepdim);
    [DllImport(Library)] internal static extern IntPtr lt_var(IntPtr x, long* dims, int ndims, long correction, int keepdim, int std);
    [DllImport(Library)] internal static extern IntPtr lt_norm(IntPtr x, double p, long* dims, int ndims, int keepdim);
    [DllImport(Library)] internal static extern int lt_max_dim(IntPtr x, long dim, int keepdim, int minimum, out IntPtr values, out IntPtr indices);
    [DllImport(Library)] internal static extern IntPtr lt_argmax(IntPtr x, long dim, int hasDim, int keepdim, int minimum);
    [DllImport(Library)] internal static extern IntPtr lt_cumsum(IntPtr x, long dim);
    [DllImport(Library)] internal static extern int lt_sort(IntPtr x, long dim, int descending, out IntPtr values, out IntPtr indices);
    [DllImport(Library)] internal static extern int lt_topk(IntPtr x, long k, long dim, int largest, out IntPtr values, out IntPtr indices);
    [DllImport(Library)] internal static extern int lt_allclose(IntPtr a, IntPtr b, double rtol, double atol);

    // shape
    [DllImport(Library)] internal static extern IntPtr lt_view(IntPtr x, long* shape, int ndim);
    [DllImport(Library)] internal static extern IntPtr lt_reshape(IntPtr x, long* shape, int ndim);
    [DllImport(Library)] internal static extern IntPtr lt_expand(IntPtr x, long* shape, int ndim);
    [DllImport(Library)] internal static extern IntPtr lt_repeat(IntPtr x, long* repeats, int ndim);
    [DllImport(Library)] internal static extern IntPtr lt_permute(IntPtr x, long* order, int ndim);
    [DllImport(Library)] internal static extern IntPtr lt_transpose(IntPtr x, long dim0, long dim1);
    [DllImport(Library)] internal static extern IntPtr lt_flatten(IntPtr x, long start, long end);
    [DllImport(Library)] internal static extern IntPtr lt_unsqueeze(IntPtr x, long dim);
    [DllImport(Library)] internal static extern IntPtr lt_squeeze(IntPtr x, long dim, int all);
    [DllImport(Library)] internal static extern IntPtr lt_narrow(IntPtr x, long dim, long start, long length);
    [DllImport(Library)] internal static extern IntPtr lt_slice(IntPtr x, long dim, long start, long end, long step);
    [DllImport(Library)] internal static extern IntPtr lt_select(IntPtr x, long dim, long index);
    [DllImport(Library)] internal static extern IntPtr lt_index_select(IntPtr x, long dim, IntPtr index);
    [DllImport(Library)] internal static extern IntPtr lt_gather(IntPtr x, long dim, IntPtr index);
    [DllImport(Library)] internal static extern IntPtr lt_scatter_add(IntPtr x, long dim, IntPtr index, IntPtr src);
    [DllImport(Library)] internal static extern IntPtr lt_index(IntPtr x, IntPtr index);
    [DllImport(Library)] internal static extern int lt_index_put_(IntPtr x, IntPtr index, IntPtr value);
    [DllImport(Library)] internal static extern IntPtr lt_cat(IntPtr* tensors, int count, long dim);
    [DllImport(Library)] internal static extern IntPtr lt_stack(IntPtr* tensors, int count, long dim);
    [DllImport(Library)] internal static extern IntPtr lt_tril(IntPtr x, long diagonal);
    [DllImport(Library)] internal static extern IntPtr lt_triu(IntPtr x, long diagonal);
    [DllImport(Library)] internal static extern IntPtr lt_diag(IntPtr x, long diagonal);
    [DllImport(Library)] internal static extern IntPtr lt_where(IntPtr condition, IntPtr a, IntPtr b);
    [DllImport(Library)] internal static extern IntPtr lt_masked_fill(IntPtr x, IntPtr mask, double value);
    [DllImport(Library)] internal static extern IntPtr lt_clamp(IntPtr x, double min, int hasMin, double max, int hasMax);
    [DllImport(Library)] internal static extern IntPtr lt_one_hot(IntPtr x, long numClasses);

    // neural-network functions
    [DllImport(Library)] internal static extern IntPtr lt_softmax(IntPtr x, long dim);
    [DllImport(Library)] internal static extern IntPtr lt_log_softmax(IntPtr x, long dim);
    [DllImport(Library)] internal static extern IntPtr lt_linear(IntPtr x, IntPtr weight, IntPtr bias);
    [DllImport(Library)] internal static extern IntPtr lt_cross_entropy(IntPtr logits, IntPtr target, IntPtr weight, int reduction, long ignoreIndex, double labelSmoothing);
    [DllImport(Library)] internal static extern IntPtr lt_mse_loss(IntPtr input, IntPtr target, int reduction);
    [DllImport(Library)] internal static extern IntPtr lt_binary_cross_entropy_with_logits(IntPtr input, IntPtr target, int reduction);
    [DllImport(Library)] internal static extern IntPtr lt_embedding(IntPtr weight, IntPtr indices, long paddingIdx);
    [DllImport(Library)] internal static extern IntPtr lt_dropout(IntPtr x, double p, int train);
    [DllImport(Library)] internal static extern IntPtr lt_layer_norm(IntPtr x, long* shape, int ndim, IntPtr weight, IntPtr bias, double eps);
    [DllImport(Library)] internal static extern IntPtr lt_scaled_dot_product_attention(IntPtr q, IntPtr k, IntPtr v, IntPtr mask, double dropoutP, int isCausal, double scale, out int fused);
    [DllImport(Library)] internal static extern IntPtr lt_attention_reference(IntPtr q, IntPtr k, IntPtr v, IntPtr mask, int isCausal, double scale);

    // autograd
    [DllImport(Library)] internal static extern IntPtr lt_grad(IntPtr t);
    [DllImport(Library)] internal static extern int lt_set_grad(IntPtr t, IntPtr grad);
    [DllImport(Library)] internal static extern int lt_backward(IntPtr t, IntPtr grad, int retainGraph, int createGraph);
    [DllImport(Library)] internal static extern int lt_autograd_grad(IntPtr* outputs, int nOutputs, IntPtr* inputs, int nInputs, IntPtr* gradOutputs, int retainGraph, int createGraph, int allowUnused, IntPtr* results);
    [DllImport(Library)] internal static extern int lt_set_grad_enabled(int enabled);
    [DllImport(Library)] internal static extern int lt_is_grad_enabled();
    [DllImport(Library)] internal static extern int lt_retain_grad(IntPtr t);

    // linear algebra
    [DllImport(Library)] internal static extern int lt_svd(IntPtr x, int fullMatrices, out IntPtr u, out IntPtr s, out IntPtr vh);
    [DllImport(Library)] internal static extern IntPtr lt_svdvals(IntPtr x);
    [DllImport(Library)] internal static extern int lt_qr(IntPtr x, int mode, out IntPtr q, out IntPtr r);
    [DllImport(Library)] internal static extern int lt_eigh(IntPtr x, out IntPtr values, out IntPtr vectors);
    [DllImport(Library)] internal static extern IntPtr lt_pinv(IntPtr x);
    [DllImport(Library)] internal static extern IntPtr lt_solve(IntPtr a, IntPtr b);

    // runtime
    [DllImport(Library)] internal static extern int lt_get_num_threads();
    [DllImport(Library)] internal static extern int lt_set_num_threads(int n);
    [DllImport(Library)] internal static extern int lt_cuda_is_available();
    [DllImport(Library)] internal static extern int lt_cuda_device_count();
    [DllImport(Library)] internal static extern int lt_has_cuda_build();
    [DllImport(Library)] internal static extern int lt_cuda_synchronize(long device);
    [DllImport(Library)] internal static extern long lt_cuda_memory(int device, int which);
    [DllImport(Library)] internal static extern int lt_cuda_reset_peak_memory(int device);
    [DllImport(Library)] internal static extern int lt_cuda_empty_cache();
}
