#!/usr/bin/env python3
"""Write fixtures/cpython_random.json: what CPython's `random` module produces.

The Rust crate `params` re-implements CPython 3.11's `random.Random` bit for bit
(`crates/params/src/pyrandom.rs`) because the reference microgpt program's
output depends on its exact random stream. This script records that stream from
the installed CPython itself, so the Rust tests (`crates/params/tests/pyrandom.rs`)
compare against the real thing rather than against a re-derivation.

Run from the repository root, with the standard library only:

    python3 scripts/cpython_random_fixture.py > fixtures/cpython_random.json

The output is deterministic for a given CPython (the algorithms have not changed
since 3.9; `gauss` also depends on the C library's log/sin/cos/sqrt).

Format. Floats are stored losslessly as their IEEE-754 bit pattern, an unsigned
64-bit JSON integer (`struct.unpack("<Q", struct.pack("<d", x))`), because JSON
cannot hold NaN or infinities and bit patterns keep the sign of zero. Each
scenario seeds a fresh generator and lists steps performed in order on it;
each step names its operation ("op") and records the inputs and every output:

  getrandbits  k, out          -- len(out) calls of getrandbits(k)
  random       out             -- len(out) calls of random() (bits)
  randbelow    n, out          -- len(out) calls of randrange(n) == _randbelow(n)
  shuffle      n, out          -- x = list(range(n)); shuffle(x); out = x
  gauss        mu, sigma, out  -- gauss(mu, sigma[i]) for each i (bits)
  choices      weights, out    -- choices(range(len(w)), weights=w)[0], repeated
  state        key, index, gauss_next
                               -- getstate() == (3, (*key, index), gauss_next)
  shuffle_digest n, head, tail, fnv1a64
  gauss_digest mu, blocks, count, head, tail, sum, fnv1a64
                               -- long runs, summarised: the first and last
                                  values, a left-to-right float sum (bits) and
                                  FNV-1a 64 over each value's 8 little-endian
                                  bytes (ints, or float bit patterns)

"choices_errors" records the exception CPython raises for invalid weights.
"""
import json
import math
import random
import struct
import sys

SEEDS = [0, 1, 42, 12345, 2**32 + 7, 2**64 - 1]
# Only a few fresh outputs for these: they probe the one/two-word seed boundary.
BOUNDARY_SEEDS = [2**32 - 1, 2**32]


def bits(x):
    """The IEEE-754 bit pattern of a float (ints such as 0 are converted first)."""
    return struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def fnv1a64(values):
    h = 0xCBF29CE484222325
    for v in values:
        for b in v.to_bytes(8, "little"):
            h ^= b
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def state_step(rng):
    version, internal, gauss_next = rng.getstate()
    assert version == 3 and len(internal) == 625
    return {
        "op": "state",
        "key": list(internal[:624]),
        "index": internal[624],
        "gauss_next": None if gauss_next is None else bits(gauss_next),
    }


def softmax(logits):
    m = max(logits)
    exps = [math.exp(v - m) for v in logits]
    s = sum(exps)
    return [e / s for e in exps]


# Weight vectors for `choices`, with the total each is meant to illustrate.
WEIGHT_SETS = [
    # Probabilities as the reference computes them: a softmax, summing to ~1.0.
    softmax([0.3 * ((7 * i) % 11) - 1.0 for i in range(27)]),
    [0.25, 0.25, 0.5],  # exactly 1.0
    [0.1, 0.2, 0.15, 0.05],  # ~0.5
    [1.0, 2.5, 0.3, 3.5],  # 7.3
    [3e-301, 5e-301, 2e-301],  # 1e-300
    [2.5e5, 1e5, 6.5e5],  # 1e6
    [0.0, 0.0, 1.0, 0.0, 2.0, 0.0],  # zeros, first and last included
    [0.7],  # a single weight
    [1.0, -0.9, 5.0],  # negative weight: partial sums not monotonic
    [5e-324, 5e-324, 5e-324],  # subnormal
]
DRAWS_PER_WEIGHT_SET = 40

