"""A torch streaming merger, mergekit's formulas tensor by tensor, for `npm run bench` to compare against.

    python3 tools/bench_stream.py --method M [--base FILE] --out FILE [--threads N] [--seed S] INPUT...

M is linear, task_arithmetic, ties, dare_linear, slerp or model_stock, with the settings the
streaming section of the bench times: weights 1, λ 1, density 0.5 (ties, dare_linear), t 0.5
(slerp of the two inputs, the first at t = 0). Each safetensors file is read by byte range
from its own header (8-byte little-endian length, then JSON with dtype, shape and
data_offsets; no safetensors package): for each tensor of the first input, its bytes from
every file, decoded to float32, merged, cast back to the first input's dtype and appended
to the output, whose header is written first. One tensor's inputs are in memory at a time.
Tensors that are not floats are copied from the first input.
Prints JSON: {"torch", "threads", "tensors", "seconds"}.
"""
import argparse
import json
import math
import struct
import sys
import time

import torch

FLOAT_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
DENSITY = 0.5
SLERP_T = 0.5
# mergekit's slerp: |cos| above this is colinear (lerp), norms at or below eps stay unnormalized.
SLERP_DOT_THRESHOLD = 0.9995
SLERP_EPS = 1e-8
# mergekit's rescaled_masked_tensor: below this either L1 norm, the masked vector is not rescaled.
RESCALE_EPS = 1e-7
# mergekit's model_stock: floor on the product of two task vectors' norms.
MODEL_STOCK_NORM_EPS = 1e-6


class Checkpoint:
    """One safetensors file: its header's tensors and reads of their bytes by range."""

    def __init__(self, path):
        self.path = path
        self.file = open(path, "rb")
        (length,) = struct.unpack("<Q", self.file.read(8))
        header = json.loads(self.file.read(length))
        header.pop("__metadata__", None)
        self.data_start = 8 + length
        self.tensors = header
        # One reusable buffer per file: torch.frombuffer shares it, and .float() copies out.
        self.buffer = bytearray()

    def read(self, name):
        entry = self.tensors.get(name)
        if entry is None:
            sys.exit(f"{self.path}: no tensor {name!r}")
        begin, end = entry["data_offsets"]
        if len(self.buffer) != end - begin:
            self.buffer = bytearray(end - begin)
        self.file.seek(self.data_start + begin)
        if self.file.readinto(self.buffer) != end - begin:
            sys.exit(f"{self.path}: tensor {name!r} is cut short")
        return entry, self.buffer

    def floats(self, name, shape):
        entry, raw = self.read(name)
        if entry["shape"] != shape:
            sys.exit(f"{self.path}: tensor {name!r} has shape {entry['shape']}, the first input {shape}")
        if len(raw) == 0:
            return torch.zeros(0)
        return torch.frombuffer(raw, dtype=FLOAT_DTYPES[entry["dtype"]]).float()


def linear(models, base):
    return torch.stack(models).sum(dim=0) / len(models)


def task_arithmetic(models, base):
    mixed = torch.zeros_like(base)
    for m in models:
        mixed += m - base
    return base + mixed


def magnitude_trim(delta, density):
    """delta kept on exactly its k = floor(density·n) largest magnitudes, as mergekit's argsort top-k.

    mergekit sorts every magnitude (torch.argsort); torch.kthvalue finds the k-th largest
    without a sort. The magnitudes of bf16 task vectors repeat a lot, so a plain `>= k-th`
    keeps far more than k: the ties at the threshold are kept in index order up to k (what a
    stable descending sort would keep).
    """
    n = delta.numel()
    k = int(density * n)
    if k >= n:
        return delta
    mag = delta.abs()
    threshold = torch.kthvalue(mag, n - k + 1).values
    keep = mag > threshold
    keep[torch.nonzero(mag == threshold).view(-1)[: k - int(keep.sum())]] = True
    return delta * keep


def ties(models, base):
    deltas = torch.stack([magnitude_trim(m - base, DENSITY) for m in models])
    # Sign election by sum (mergekit's consensus "sum"), then the disjoint mean.
    majority = (deltas.sum(dim=0) >= 0).to(deltas.dtype) * 2 - 1
    agree = deltas.sign() == majority
    mixed = (deltas * agree).sum(dim=0)
    divisor = agree.sum(dim=0).to(deltas.dtype)
    divisor[divisor == 0] = 1
    return base + mixed / divisor


