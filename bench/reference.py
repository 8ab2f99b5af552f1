#!/usr/bin/env python3
"""The Python PyTorch side of `ecgtwin bench --suite models` (see bench/README.md).

  reference.py check DIR             load the weights `ecgtwin reference-export -o DIR` wrote
                                     into the Python networks, run the same inputs, compare
                                     every output and the parameter counts: max abs diff
                                     <= 1e-5 x max(1, max |output|) (float32, CPU; the scale
                                     only matters for the sampled latents, which reach ~200)
  reference.py bench CPP.json        run the plan of a C++ bench result (same sizes, repeats,
                                     threads, device) and print the Python figures as JSON
  reference.py combine [--check CHECK.json] CPP.json PY.json [CPP.json PY.json ...]
                                     one JSON object from one pair per round: each figure for
                                     C++ and Python (medians over the rounds) and C++/Python
                                     ratios (keys *_ratio_vs_python, > 1: C++ faster)
"""
import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models as rm  # noqa: E402

TOLERANCE = 1e-5
STATEMENT_SLOTS = 8


# ---- FLOPs counted while running (an independent check of the C++ shape formulas) --------

class FlopCounter:
    """Counts 2 FLOPs per multiply-add of every Linear, Conv1d and attention product run
    inside the `with` block (forward only)."""

    def __init__(self, *modules):
        self.flops, self.handles, self.modules = 0, [], modules

    def _hook(self, module, inputs, output):
        if isinstance(module, nn.Linear):
            self.flops += 2 * output.numel() * module.in_features
        elif isinstance(module, nn.Conv1d):
            self.flops += 2 * output.numel() * module.in_channels // module.groups * module.kernel_size[0]

    def __enter__(self):
        for m in self.modules:
            for sub in m.modules():
                if isinstance(sub, (nn.Linear, nn.Conv1d)):
                    self.handles.append(sub.register_forward_hook(self._hook))
        self._attention, self._block = rm.attention, rm.AttentionBlock1d.forward
        counter = self

        def counted_attention(q, k, v, mask):
            b, h, length, d = q.shape
            counter.flops += 4 * b * h * length * k.size(2) * d
            return counter._attention(q, k, v, mask)

        def counted_block(block, x):
            counter.flops += 4 * x.size(0) * x.size(2) * x.size(2) * x.size(1)
            return counter._block(block, x)
        rm.attention, rm.AttentionBlock1d.forward = counted_attention, counted_block
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        rm.attention, rm.AttentionBlock1d.forward = self._attention, self._block


# ---- networks and batches ------------------------------------------------------------------

class Networks:
    def __init__(self, device):
        self.autoencoder = rm.Autoencoder().to(device)
        self.extractor = rm.Extractor().to(device)
        self.condition = rm.ConditionEncoder(rm.HIDDEN).to(device)
        self.denoiser = rm.DitDenoiser().to(device)
        self.schedule = rm.Schedule(device)

    def named(self):
        return {"autoencoder": self.autoencoder, "extractor": self.extractor,
                "condition": self.condition, "denoiser": self.denoiser}


def count(module):
    return sum(p.numel() for p in module.parameters())


def make_batch(batch, device, seed=1):
    g = torch.Generator().manual_seed(seed)
    randn = lambda *shape: torch.randn(*shape, generator=g).to(device)
    real = torch.arange(batch).remainder(STATEMENT_SLOTS).add(1).unsqueeze(1)
    return {
        "signal": randn(batch, rm.LEADS, rm.LENGTH),
        "latent": randn(batch, rm.LATENT_CHANNELS, rm.LATENT_LENGTH),
        "latent_other": randn(batch, rm.LATENT_CHANNELS, rm.LATENT_LENGTH),
        "statements": randn(batch, STATEMENT_SLOTS, rm.STATEMENT_DIM),
        "mask": torch.arange(STATEMENT_SLOTS).unsqueeze(0).lt(real).to(device),
        "demographics": (torch.tensor([50.0 + (i * 37) % 90 for i in range(batch)], device=device),
                         torch.tensor([20.0 + (i * 53) % 70 for i in range(batch)], device=device),
                         torch.tensor([i % 3 for i in range(batch)], device=device)),
        "base_vector": randn(batch, rm.HIDDEN),
    }