GETRANDBITS_K = [1, 2, 3, 5, 7, 8, 13, 16, 31, 32, 33, 40, 48, 53, 63, 64]
RANDBELOW_N = [1, 2, 3, 5, 7, 10, 100, 1000, 2**31, 2**32 - 1, 2**32, 2**32 + 1,
               2**53 + 1, 2**63, 2**64 - 1]

# Sigmas for the interleaved gauss calls: 0.02 (float), 0 (int, as the reference
# passes it), 0.0 and 1.0 mixed so that the stored spare crosses calls of
# different sigma. 47 + 4 = 51 calls leave a spare behind for the final state.
GAUSS_SIGMA_CYCLE = [0.02, 0, 0.0, 0.02, 0.02, 1.0, 0, 0.02, 0.0, 0.02, 0.02]
GAUSS_CALLS = 47


def fresh_scenarios():
    out = []
    for seed in SEEDS + BOUNDARY_SEEDS:
        rng = random.Random(seed)
        out.append({"name": f"seed {seed}: first getrandbits(32)", "seed": seed,
                    "steps": [{"op": "getrandbits", "k": 32,
                               "out": [rng.getrandbits(32) for _ in range(20)]}]})
        rng = random.Random(seed)
        out.append({"name": f"seed {seed}: first random()", "seed": seed,
                    "steps": [{"op": "random",
                               "out": [bits(rng.random()) for _ in range(20)]}]})
    rng = random.Random(42)
    out.append({"name": "seed 42: state after seeding", "seed": 42,
                "steps": [state_step(rng)]})
    return out


def mixed_scenario(seed):
    rng = random.Random(seed)
    steps = []
    steps.append({"op": "getrandbits", "k": 32,
                  "out": [rng.getrandbits(32) for _ in range(20)]})
    steps.append({"op": "random", "out": [bits(rng.random()) for _ in range(20)]})
    for n in [0, 1, 2, 3, 10, 100, 1000]:
        x = list(range(n))
        rng.shuffle(x)
        steps.append({"op": "shuffle", "n": n, "out": x})
    if seed == 42:
        # A mid-block index and no gauss spare.
        steps.append(state_step(rng))
    sigmas = [GAUSS_SIGMA_CYCLE[i % len(GAUSS_SIGMA_CYCLE)] for i in range(GAUSS_CALLS)]
    steps.append({"op": "gauss", "mu": bits(0), "sigma": [bits(s) for s in sigmas],
                  "out": [bits(rng.gauss(0, s)) for s in sigmas]})
    sigmas = [0.5, 0.0, 2.0, 0.02]
    steps.append({"op": "gauss", "mu": bits(0.5), "sigma": [bits(s) for s in sigmas],
                  "out": [bits(rng.gauss(0.5, s)) for s in sigmas]})
    for w in WEIGHT_SETS:
        population = range(len(w))
        steps.append({"op": "choices", "weights": [bits(v) for v in w],
                      "out": [rng.choices(population, weights=w)[0]
                              for _ in range(DRAWS_PER_WEIGHT_SET)]})
    for k in GETRANDBITS_K:
        steps.append({"op": "getrandbits", "k": k,
                      "out": [rng.getrandbits(k) for _ in range(5)]})
    for n in RANDBELOW_N:
        steps.append({"op": "randbelow", "n": n,
                      "out": [rng.randrange(n) for _ in range(5)]})
    # An odd number of gauss calls above: this state holds a spare.
    steps.append(state_step(rng))
    # And the generator continues correctly after it (the Rust test restores
    # from the state above before replaying these).
    steps.append({"op": "gauss", "mu": bits(0), "sigma": [bits(0.02)] * 3,
                  "out": [bits(rng.gauss(0, 0.02)) for _ in range(3)]})
    steps.append({"op": "random", "out": [bits(rng.random()) for _ in range(5)]})
    return {"name": f"seed {seed}: mixed sequence", "seed": seed, "steps": steps}


def digest(name, values, **extra):
    return {"op": name, **extra, "head": values[:10], "tail": values[-10:],
            "fnv1a64": fnv1a64(values)}


