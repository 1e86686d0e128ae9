"""The Evolver's DE step in NumPy or PyTorch, for `npm run bench` to compare against.

    python3 tools/bench_de.py numpy|torch X.f32 D.f32
    python3 tools/bench_de.py cuda X.f32 D.f32 E.f32

Reads two float32 vectors written by tools/bench.ts and times, on one thread, the
step as the reference code writes it (a uniform draw per element, interpolation toward
the donor, a select) and a memcpy of one vector, each the median of five runs.
Prints JSON: {"de_ms", "memcpy_ms", "version"}.

`cuda` times the same step, the simple average of the three vectors (stacked and averaged,
as a tensor-by-tensor linear merge in PyTorch writes it) and a device-to-device copy in PyTorch on the GPU,
each synchronized; it adds "average_ms" and "device".
"""
import json
import sys
import time


def median_ms(fn, runs=5):
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return sorted(samples)[len(samples) // 2]


def main():
    lib, x_path, d_path = sys.argv[1:4]
    f, cr = 0.5, 0.5
    if lib == "numpy":
        import numpy as np

        x = np.fromfile(x_path, dtype=np.float32)
        d = np.fromfile(d_path, dtype=np.float32)
        out = np.empty_like(x)
        rng = np.random.default_rng(1)

        def step():
            mask = rng.random(x.shape[0], dtype=np.float32) < cr
            mutant = x + np.float32(f) * (d - x)
            np.copyto(out, np.where(mask, mutant, x))

        de = median_ms(step)
        memcpy = median_ms(lambda: np.copyto(out, x))
        version = np.__version__
    elif lib == "cuda":
        import numpy as np
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("torch sees no CUDA device")
        dev = torch.device("cuda")
        x = torch.from_numpy(np.fromfile(x_path, dtype=np.float32)).to(dev)
        d = torch.from_numpy(np.fromfile(d_path, dtype=np.float32)).to(dev)
        e = torch.from_numpy(np.fromfile(sys.argv[4], dtype=np.float32)).to(dev)
        out = torch.empty_like(x)
        gen = torch.Generator(device=dev).manual_seed(1)

        def synced(fn):
            def run():
                fn()
                torch.cuda.synchronize()
            return run

        def step():
            mask = torch.rand(x.shape[0], generator=gen, device=dev) < cr
            mutant = x + f * (d - x)
            out.copy_(torch.where(mask, mutant, x))

        def average():
            out.copy_(torch.stack([x, d, e]).mean(dim=0))

        de = median_ms(synced(step))
        result = {"average_ms": median_ms(synced(average)), "device": torch.cuda.get_device_name(0)}
        memcpy = median_ms(synced(lambda: out.copy_(x)))
        version = torch.__version__
        print(json.dumps({"de_ms": de, "memcpy_ms": memcpy, "version": version, **result}))
        return
    else:
        import numpy as np
        import torch

        torch.set_num_threads(1)
        x = torch.from_numpy(np.fromfile(x_path, dtype=np.float32))
        d = torch.from_numpy(np.fromfile(d_path, dtype=np.float32))
        out = torch.empty_like(x)
        gen = torch.Generator().manual_seed(1)

        def step():
            mask = torch.rand(x.shape[0], generator=gen) < cr
            mutant = x + f * (d - x)
            out.copy_(torch.where(mask, mutant, x))

        de = median_ms(step)
        memcpy = median_ms(lambda: out.copy_(x))
        version = torch.__version__
    print(json.dumps({"de_ms": de, "memcpy_ms": memcpy, "version": version}))


if __name__ == "__main__":
    main()