def autocast(device, enabled):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


class TrainingStep:
    def __init__(self, nets, stage, bf16):
        self.nets, self.stage, self.bf16 = nets, stage, bf16
        modules = {"denoiser": [nets.condition, nets.denoiser], "extractor": [nets.extractor],
                   "autoencoder": [nets.autoencoder]}[stage]
        self.parameters = [p for m in modules for p in m.parameters()]
        for m in modules:
            m.train()
        self.optimizer = torch.optim.AdamW(self.parameters, lr=1e-4, weight_decay=0.0)

    def forward(self, b, generator):
        nets = self.nets
        if self.stage == "denoiser":
            tokens, mask = nets.condition(b["statements"], b["mask"], b["demographics"])
            draws = None if b["latent"].is_cuda else generator
            return rm.epsilon_loss(nets.denoiser, nets.schedule, b["latent"], (b["base_vector"], tokens, mask), draws)
        if self.stage == "extractor":
            ibe, n = nets.extractor, b["latent"].size(0)
            drop_a, drop_b = ibe.sample_condition_drop(n, generator), ibe.sample_condition_drop(n, generator)
            a = ibe.extract(b["latent"], b["statements"], b["mask"], b["demographics"], drop_a)
            c = ibe.extract(b["latent_other"], b["statements"], b["mask"], b["demographics"], drop_b)
            return rm.info_nce(a.float(), c.float(), ibe.logit_scale)
        recon, mu, logvar = nets.autoencoder(b["signal"], generator)
        return rm.autoencoder_loss(recon.float(), b["signal"], mu, logvar, 1e-6)

    def run(self, b, generator):
        self.optimizer.zero_grad()
        with autocast(b["signal"].device, self.bf16):
            loss = self.forward(b, generator)
        loss.backward()
        self.optimizer.step()
        return loss.detach()


@torch.no_grad()
def twin_conditions(nets, b, bf16):
    for m in (nets.autoencoder, nets.extractor, nets.condition):
        m.eval()
    with autocast(b["signal"].device, bf16):
        reference = nets.autoencoder.encode_latent(b["signal"])
        base = nets.extractor.extract(reference, b["statements"], b["mask"], b["demographics"])
        tokens, mask = nets.condition(b["statements"], b["mask"], b["demographics"])
    return base.float(), tokens.float(), mask


def sample_latents(nets, conditions, batch, bf16, **sampler):
    device = conditions[0].device
    with autocast(device, bf16):
        return rm.sample(nets.denoiser, nets.schedule, [batch, rm.LATENT_CHANNELS, rm.LATENT_LENGTH],
                         conditions, device=device, **sampler)


@torch.no_grad()
def decode(nets, latent, bf16):
    with autocast(latent.device, bf16):
        return nets.autoencoder.decode(latent).float()


# ---- check against the C++ export ----------------------------------------------------------

def load_npy(folder, name, dtype=torch.float32):
    return torch.from_numpy(np.load(os.path.join(folder, name + ".npy"))).to(dtype)


def load_weights(module, folder):
    state = module.state_dict()
    files = {os.path.relpath(os.path.join(root, f), folder)[:-4]
             for root, _, fs in os.walk(folder) for f in fs if f.endswith(".npy")}
    missing, unexpected = sorted(set(state) - files), sorted(files - set(state))
    if missing or unexpected:
        raise SystemExit(f"{folder}: names differ; missing in C++ {missing[:5]}, only in C++ {unexpected[:5]}")
    loaded = {}
    for name, value in state.items():
        array = load_npy(folder, name, value.dtype)
        if tuple(array.shape) != tuple(value.shape):
            raise SystemExit(f"{folder}/{name}: shape {tuple(array.shape)} in C++, {tuple(value.shape)} here")
        loaded[name] = array
    module.load_state_dict(loaded)