def reference_program_scenario():
    """What the reference program does with `random` before training, at its
    default sizes: seed 42, shuffle the 32033 names, then initialise the
    parameters (wte, wpe, lm_head, attn_wq/wk/wv at std 0.02, attn_wo at std=0,
    mlp_fc1 at 0.02, mlp_fc2 at std=0: 4064 gauss(0, std) calls), then a few
    draws. The module-level functions are used, as the reference uses them."""
    random.seed(42)
    docs = list(range(32033))
    random.shuffle(docs)
    steps = [digest("shuffle_digest", docs, n=len(docs))]
    vocab, n_embd, block = 27, 16, 8
    blocks = [
        ((vocab + block + vocab) * n_embd + 3 * n_embd * n_embd, 0.02),
        (n_embd * n_embd, 0),
        (4 * n_embd * n_embd, 0.02),
        (4 * n_embd * n_embd, 0),
    ]
    values = []
    for count, std in blocks:
        values.extend(random.gauss(0, std) for _ in range(count))
    assert len(values) == 4064
    total = 0.0
    for v in values:  # explicit left-to-right sum (not sum(): 3.12 compensates)
        total += v
    patterns = [bits(v) for v in values]
    steps.append(digest("gauss_digest", patterns, mu=bits(0),
                        blocks=[[count, bits(std)] for count, std in blocks],
                        count=len(values), sum=bits(total)))
    steps.append({"op": "random", "out": [bits(random.random()) for _ in range(20)]})
    w = WEIGHT_SETS[0]
    steps.append({"op": "choices", "weights": [bits(v) for v in w],
                  "out": [random.choices(range(len(w)), weights=w)[0]
                          for _ in range(DRAWS_PER_WEIGHT_SET)]})
    return {"name": "reference program: seed 42, shuffle, init, draws", "seed": 42,
            "steps": steps}


def choices_errors():
    cases = [
        [],
        [0.0],
        [0.0, -0.0, 0.0],
        [1.0, -2.0],
        [-math.inf, 1.0],
        [1.0, math.inf],
        [1e308, 1e308],
        [math.nan],
        [math.inf, -math.inf],
        [1.0, math.nan, 2.0],
    ]
    out = []
    for w in cases:
        rng = random.Random(0)
        before = rng.getstate()
        try:
            rng.choices(range(len(w)), weights=w)
        except (ValueError, IndexError) as e:
            exc = {"exception": type(e).__name__, "message": str(e)}
        else:
            raise AssertionError(f"no error for {w}")
        assert rng.getstate() == before, "an error consumed randomness"
        out.append({"weights": [bits(v) for v in w], **exc})
    return out


def dump(fixture):
    """JSON with one step (or error case) per line: small, and diffs stay readable."""
    compact = lambda v: json.dumps(v, separators=(",", ":"))
    lines = ["{"]
    for key in ("generator", "python", "float_encoding"):
        lines.append(f" {compact(key)}:{compact(fixture[key])},")
    for group in ("fresh", "mixed", "reference_program"):
        lines.append(f" {compact(group)}:[")
        scenarios = fixture[group]
        for si, sc in enumerate(scenarios):
            lines.append(f'  {{"name":{compact(sc["name"])},"seed":{sc["seed"]},"steps":[')
            steps = sc["steps"]
            lines.extend("   " + compact(st) + ("," if i + 1 < len(steps) else "")
                         for i, st in enumerate(steps))
            lines.append("  ]}" + ("," if si + 1 < len(scenarios) else ""))
        lines.append(" ],")
    lines.append(' "choices_errors":[')
    errs = fixture["choices_errors"]
    lines.extend("  " + compact(e) + ("," if i + 1 < len(errs) else "")
                 for i, e in enumerate(errs))
    lines.append(" ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == fixture
    return text


def main():
    if sys.version_info[:2] != (3, 11):
        print(f"warning: this fixture documents CPython 3.11; running {sys.version}",
              file=sys.stderr)
    fixture = {
        "generator": "scripts/cpython_random_fixture.py",
        "python": sys.version.split()[0],
        "float_encoding": "IEEE-754 binary64 bit pattern as an unsigned 64-bit integer",
        "fresh": fresh_scenarios(),
        "mixed": [mixed_scenario(seed) for seed in SEEDS],
        "reference_program": [reference_program_scenario()],
        "choices_errors": choices_errors(),
    }
    sys.stdout.write(dump(fixture))


if __name__ == "__main__":
    main()
