#!/usr/bin/env python3
"""The same GPT in PyTorch: a twin of crates/model that reads and writes our
safetensors export (`cargo xtask export`), to check our numbers against an
independent implementation, to train past one process with torch.distributed,
and to time PyTorch on the same model.

    python3 -m venv /work/venv-torch
    /work/venv-torch/bin/pip install torch numpy safetensors
    PY=/work/venv-torch/bin/python

    $PY scripts/torch_twin.py check --model m.safetensors --logits ours.json
    $PY scripts/torch_twin.py train --model m.safetensors --steps 10 \
        --out trained.safetensors [--data names.txt] [--ddp 2] [--batch-size 4]
    $PY scripts/torch_twin.py bench --n-embd 128 --n-head 8 --n-layer 4 \
        --block-size 16 --batch-size 32 --threads 1 --dtype f64

`cargo xtask import --safetensors trained.safetensors --checkpoint FROM.json
--out ck.json` turns trained weights back into a checkpoint.

The model is the reference's (MICROGPT.md), as crates/model/src/fused.rs runs it:
x = rmsnorm(wte[token] + wpe[pos]); per layer x += wo(attention(rmsnorm(x))) and
x += fc2(act(fc1(rmsnorm(x)))); logits = lm_head(x). rmsnorm has no gain and eps
1e-5; attention multiplies its logits by (head_dim ** 0.5) ** -1, the reference's
division by head_dim ** 0.5; no biases anywhere; act is relu(x) ** 2 (v1) or relu
(v2).

Metadata read from the export (every key is a string):
- `config`: the model config as JSON (vocab_size, n_embd, n_head, n_layer,
  block_size); `vocab`: the characters in id order, BOS after the last;
  `tensor_order`: the state-dict names, comma-separated; `step`: steps taken.
- `activation`: `relu2` or `relu`; absent means `relu2` (v1).
- `lr_schedule` (`cosine`, absent, or `linear`), `beta1` (0.9), `beta2` (0.95),
  `learning_rate` (0.01), `eps` (1e-8), `num_steps` (the schedule's length):
  how training continues; defaults in brackets are the reference's (v1).
Everything read is written back unchanged, except `step`, which becomes the steps
taken, and `losses`, the JSON list of the losses of the steps this twin trained
(the mean over the batch of each document's mean loss), which import appends to
the checkpoint's.
"""

import argparse
import json
import math
import os
import random
import sys
import time


def _torch():
    """PyTorch, or a plain message saying how to get it."""
    try:
        import torch  # noqa: F401
        from safetensors.torch import load_file  # noqa: F401
    except ImportError as err:
        sys.exit(
            f"torch_twin: {err}; install PyTorch, numpy and safetensors in a venv: "
            "python3 -m venv /work/venv-torch && /work/venv-torch/bin/pip install "
            "torch numpy safetensors"
        )
    import torch

    return torch


torch = _torch()
import torch.nn.functional as F  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

RMSNORM_EPS = 1e-5
# The documents `cargo xtask train` embeds when given no --data.
NAMES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "train", "data", "names.txt")
LAYER_TENSORS = ("attn_wq", "attn_wk", "attn_wv", "attn_wo", "mlp_fc1", "mlp_fc2")


def state_dict_names(config):
    """The state-dict names in the order our export writes them."""
    names = ["wte", "wpe", "lm_head"]
    for i in range(config["n_layer"]):
        names += [f"layer{i}.{t}" for t in LAYER_TENSORS]
    return names


def shapes(config):
    """Each tensor's (rows, cols), as params::layout gives them."""
    c, v, t = config["n_embd"], config["vocab_size"], config["block_size"]
    out = {"wte": (v, c), "wpe": (t, c), "lm_head": (v, c)}
    for i in range(config["n_layer"]):
        for name in LAYER_TENSORS:
            rows, cols = (4 * c, c) if name == "mlp_fc1" else (c, 4 * c) if name == "mlp_fc2" else (c, c)
            out[f"layer{i}.{name}"] = (rows, cols)
    return out


def rmsnorm(x):
    """x * (mean(x ** 2) + 1e-5) ** -0.5 over the last axis, no gain."""
    return x * (x.pow(2).mean(-1, keepdim=True) + RMSNORM_EPS).pow(-0.5)