def check(folder):
    torch.manual_seed(0)
    manifest = json.load(open(os.path.join(folder, "manifest.json")))
    nets = Networks(torch.device("cpu"))
    counts = {}
    for name, module in nets.named().items():
        load_weights(module, os.path.join(folder, "weights", name))
        module.eval()
        counts[name] = {"cpp": manifest["networks"][name]["parameters"], "python": count(module)}
    inp = lambda n, dtype=torch.float32: load_npy(os.path.join(folder, "inputs"), n, dtype)
    expected = lambda n: load_npy(os.path.join(folder, "outputs"), n)
    demographics = (inp("heart_rate"), inp("age"), inp("sex", torch.int64))
    b = {"signal": inp("signal"), "latent": inp("latent"), "latent_other": inp("latent_other"),
         "statements": inp("statements"), "mask": inp("mask", torch.bool), "demographics": demographics,
         "base_vector": inp("base_vector")}
    outputs = {}
    with torch.no_grad():
        mu, logvar = nets.autoencoder.encode(b["signal"])
        outputs["autoencoder_mu"], outputs["autoencoder_logvar"] = mu, logvar
        outputs["autoencoder_decoded"] = nets.autoencoder.decode(b["latent"])
        base_a = nets.extractor.extract(b["latent"], b["statements"], b["mask"], demographics, inp("drop", torch.bool))
        base_b = nets.extractor.extract(b["latent_other"], b["statements"], b["mask"], demographics)
        outputs["extractor_base"], outputs["extractor_base_other"] = base_a, base_b
        outputs["info_nce"] = rm.info_nce(base_a, base_b, nets.extractor.logit_scale).view(1)
        tokens, mask = nets.condition(b["statements"], b["mask"], demographics)
        outputs["condition_tokens"] = tokens
        outputs["denoiser_epsilon"] = nets.denoiser(b["latent_other"], inp("timesteps", torch.int64),
                                                    b["base_vector"], tokens, mask)
        conditions = twin_conditions(nets, b, False)
        outputs["twin_base_vector"] = conditions[0]
        latent = sample_latents(nets, conditions, manifest["batch"], False, sampler="ddim", steps=50,
                                eta=0.0, initial_noise=inp("x_T"))
        outputs["ddim50_latent"], outputs["ddim50_twin"] = latent, nets.autoencoder.decode(latent)
        s = manifest["sampling"]["ddim10_eta1"]
        outputs["ddim10_eta1_latent"] = sample_latents(nets, conditions, manifest["batch"], False, sampler="ddim",
                                                       steps=s["steps"], eta=s["eta"], seed=s["seed"])
    diffs, passed = {}, True
    for name, value in outputs.items():
        ref = expected(name)
        diff = (value.float() - ref).abs().max().item()
        scale = max(1.0, ref.abs().max().item())
        diffs[name] = {"max_abs_diff": diff, "max_abs_value": ref.abs().max().item(), "scaled_diff": diff / scale}
        passed = passed and diff <= TOLERANCE * scale and tuple(value.shape) == tuple(ref.shape)
    counts_equal = all(c["cpp"] == c["python"] for c in counts.values())
    return {"torch_version": torch.__version__, "fused_attention": rm.HAS_SDPA, "tolerance": TOLERANCE,
            "parameters": counts, "parameter_counts_equal": counts_equal, "outputs": diffs,
            "passed": bool(passed and counts_equal)}


# ---- timing ---------------------------------------------------------------------------------

