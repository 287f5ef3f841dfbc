#!/usr/bin/env python3
"""A faithful, dependency-free Python implementation of microgpt, for cross-checks.

This is the algorithm of `shared/spec/MICROGPT.md`, written the way the reference
program writes it: a scalar `Value` autograd with a depth-first topological sort,
Python's own `random` module, and Python float arithmetic. With no flags it prints
exactly what the reference program prints for seed 42 on its dataset.

`--preset v1` (the default) is the first published microgpt.py; `--preset v2` is the
revision in the gist today (the spec's section 9): block size 16, every matrix drawn
with std 0.08 (the output projections too), `relu(x)` instead of `relu(x) ** 2`, Adam
betas 0.85 and 0.99, 1000 steps, a linear learning-rate decay, step lines ending in a
carriage return and another inference header. Each of those settings also has its own
flag, which overrides the preset.

The Rust workspace uses it to produce reference runs for other seeds, sizes,
temperatures and datasets (`fixtures/parity/`). `--full` prints each loss with
`repr`, all 17 significant digits, to compare bit for bit instead of to 4 decimals.

    python3 scripts/reference.py --data names.txt --seed 7 --steps 20 --n-embd 8
    python3 scripts/reference.py --preset v2 --data names.txt > v2.txt
"""
import argparse
import math
import random


