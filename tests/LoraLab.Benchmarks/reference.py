"""The Python PyTorch side of the binding-overhead benchmark (see Program.cs).

Runs the same loops as the C# side, on the same libtorch, and prints one line per case:
    <case> <microseconds per iteration>
"""
import sys
import time

import torch
import torch.nn.functional as F


def median_time(body, iterations, repeats=5):
    for _ in range(3):  # warm up, as the C# side does
        body(iterations)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        body(iterations)
        times.append((time.perf_counter() - start) / iterations * 1e6)
    return sorted(times)[len(times) // 2]


def main():
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    torch.set_num_threads(1)
    torch.manual_seed(0)
    a, b = torch.randn(4), torch.randn(4)

    def add(n):
        for _ in range(n):
            c = a + b

    def chain(n):
        for _ in range(n):
            c = ((a * b + a).relu()).sum()

    x, y = torch.randn(16, 32), torch.randn(16, 1)
    w1 = (torch.randn(64, 32) * 0.1).requires_grad_()
    w2 = (torch.randn(1, 64) * 0.1).requires_grad_()

    def mlp(n):
        for _ in range(n):
            loss = F.mse_loss(F.linear(F.linear(x, w1).relu(), w2), y)
            loss.backward()
            w1.grad = None
            w2.grad = None

    print("add", median_time(add, iterations))
    print("chain", median_time(chain, iterations))
    print("mlp", median_time(mlp, iterations // 10))
    print("version", torch.__version__)


if __name__ == "__main__":
    main()
