"""`make bench`: the book's kernels against neural-tangents, on identical inputs, in one process.

A benchmark, not a test: it prints a table and, as its last line,

    worst ratio: kernels X.XX, kernels memory X.XX, empirical NTK X.XX

(widenets / neural-tangents, worst over the cases; time ratios from warm runs).

Cases
- analytic NNGP + NTK of a ReLU or erf MLP of depth 1, 3, 5 (NTK parametrization, sigma_b = 0.1)
  on D = 500 and all 1797 digits: ``kernels.nngp_and_ntk`` against stax's ``kernel_fn`` for
  ("nngp", "ntk"), both under ``jax.jit``;
- empirical NTK of a depth-1 ReLU ``widenets.mlp`` network (NTK parametrization) of width 512
  and 2048, on N = 100 and 500 digits, with 1 and 10 outputs: ``tangent.empirical_ntk`` against
  the faster of neural-tangents' two implementations that work on this JAX (1: Jacobian
  contraction, 2: NTK-vector products; 3, structured derivatives, fails on JAX >= 0.6), jitted.

Timing: CPU time (``time.process_time``; XLA's threads are counted), the two sides interleaved,
min over ``--repeats`` warm calls (5 by default) after one warm-up; the cold first call
(tracing, compilation and one run) is reported beside it. Memory: the peak XLA buffer size of
the compiled program (arguments + outputs + temporaries, from ``Compiled.memory_analysis()``),
which does not depend on what else the process holds.
"""
from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import widenets  # noqa: F401  (float64)
from widenets import data, kernels, mlp, reference, tangent


#: Programs whose XLA buffers exceed this are not run (the machine has 24 GiB).
MEMORY_LIMIT = 8 * 2**30


def _block(out):
    return jax.tree_util.tree_map(lambda a: a.block_until_ready(), out)


def _cpu(fn):
    t = time.process_time()
    _block(fn())
    return time.process_time() - t


def _peak_bytes(jitted, *args) -> float:
    m = jitted.lower(*args).compile().memory_analysis()
    return float(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)


def _race(fns: dict, repeats: int) -> dict:
    """Cold first call of each, then `repeats` interleaved warm calls; min CPU seconds."""
    cold = {name: _cpu(fn) for name, fn in fns.items()}
    warm = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            warm[name].append(_cpu(fn))
    return {name: (cold[name], min(warm[name])) for name in fns}


def analytic_cases(repeats: int):
    x_all = np.asarray(data.digits(seed=0).x_train.tolist() + data.digits(seed=0).x_test.tolist())
    for n_points in (500, 1797):
        x = jnp.asarray(x_all[:n_points])
        for activation in ("relu", "erf"):
            for depth in (1, 3, 5):
                sw = float(np.sqrt(2.0)) if activation == "relu" else 1.0
                sb = 0.1
                # the comparison path of the tests and chapter 2: stax's kernel_fn, jitted
                kernel_fn = kernels._stax_kernel_fn(depth, activation, sw, sb)
                nt_fn = lambda a, kf=kernel_fn: kf(a, None)
                # the public call, validation included (it jits its recursion internally)
                ours = lambda a, L=depth, act_=activation: kernels.nngp_and_ntk(a, None, L, act_, sw, sb)
                t = _race({"widenets": lambda: ours(x), "nt": lambda: nt_fn(x)}, repeats)
                mine, theirs = ours(x), nt_fn(x)
                err = max(float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b))) for a, b in zip(mine, theirs))
                mem = (_peak_bytes(kernels._last_layer, x, x, depth, activation, sw, sb, True, "both"),
                       _peak_bytes(kernel_fn, x, None))
                yield f"NNGP+NTK {activation} L={depth} D={n_points}", t, mem, err


