// Tests read Tensor.LiveCount, a process-wide counter: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