class Value:
    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other):
        return Value(self.data**other, (self,), (other * self.data ** (other - 1),))

    def log(self):
        return Value(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        return Value(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self):
        return Value(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        # Depth-first post-order, reversed: the order the reference uses. Iterative,
        # so that large configurations do not hit Python's recursion limit; it visits
        # children in the same order as the recursive version.
        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
                continue
            if id(v) in visited:
                continue
            visited.add(id(v))
            stack.append((v, True))
            for child in reversed(v._children):
                if id(child) not in visited:
                    stack.append((child, False))
        self.grad = 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad


# What each version of microgpt.py sets; the output format follows the preset alone.
PRESETS = {
    "v1": dict(steps=500, block_size=8, activation="relu2", init_std=0.02, zero_init_proj="true",
               lr_schedule="cosine", beta1=0.9, beta2=0.95),
    "v2": dict(steps=1000, block_size=16, activation="relu", init_std=0.08, zero_init_proj="false",
               lr_schedule="linear", beta1=0.85, beta2=0.99),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=sorted(PRESETS), default="v1")
    ap.add_argument("--data", default="names.txt")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--n-embd", type=int, default=16)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-layer", type=int, default=1)
    ap.add_argument("--block-size", type=int)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--activation", choices=["relu", "relu2"])
    ap.add_argument("--init-std", type=float)
    ap.add_argument("--zero-init-proj", choices=["true", "false"])
    ap.add_argument("--lr-schedule", choices=["cosine", "linear"])
    ap.add_argument("--beta1", type=float)
    ap.add_argument("--beta2", type=float)
    ap.add_argument("--full", action="store_true", help="print losses with repr()")
    args = ap.parse_args()
    # Every setting a preset holds, unless its own flag was given.
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    v2_output = args.preset == "v2"

    random.seed(args.seed)
    if v2_output:
        # v2 reads the file line by line; v1 strips the whole text and splits it.
        docs = [line.strip() for line in open(args.data, encoding="utf-8") if line.strip()]
    else:
        docs = [l.strip() for l in open(args.data, encoding="utf-8").read().strip().split("\n") if l.strip()]
    random.shuffle(docs)
    print(f"num docs: {len(docs)}")

    uchars = sorted(set("".join(docs)))
    BOS = len(uchars)
    vocab_size = len(uchars) + 1
    print(f"vocab size: {vocab_size}")

    n_embd, n_head, n_layer, block_size = args.n_embd, args.n_head, args.n_layer, args.block_size
    head_dim = n_embd // n_head
    std = args.init_std
    proj_std = 0 if args.zero_init_proj == "true" else std
    matrix = lambda nout, nin, std=std: [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
    state_dict = {"wte": matrix(vocab_size, n_embd), "wpe": matrix(block_size, n_embd), "lm_head": matrix(vocab_size, n_embd)}
    for i in range(n_layer):
        state_dict[f"layer{i}.attn_wq"] = matrix(n_embd, n_embd)
        state_dict[f"layer{i}.attn_wk"] = matrix(n_embd, n_embd)
        state_dict[f"layer{i}.attn_wv"] = matrix(n_embd, n_embd)
        state_dict[f"layer{i}.attn_wo"] = matrix(n_embd, n_embd, std=proj_std)
        state_dict[f"layer{i}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
        state_dict[f"layer{i}.mlp_fc2"] = matrix(n_embd, 4 * n_embd, std=proj_std)
    params = [p for mat in state_dict.values() for row in mat for p in row]
    print(f"num params: {len(params)}")

    def linear(x, w):
        return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

    def softmax(logits):
        max_val = max(val.data for val in logits)
        exps = [(val - max_val).exp() for val in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def rmsnorm(x):
        ms = sum(xi * xi for xi in x) / len(x)
        scale = (ms + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def gpt(token_id, pos_id, keys, values):
        x = [t + p for t, p in zip(state_dict["wte"][token_id], state_dict["wpe"][pos_id])]
        x = rmsnorm(x)
        for li in range(n_layer):
            x_residual = x
            x = rmsnorm(x)
            q = linear(x, state_dict[f"layer{li}.attn_wq"])
            k = linear(x, state_dict[f"layer{li}.attn_wk"])
            v = linear(x, state_dict[f"layer{li}.attn_wv"])
            keys[li].append(k)
            values[li].append(v)
            x_attn = []
            for h in range(n_head):
                hs = h * head_dim
                q_h = q[hs : hs + head_dim]
                k_h = [ki[hs : hs + head_dim] for ki in keys[li]]
                v_h = [vi[hs : hs + head_dim] for vi in values[li]]
                attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]
                attn_weights = softmax(attn_logits)
                head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)]
                x_attn.extend(head_out)
            x = linear(x_attn, state_dict[f"layer{li}.attn_wo"])
            x = [a + b for a, b in zip(x, x_residual)]
            x_residual = x
            x = rmsnorm(x)
            x = linear(x, state_dict[f"layer{li}.mlp_fc1"])
            if args.activation == "relu2":
                x = [xi.relu() ** 2 for xi in x]
            else:
                x = [xi.relu() for xi in x]
            x = linear(x, state_dict[f"layer{li}.mlp_fc2"])
            x = [a + b for a, b in zip(x, x_residual)]
        return linear(x, state_dict["lm_head"])

    learning_rate, beta1, beta2, eps_adam = args.lr, args.beta1, args.beta2, 1e-8
    m = [0.0] * len(params)
    v = [0.0] * len(params)
    num_steps = args.steps
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        losses = []
        for pos_id in range(n):
            token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
            logits = gpt(token_id, pos_id, keys, values)
            probs = softmax(logits)
            losses.append(-probs[target_id].log())
        loss = (1 / n) * sum(losses)
        loss.backward()
        if args.lr_schedule == "cosine":
            lr_t = learning_rate * 0.5 * (1 + math.cos(math.pi * step / num_steps))
        else:
            lr_t = learning_rate * (1 - step / num_steps)
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
            m_hat = m[i] / (1 - beta1 ** (step + 1))
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat**0.5 + eps_adam)
            p.grad = 0
        shown = repr(loss.data) if args.full else f"{loss.data:.4f}"
        print(f"step {step+1:4d} / {num_steps:4d} | loss {shown}", end="\r" if v2_output else "\n")

    temperature = args.temperature
    print("\n--- inference (new, hallucinated names) ---" if v2_output else "\n--- inference ---")
    for sample_idx in range(args.samples):
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        token_id = BOS
        sample = []
        for pos_id in range(block_size):
            logits = gpt(token_id, pos_id, keys, values)
            probs = softmax([l / temperature for l in logits])
            token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
            if token_id == BOS:
                break
            sample.append(uchars[token_id])
        print(f"sample {sample_idx+1:2d}: {''.join(sample)}")


if __name__ == "__main__":
    main()