class Gpt(torch.nn.Module):
    """The reference's GPT over a (B, T) batch of tokens, all of the same length."""

    def __init__(self, config, activation="relu2", dtype=torch.float64):
        super().__init__()
        self.config = config
        self.activation = activation
        if activation not in ("relu2", "relu"):
            sys.exit(f"torch_twin: unknown activation {activation!r}; expected relu2 or relu")
        self.n_head = config["n_head"]
        self.head_dim = config["n_embd"] // self.n_head
        # head_dim ** 0.5 ** -1, as crates/model/src/weights.rs computes it.
        self.attn_scale = (self.head_dim**0.5) ** -1
        self.params = torch.nn.ParameterDict(
            {
                # ParameterDict keys may not hold dots.
                name.replace(".", "_"): torch.nn.Parameter(torch.zeros(shape, dtype=dtype))
                for name, shape in shapes(config).items()
            }
        )
        self.names = state_dict_names(config)

    def p(self, name):
        return self.params[name.replace(".", "_")]

    def forward(self, tokens):
        b, t = tokens.shape
        c, h, hd = self.config["n_embd"], self.n_head, self.head_dim
        x = rmsnorm(self.p("wte")[tokens] + self.p("wpe")[:t])  # (B, T, C)
        causal = torch.ones(t, t, dtype=torch.bool, device=tokens.device).tril()
        for i in range(self.config["n_layer"]):
            w = lambda name: self.p(f"layer{i}.{name}")  # noqa: E731
            xn = rmsnorm(x)
            q, k, v = (F.linear(xn, w(n)).view(b, t, h, hd).transpose(1, 2) for n in ("attn_wq", "attn_wk", "attn_wv"))
            att = (q @ k.transpose(-1, -2)) * self.attn_scale  # (B, H, T, T)
            att = att.masked_fill(~causal, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, c)
            x = x + F.linear(y, w("attn_wo"))
            hid = F.relu(F.linear(rmsnorm(x), w("mlp_fc1")))
            if self.activation == "relu2":
                hid = hid.pow(2)
            x = x + F.linear(hid, w("mlp_fc2"))
        return F.linear(x, self.p("lm_head"))  # (B, T, V)

    def document_loss(self, tokens):
        """One document's mean loss over its first min(block_size, len - 1) positions."""
        n = min(self.config["block_size"], len(tokens) - 1)
        ids = torch.tensor(tokens[: n + 1], device=self.p("wte").device)
        logits = self(ids[:n].unsqueeze(0))[0]
        return F.cross_entropy(logits, ids[1 : n + 1])


class DocumentsLoss(torch.nn.Module):
    """The mean over documents of each one's mean loss: the module DDP wraps, so
    that its forward is the one whose backward DDP reduces."""

    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt

    def forward(self, documents):
        return sum(self.gpt.document_loss(d) for d in documents) / len(documents)


class Export:
    """A safetensors file written by `cargo xtask export` (or by this twin)."""

    def __init__(self, path):
        with safe_open(path, "pt") as f:
            self.metadata = dict(f.metadata() or {})
            self.tensors = {k: f.get_tensor(k) for k in f.keys()}
        if self.metadata.get("format") != "microgpt":
            sys.exit(f"torch_twin: {path} is not a microgpt export (its metadata has no format \"microgpt\")")
        self.config = json.loads(self.metadata["config"])
        self.step = int(self.metadata.get("step", "0"))
        # Written by the v2 work beside the config; absent means v1's relu².
        self.activation = self.metadata.get("activation", "relu2")

    def model(self, dtype=torch.float64):
        gpt = Gpt(self.config, self.activation, dtype)
        with torch.no_grad():
            for name in gpt.names:
                if name not in self.tensors:
                    sys.exit(f"torch_twin: the export has no tensor {name}")
                gpt.p(name).copy_(self.tensors[name])
        return gpt

    def setting(self, key, default):
        return float(self.metadata.get(key, default))


