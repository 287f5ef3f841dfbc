#!/usr/bin/env python3
"""Check `cargo xtask export` with an independent reader: the PyPI `safetensors`
and `numpy` packages.

Reads the safetensors file and the checkpoint it was exported from, and checks that
every tensor of the checkpoint's weights is in the file under its name, as float64
(float32 for a run trained with `--dtype f32`), with its shape and every value bit for bit, that there is nothing else, and that
the metadata holds the model config, the vocabulary, the tensor order, and the
settings a preset sets (activation, init std, zero-init of the projections, the
learning-rate schedule, the betas, the preset), which the checkpoint leaves out
where they are v1's.

    python3 -m venv /tmp/st-venv
    /tmp/st-venv/bin/pip install safetensors numpy
    cargo xtask train --steps 100 --save /tmp/c.json
    cargo xtask export --checkpoint /tmp/c.json --out /tmp/model.safetensors
    /tmp/st-venv/bin/python scripts/check_safetensors.py /tmp/c.json /tmp/model.safetensors
"""

import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(checkpoint_path, safetensors_path):
    with open(checkpoint_path, encoding="utf-8") as f:
        checkpoint = json.load(f)  # Python parses floats correctly rounded: exact.
    weights = checkpoint["weights"]["tensors"]
    tensors = load_file(safetensors_path)
    with safe_open(safetensors_path, "np") as f:
        metadata = f.metadata()

    assert sorted(tensors) == sorted(t["name"] for t in weights), (
        f"names differ: {sorted(tensors)}"
    )
    # An f32 run's values are f32s, which the checkpoint writes as the f64s equal
    # to them: rounding them to float32 is exact.
    f32 = checkpoint["train"].get("dtype", "f64") == "f32"
    dtype, bits = (np.float32, np.uint32) if f32 else (np.float64, np.uint64)
    assert metadata["dtype"] == ("f32" if f32 else "f64"), metadata["dtype"]
    for t in weights:
        got = tensors[t["name"]]
        wide = np.array(t["values"], dtype=np.float64)
        want = wide.astype(dtype).reshape(t["shape"])
        assert np.array_equal(want.astype(np.float64).ravel(), wide), t["name"]
        assert got.dtype == dtype, f"{t['name']}: dtype {got.dtype}"
        assert list(got.shape) == t["shape"], f"{t['name']}: shape {got.shape}"
        same = np.array_equal(got.view(bits), want.view(bits))
        assert same, f"{t['name']}: values differ in their bits"
    assert json.loads(metadata["config"]) == checkpoint["model"], metadata["config"]
    assert metadata["vocab"] == checkpoint["vocab"], metadata["vocab"]
    order = [t["name"] for t in weights]
    assert metadata["tensor_order"].split(",") == order, metadata["tensor_order"]
    assert int(metadata["step"]) == checkpoint["step"]
    train, adam = checkpoint["train"], checkpoint["train"]["adam"]
    init = train.get("init", {"std": 0.02, "zero_init_proj": True})
    expected = {
        "activation": checkpoint["model"].get("activation", "relu2"),
        "init_std": init["std"],
        "zero_init_proj": init["zero_init_proj"],
        "lr_schedule": adam.get("schedule", "cosine"),
        "beta1": adam["beta1"],
        "beta2": adam["beta2"],
        "preset": train.get("preset", "v1"),
    }
    for key, want in expected.items():
        got = metadata[key]
        if isinstance(want, bool):
            got = {"true": True, "false": False}[got]
        elif isinstance(want, float):
            got = float(got)
        assert got == want, f"{key}: {metadata[key]!r}, the checkpoint has {want!r}"
    n = sum(v.size for v in tensors.values())
    print(
        f"ok: {len(tensors)} {np.dtype(dtype).name} tensors, {n} values, bit for bit; "
        f"config {metadata['config']}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} CHECKPOINT.json MODEL.safetensors")
    main(sys.argv[1], sys.argv[2])