def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_median(device, warmup, repeats, run):
    for _ in range(warmup):
        run()
    synchronise(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        synchronise(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def matrix_rate(device, cpp_rate):
    n = cpp_rate["n"]
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    seconds = timed_median(device, 3, 10 if device.type == "cuda" else 5, lambda: torch.matmul(a, b))
    return {"dtype": str(dtype).replace("torch.", ""), "n": n, "seconds": seconds, "tflops": 2.0 * n ** 3 / seconds / 1e12}


def counted_forward_flops(nets, stage, batch, device):
    """Forward FLOPs of one training step, counted while running at batch 2 and scaled."""
    small = make_batch(2, device, seed=9)
    step = TrainingStep(nets, stage, False)
    with torch.no_grad(), FlopCounter(*nets.named().values()) as counter:
        step.forward(small, torch.Generator().manual_seed(0))
    return counter.flops / 2 * batch


def counted_twin_flops(nets, batch, steps, device):
    small = make_batch(2, device, seed=9)
    with torch.no_grad(), FlopCounter(*nets.named().values()) as fixed:
        conditions = twin_conditions(nets, small, False)
        decode(nets, small["latent"], False)
    with torch.no_grad(), FlopCounter(nets.denoiser) as step:
        sample_latents(nets, conditions, 2, False, sampler="ddim", steps=1)
    return (fixed.flops + steps * step.flops) / 2 * batch


def bench(cpp):
    plan = cpp["suites"]["models"]["plan"]
    device = torch.device(plan["device"])
    torch.set_num_threads(plan["threads"])
    torch.manual_seed(0)
    bf16 = plan["bf16_autocast"]
    nets = Networks(device)
    warmup, repeats = plan["warmup"], plan["repeats"]
    rate = matrix_rate(device, cpp["suites"]["models"]["matrix_rate"])
    out = {"torch_version": torch.__version__, "python": platform.python_version(), "fused_attention": rm.HAS_SDPA,
           "threads": torch.get_num_threads(), "matrix_rate": rate,
           "parameters": {k: count(m) for k, m in nets.named().items()}, "train": {}, "sampling": {}}
    for stage, batch in plan["train"].items():
        counted = counted_forward_flops(nets, stage, batch, device)
        step = TrainingStep(nets, stage, bf16)
        b = make_batch(batch, device)
        generator = torch.Generator().manual_seed(2)
        reset_peak(device)
        seconds = timed_median(device, warmup, repeats, lambda: step.run(b, generator))
        flops = 3 * counted
        out["train"][stage] = {"batch": batch, "parameters": sum(p.numel() for p in step.parameters),
                               "seconds_per_step": seconds, "samples_per_second": batch / seconds,
                               "flops_per_step_counted": flops, "tflops_achieved": flops / seconds / 1e12,
                               "fraction_of_matrix_rate": flops / seconds / 1e12 / rate["tflops"],
                               "peak_memory_mb": peak_memory_mb(device)}
        del step, b
    for entry in plan["sampling"]:
        batch, steps, sampler, timed = entry["batch"], entry["steps"], entry["sampler"], entry["steps_timed"]
        b = make_batch(batch, device, seed=3)

        def options(k):
            if k == steps and sampler == "ddpm":
                return {"sampler": "ddpm", "seed": 5}
            return {"sampler": "ddim", "steps": k, "eta": 1.0 if sampler == "ddpm" else 0.0, "seed": 5}
        def twins(k):
            conditions = twin_conditions(nets, b, bf16)
            decode(nets, sample_latents(nets, conditions, batch, bf16, **options(k)), bf16)
        twins(2)  # warm-up: a two-step run of the whole pipeline at this batch
        synchronise(device)
        reset_peak(device)
        result = {"batch": batch, "sampler": sampler, "steps": steps}
        sampling_repeats = plan["sampling_repeats"]
        if timed == steps:
            seconds = timed_median(device, 0, sampling_repeats, lambda: twins(steps))
            result["projected"] = False
        else:
            def fixed_part():
                twin_conditions(nets, b, bf16)
                decode(nets, b["latent"], bf16)
            conditions = twin_conditions(nets, b, bf16)
            fixed = timed_median(device, 0, sampling_repeats, fixed_part)
            loop = timed_median(device, 0, sampling_repeats,
                                lambda: sample_latents(nets, conditions, batch, bf16, **options(timed)))
            seconds = fixed + steps * loop / timed
            result.update({"projected": True, "steps_timed": timed, "fixed_seconds": fixed,
                           "seconds_per_denoiser_step": loop / timed})
        flops = counted_twin_flops(nets, batch, steps, device)
        result.update({"seconds": seconds, "twins_per_second": batch / seconds, "flops_counted": flops,
                       "tflops_achieved": flops / seconds / 1e12,
                       "fraction_of_matrix_rate": flops / seconds / 1e12 / rate["tflops"],
                       "peak_memory_mb": peak_memory_mb(device)})
        out["sampling"][entry["name"]] = result
    return out


def combine(rounds, checked=None):
    """One object from the (C++, Python) result pairs of one or more rounds: each figure is the
    median over the rounds on each side, the ratio is C++ over Python of those medians, and
    *_ratio_per_round lists the ratio of every round."""
    cpp, py = rounds[0]
    models = cpp["suites"]["models"]
    out = {"date": cpp["date"], "machine": cpp["machine"], "quick": cpp["quick"], "device": models["device"],
           "torch_cpp": models["torch_version"], "torch_python": py["torch_version"],
           "threads": models["plan"]["threads"], "bf16_autocast": models["plan"]["bf16_autocast"],
           "repeats": models["plan"]["repeats"], "rounds": len(rounds), "train_batches": models["plan"]["train"],
           "matrix_rate_tflops": models["matrix_rate"]["tflops"]}
    if "skipped" in models["plan"]:
        out["skipped"] = models["plan"]["skipped"]
    if checked is not None:
        out["reference_check_passed"] = checked["passed"]
        out["reference_check_max_abs_diff"] = max(v["max_abs_diff"] for v in checked["outputs"].values())
    out["parameter_counts_equal"] = all(
        models["parameters"][k] == py["parameters"][k if k != "denoiser_condition" else "condition"]
        for k in models["parameters"])
    flops_agree = True

    def figure(name, part, key, value):
        cpp_values = [c["suites"]["models"][part][key][value] for c, _ in rounds]
        py_values = [p[part][key][value] for _, p in rounds]
        cpp_value, py_value = statistics.median(cpp_values), statistics.median(py_values)
        out[name + "_cpp"], out[name + "_python"] = cpp_value, py_value
        out[name + "_ratio_vs_python"] = cpp_value / py_value if py_value else None
        if len(rounds) > 1:
            out[name + "_ratio_per_round"] = [c / p if p else None for c, p in zip(cpp_values, py_values)]

    for stage, c in models["train"].items():
        p = py["train"][stage]
        figure(f"train_{stage}_samples_per_second", "train", stage, "samples_per_second")
        out[f"train_{stage}_fraction_of_matrix_rate_cpp"] = c.get("fraction_of_matrix_rate")
        flops_agree &= abs(c["flops_per_step"] / p["flops_per_step_counted"] - 1) < 0.01
        out[f"train_{stage}_peak_memory_mb_cpp"] = c["peak_memory_mb"]
        out[f"train_{stage}_peak_memory_mb_python"] = p["peak_memory_mb"]
    for name, c in models["sampling"].items():
        p = py["sampling"][name]
        figure(f"sampling_{name}_twins_per_second", "sampling", name, "twins_per_second")
        if c["projected"]:
            out[f"sampling_{name}_projected_from_steps"] = c["steps_timed"]
        flops_agree &= abs(c["flops"] / p["flops_counted"] - 1) < 0.01
    out["flops_formula_matches_counted"] = bool(flops_agree)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check")
    p.add_argument("folder")
    p = sub.add_parser("bench")
    p.add_argument("cpp_json")
    p = sub.add_parser("combine")
    p.add_argument("--check", dest="check_json", help="the reference check's JSON")
    p.add_argument("results", nargs="+", help="C++ JSON, Python JSON, for each round in turn")
    args = parser.parse_args()
    if args.command == "check":
        result = check(args.folder)
        print(json.dumps(result, indent=2))
        return 0 if result["passed"] else 1
    if args.command == "bench":
        print(json.dumps(bench(json.load(open(args.cpp_json))), indent=2))
        return 0
    checked = json.load(open(args.check_json)) if args.check_json else None
    if len(args.results) % 2:
        parser.error("combine takes a C++ and a Python JSON for each round")
    loaded = [json.load(open(f)) for f in args.results]
    print(json.dumps(combine(list(zip(loaded[0::2], loaded[1::2])), checked)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