def cmd_check(args):
    """Our logits against the twin's on the same tokens, in f64."""
    export = Export(args.model)
    gpt = export.model(torch.float64)
    with open(args.logits, encoding="utf-8") as f:
        ours = json.load(f)  # {"tokens": [T ids], "logits": [T rows of V]}
    tokens = torch.tensor(ours["tokens"])
    expected = torch.tensor(ours["logits"], dtype=torch.float64)
    with torch.no_grad():
        got = gpt(tokens.unsqueeze(0))[0]
    if got.shape != expected.shape:
        sys.exit(f"torch_twin: our logits are {tuple(expected.shape)}, the twin's {tuple(got.shape)}")
    # Relative to the row's largest logit, so a logit near 0 is not held to 1e-12 of itself.
    scale = expected.abs().amax(-1, keepdim=True).clamp_min(1e-300)
    rel = ((got - expected).abs() / scale).max().item()
    print(f"logits ({len(ours['tokens'])}, {export.config['vocab_size']}): max relative difference {rel:.3e} (tolerance {args.tolerance:.0e})")
    if not rel <= args.tolerance:
        sys.exit(1)


def read_docs(path, seed):
    """The reference's documents: stripped non-empty lines, shuffled by Python's
    generator seeded with `seed` (the order of a `train --rng python` run with that seed)."""
    with open(path, encoding="utf-8") as f:
        docs = [line.strip() for line in f.read().strip().split("\n") if line.strip()]
    random.seed(seed)
    random.shuffle(docs)
    return docs


def lr_at(export, lr, step, num_steps):
    """The reference's schedule at 0-based `step`: v1's half cosine, v2's linear."""
    if export.metadata.get("lr_schedule", "cosine") == "linear":
        return lr * (1 - step / num_steps)
    return lr * 0.5 * (1 + math.cos(math.pi * step / num_steps))


def adam_step(params, m, v, step, lr_t, beta1, beta2, eps):
    """crates/train/src/adam.rs's update with the reference's bias corrections."""
    t = step + 1
    bias1, bias2 = 1 - beta1**t, 1 - beta2**t
    with torch.no_grad():
        for p, mi, vi in zip(params, m, v):
            g = p.grad
            mi.mul_(beta1).add_((1 - beta1) * g)
            vi.mul_(beta2).add_((1 - beta2) * g * g)
            p.sub_(lr_t * (mi / bias1) / ((vi / bias2).sqrt() + eps))
            p.grad = None


def train_worker(rank, world, args):
    """Trains `args.steps` steps; with `world` > 1 each of the processes takes its
    share of every batch and DistributedDataParallel averages the gradients."""
    ddp = world > 1
    if ddp:
        import torch.distributed as dist

        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(args.threads)
    export = Export(args.model)
    gpt = export.model(torch.float64)
    model = DocumentsLoss(gpt)
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model)
    vocab = export.metadata["vocab"]
    ids = {ch: i for i, ch in enumerate(vocab)}
    bos = len(vocab)
    docs = read_docs(args.data, args.seed)
    for d in docs:
        bad = [ch for ch in d if ch not in ids]
        if bad:
            sys.exit(f"torch_twin: {args.data} has {bad[0]!r}, outside the export's vocabulary {vocab!r}")
    num_steps = int(export.metadata.get("num_steps", args.num_steps or 0))
    if args.num_steps:
        num_steps = args.num_steps
    if not num_steps:
        sys.exit("torch_twin: the export says no schedule length (num_steps); give --num-steps N")
    if export.step + args.steps > num_steps:
        sys.exit(
            f"torch_twin: the export has had {export.step} of {num_steps} steps; "
            f"{args.steps} more would pass the schedule's end (give fewer --steps, or --num-steps)"
        )
    lr = args.lr or export.setting("learning_rate", 0.01)
    beta1, beta2 = export.setting("beta1", 0.9), export.setting("beta2", 0.95)
    eps = export.setting("eps", 1e-8)
    params = [gpt.p(n) for n in gpt.names]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    batch = args.batch_size
    if batch % world:
        sys.exit(f"torch_twin: a batch of {batch} does not split over {world} processes; give a multiple")
    share = batch // world
    losses = []
    for s in range(export.step, export.step + args.steps):
        # Documents (s * B + i) % N of the batch; this process takes its slice.
        mine = [docs[(s * batch + i) % len(docs)] for i in range(rank * share, (rank + 1) * share)]
        loss = model([[bos] + [ids[ch] for ch in d] + [bos] for d in mine])
        # Under DDP, backward averages the gradients over the processes as it goes
        # (gloo all-reduce, bucket by bucket): each process's loss is the mean of
        # an equal share, so the average is the gradient of the batch's mean.
        loss.backward()
        mean = loss.detach().clone()
        if ddp:
            dist.all_reduce(mean)
            mean /= world
        mean = mean.item()
        adam_step(params, m, v, s, lr_at(export, lr, s, num_steps), beta1, beta2, eps)
        losses.append(mean)
        if rank == 0:
            print(f"step {s + 1:4d} / {num_steps:4d} | loss {mean:.4f}", flush=True)
    if rank == 0:
        metadata = dict(export.metadata)
        metadata["step"] = str(export.step + args.steps)
        metadata["losses"] = json.dumps(json.loads(metadata.get("losses", "[]")) + losses)
        tensors = {n: gpt.p(n).detach().contiguous() for n in gpt.names}
        tmp = args.out + ".tmp"
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, args.out)
        print(f"wrote {args.out}: {len(tensors)} f64 tensors after step {export.step + args.steps}")
    if ddp:
        dist.destroy_process_group()