def dare_linear(models, base, generator):
    mixed = torch.zeros_like(base)
    for m in models:
        delta = m - base
        mask = torch.bernoulli(torch.full_like(delta, DENSITY), generator=generator)
        masked = delta * mask
        # mergekit's rescale_norm l1: the masked vector keeps the task vector's L1 norm.
        before, after = float(delta.abs().sum()), float(masked.abs().sum())
        mixed += masked if before < RESCALE_EPS or after < RESCALE_EPS else masked * (before / after)
    return base + mixed


def norm(v):
    """The L2 norm from a float32 sum of squares: torch 1.13's float32 torch.norm is off by ~1e-3
    relative on 15.7M-element tensors (mergekit's model_stock calls it; its slerp uses numpy's)."""
    return math.sqrt(float((v * v).sum()))


def slerp(models, base):
    v0, v1 = models
    n0, n1 = norm(v0), norm(v1)
    dot = float((v0 * v1).sum()) / ((n0 if n0 > SLERP_EPS else 1.0) * (n1 if n1 > SLERP_EPS else 1.0))
    if abs(dot) > SLERP_DOT_THRESHOLD:
        return (1 - SLERP_T) * v0 + SLERP_T * v1
    theta = math.acos(dot)
    sin_theta = math.sin(theta)
    s0 = math.sin(theta - theta * SLERP_T) / sin_theta
    s1 = math.sin(theta * SLERP_T) / sin_theta
    return s0 * v0 + s1 * v1


def model_stock(models, base):
    offsets = [m - base for m in models]
    norms = [norm(o) for o in offsets]
    cosines = []
    for i in range(len(offsets)):
        for j in range(i + 1, len(offsets)):
            c = float((offsets[i] * offsets[j]).sum()) / max(norms[i] * norms[j], MODEL_STOCK_NORM_EPS)
            cosines.append(min(1.0, max(-1.0, c)))
    cos = sum(cosines) / len(cosines)
    k = len(models)
    t = k * cos / (1 + (k - 1) * cos)
    return t * (sum(models) / k) + (1 - t) * base


def merge_one(method, models, base, generator):
    if method == "linear":
        return linear(models, base)
    if method == "task_arithmetic":
        return task_arithmetic(models, base)
    if method == "ties":
        return ties(models, base)
    if method == "dare_linear":
        return dare_linear(models, base, generator)
    if method == "slerp":
        return slerp(models, base)
    return model_stock(models, base)


def output_header(first, names):
    """The output's header: the first input's names, dtypes and shapes, data packed in order."""
    header, at = {"__metadata__": {"format": "pt"}}, 0
    for name in names:
        entry = first.tensors[name]
        begin, end = entry["data_offsets"]
        header[name] = {"dtype": entry["dtype"], "shape": entry["shape"], "data_offsets": [at, at + end - begin]}
        at += end - begin
    text = json.dumps(header, separators=(",", ":")).encode()
    # Pad with spaces so the data starts 8-byte aligned, as the safetensors writers do.
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", required=True, choices=["linear", "task_arithmetic", "ties", "dare_linear", "slerp", "model_stock"])
    parser.add_argument("--base")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    needs_base = args.method in ("task_arithmetic", "ties", "dare_linear", "model_stock")
    if needs_base and not args.base:
        parser.error(f"--method {args.method} needs --base")
    if args.method == "slerp" and len(args.inputs) != 2:
        parser.error("--method slerp takes exactly two inputs")
    if args.method == "model_stock" and len(args.inputs) < 2:
        parser.error("--method model_stock takes at least two inputs beside the base")
    if args.threads:
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    inputs = [Checkpoint(p) for p in args.inputs]
    base = Checkpoint(args.base) if needs_base else None
    first = inputs[0]
    # Data order, so every file is read front to back.
    names = sorted(first.tensors, key=lambda n: first.tensors[n]["data_offsets"][0])
    generator = torch.Generator().manual_seed(args.seed)
    with open(args.out, "wb") as out:
        out.write(output_header(first, names))
        for name in names:
            entry = first.tensors[name]
            dtype = FLOAT_DTYPES.get(entry["dtype"])
            if dtype is None:
                out.write(first.read(name)[1])
                continue
            shape = entry["shape"]
            models = [c.floats(name, shape) for c in inputs]
            base_floats = base.floats(name, shape) if base else None
            merged = merge_one(args.method, models, base_floats, generator).to(dtype)
            # bf16 has no numpy dtype: its bits as int16 give numpy's buffer without a copy.
            out.write(merged.view(torch.int16 if merged.element_size() == 2 else torch.int32).numpy().data)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "tensors": len(names), "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