def entk_cases(repeats: int):
    nt = reference.neural_tangents()
    task = data.digits(seed=0)
    for width in (512, 2048):
        for n_points in (100, 500):
            for k in (1, 10):
                x = jnp.asarray(task.x_train[:n_points])
                net = mlp.mlp(x.shape[1], width, k, depth=1, activation="relu", parametrization="ntk")
                params = net.init(jax.random.PRNGKey(0))
                ours = lambda: tangent.empirical_ntk(net.apply, params, x)
                impls, skipped = {}, []
                for impl in (1, 2):
                    fn = jax.jit(nt.empirical_ntk_fn(net.apply, trace_axes=(-1,), vmap_axes=0,
                                                     implementation=impl))
                    need = _peak_bytes(fn, x, None, params)
                    if need > MEMORY_LIMIT:  # it does not work on this machine
                        skipped.append(f"impl {impl} needs {need / 2**30:.0f} GiB")
                        continue
                    impls[impl] = fn
                if skipped:
                    print(f"  (n={width} N={n_points} k={k}: neural-tangents {', '.join(skipped)}, "
                          f"more than the {MEMORY_LIMIT / 2**30:.0f} GiB allowed)")
                if not impls:
                    t = _race({"widenets": ours}, repeats)["widenets"]
                    print(f"{f'empirical NTK n={width} N={n_points} k={k}':<46} {1e3 * t[1]:>12.2f} "
                          f"{'-':>10} {'-':>6}   (no neural-tangents implementation fits)")
                    continue
                fns = {"widenets": ours}
                fns.update({f"nt{i}": (lambda f=f: f(x, None, params)) for i, f in impls.items()})
                if n_points == 100:  # the generic path (any apply_fn): J per parameter array
                    generic = lambda p, a, net=net: net.apply(p, a)
                    fns["generic"] = lambda: tangent.empirical_ntk(generic, params, x)
                t = _race(fns, repeats)
                best = min(impls, key=lambda i: t[f"nt{i}"][1])
                if "generic" in t:
                    print(f"{f'  generic Jacobian path n={width} N={n_points} k={k}':<46} "
                          f"{1e3 * t['generic'][1]:>12.2f} {1e3 * t[f'nt{best}'][1]:>10.2f} "
                          f"{t['generic'][1] / t[f'nt{best}'][1]:>6.2f}   (information: not an MLP fast path)")
                err = float(jnp.max(jnp.abs(ours() - impls[best](x, None, params))) /
                            jnp.max(jnp.abs(impls[best](x, None, params))))
                mem_ours = _peak_bytes(tangent._ntk_jit(net.apply), params, x, None)
                mem_nt = _peak_bytes(impls[best], x, None, params)
                yield (f"empirical NTK n={width} N={n_points} k={k} (nt impl {best})",
                       {"widenets": t["widenets"], "nt": t[f"nt{best}"]}, (mem_ours, mem_nt), err)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=("analytic", "entk"), default=None)
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5")
    print(f"jax {jax.__version__}, neural-tangents 0.6.5, float64, CPU time (process_time), "
          f"min of {args.repeats} warm calls")
    head = (f"{'case':<46} {'widenets ms':>12} {'nt ms':>10} {'ratio':>6} {'cold ms (w / nt)':>18} "
            f"{'peak MiB (w / nt)':>19} {'max rel diff':>12}")
    print(head)
    print("-" * len(head))
    worst = {"kernels": 0.0, "memory": 0.0, "entk": 0.0}
    groups = []
    if args.only in (None, "analytic"):
        groups.append(("kernels", analytic_cases(args.repeats)))
    if args.only in (None, "entk"):
        groups.append(("entk", entk_cases(args.repeats)))
    for group, cases in groups:
        for name, t, mem, err in cases:
            (cw, ww), (cn, wn) = t["widenets"], t["nt"]
            ratio = ww / wn
            mib = [m / 2**20 for m in mem]
            print(f"{name:<46} {1e3 * ww:>12.2f} {1e3 * wn:>10.2f} {ratio:>6.2f} "
                  f"{1e3 * cw:>8.0f} / {1e3 * cn:<8.0f} {mib[0]:>8.1f} / {mib[1]:<8.1f} {err:>12.1e}",
                  flush=True)
            worst[group] = max(worst[group], ratio)
            if group == "kernels":
                worst["memory"] = max(worst["memory"], mem[0] / mem[1])
    print(f"worst ratio: kernels {worst['kernels']:.2f}, kernels memory {worst['memory']:.2f}, "
          f"empirical NTK {worst['entk']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