def free_port():
    """A port on 127.0.0.1 that nothing listens on now, for the rendezvous."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cmd_train(args):
    if os.path.exists(args.out) and not args.force:
        sys.exit(f"torch_twin: {args.out} exists; give another --out, or --force to replace it")
    if os.path.abspath(args.out) == os.path.abspath(args.model):
        sys.exit("torch_twin: --out is the --model file; write the trained weights elsewhere")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        # Started by torchrun or another launcher: it set the rendezvous too.
        train_worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
    elif args.ddp > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(args.port or free_port()))
        if os.environ["MASTER_ADDR"] not in ("127.0.0.1", "localhost"):
            sys.exit("torch_twin: --ddp spawns processes on this machine; MASTER_ADDR must be 127.0.0.1")
        torch.multiprocessing.spawn(train_worker, args=(args.ddp, args), nprocs=args.ddp)
    else:
        train_worker(0, 1, args)


def cmd_bench(args):
    """Documents/s of training steps (forward, backward, Adam) on a model of any size."""
    torch.set_num_threads(args.threads)
    dtype = {"f64": torch.float64, "f32": torch.float32}[args.dtype]
    if args.model:
        export = Export(args.model)
        gpt = export.model(dtype)
    else:
        config = {
            "vocab_size": args.vocab_size,
            "n_embd": args.n_embd,
            "n_head": args.n_head,
            "n_layer": args.n_layer,
            "block_size": args.block_size,
        }
        gpt = Gpt(config, args.activation, dtype)
        gen = torch.Generator().manual_seed(42)
        with torch.no_grad():
            for p in gpt.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) * 0.08)
    config = gpt.config
    params = list(gpt.parameters())
    opt = torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(0)
    t, v = config["block_size"], config["vocab_size"]
    if args.data:
        # Real documents, each batch padded to its longest: positions past a
        # document's end are masked out of its loss (attention is causal, so they
        # change nothing before them), and each document weighs its own mean.
        docs = read_docs(args.data, 42)
        chars = sorted(set("".join(docs)))
        if len(chars) + 1 != v:
            sys.exit(f"torch_twin: {args.data} has {len(chars)} characters; the model's vocab_size is {v}")
        ids = {ch: i for i, ch in enumerate(chars)}
        bos = len(chars)
        encoded = [[bos] + [ids[ch] for ch in d] + [bos] for d in docs]
        cursor = [0]

        def batch():
            rows = [encoded[(cursor[0] + i) % len(encoded)][: t + 1] for i in range(args.batch_size)]
            cursor[0] += args.batch_size
            width = max(len(r) for r in rows)
            tokens = torch.full((len(rows), width), -1)
            for i, r in enumerate(rows):
                tokens[i, : len(r)] = torch.tensor(r)
            return tokens

    else:
        # Batches of random full-length documents: the longest case.
        def batch():
            return torch.randint(0, v, (args.batch_size, t + 1), generator=gen)

    # Made before the clock starts: the time is the model's, not the batching's.
    batches = iter([batch() for _ in range(args.warmup + args.steps)])

    def step():
        tokens = next(batches)
        inputs, targets = tokens[:, :-1].clamp_min(0), tokens[:, 1:]
        logits = gpt(inputs)
        losses = F.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), ignore_index=-1, reduction="none")
        mask = (targets >= 0).to(losses.dtype)
        per_doc = (losses.view_as(mask) * mask).sum(-1) / mask.sum(-1)
        loss = per_doc.mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    elapsed = time.perf_counter() - start
    docs = args.steps * args.batch_size
    n_params = sum(p.numel() for p in params)
    print(
        f"torch {torch.__version__} {args.dtype}, {args.threads} thread(s), batch {args.batch_size}, "
        f"n_embd {config['n_embd']} n_head {config['n_head']} n_layer {config['n_layer']} "
        f"block {t} vocab {v} ({n_params} params), {'documents of ' + args.data if args.data else 'random full-length documents'}: "
        f"{docs / elapsed:.0f} documents/s ({elapsed / docs * 1e6:.1f} us/document, {args.steps} steps)"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    check = sub.add_parser("check", help="our logits against the twin's, in f64")
    check.add_argument("--model", required=True, help="the safetensors export")
    check.add_argument("--logits", required=True, help='JSON {"tokens": [T ids], "logits": [T rows of V]}')
    check.add_argument("--tolerance", type=float, default=1e-12, help="largest relative difference allowed")
    check.set_defaults(run=cmd_check)

    train = sub.add_parser("train", help="continue training an export, write it back")
    train.add_argument("--model", required=True, help="the safetensors export to start from")
    train.add_argument("--data", default=NAMES, help="documents, one a line (default: the names our training embeds)")
    train.add_argument("--out", required=True, help="the safetensors file to write")
    train.add_argument("--force", action="store_true", help="replace --out if it exists")
    train.add_argument("--steps", type=int, default=1, help="training steps to take")
    train.add_argument("--batch-size", type=int, default=1, help="documents per step")
    train.add_argument("--seed", type=int, default=42, help="the documents' shuffle seed")
    train.add_argument("--num-steps", type=int, default=0, help="the schedule's length, if the export does not say")
    train.add_argument("--lr", type=float, default=0.0, help="peak learning rate, if not the export's")
    train.add_argument("--threads", type=int, default=1, help="torch threads per process")
    train.add_argument("--ddp", type=int, default=1, help="processes on this machine (DistributedDataParallel over gloo)")
    train.add_argument("--port", type=int, default=0, help="the rendezvous port on 127.0.0.1 for --ddp (default: a free one)")
    train.set_defaults(run=cmd_train)

    bench = sub.add_parser("bench", help="documents/s of training steps")
    bench.add_argument("--model", help="an export to time (else the sizes below)")
    bench.add_argument("--vocab-size", type=int, default=27)
    bench.add_argument("--n-embd", type=int, default=16)
    bench.add_argument("--n-head", type=int, default=4)
    bench.add_argument("--n-layer", type=int, default=1)
    bench.add_argument("--block-size", type=int, default=8)
    bench.add_argument("--activation", default="relu2", choices=["relu2", "relu"])
    bench.add_argument("--data", help="documents to train on, one a line (else random ones of full length)")
    bench.add_argument("--batch-size", type=int, default=1)
    bench.add_argument("--threads", type=int, default=1)
    bench.add_argument("--dtype", default="f64", choices=["f64", "f32"])
    bench.add_argument("--steps", type=int, default=200)
    bench.add_argument("--warmup", type=int, default=20)
    bench.set_defaults(run=cmd_bench)

    # `--bench` and `--ddp N` as the issue spells them: `--bench ...` is `bench ...`,
    # `--ddp N ...` is `train --ddp N ...`.
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--bench":
        argv[0] = "bench"
    elif argv and argv[0] == "--ddp":
        argv = ["train"] + argv
    args = ap.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
