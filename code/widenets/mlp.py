"""Multilayer perceptrons in a named or explicit abc-parametrization.

An MLP with ``depth = L`` hidden layers of width ``n`` has L + 1 weight matrices,
layer l = 1 (input), 2..L (hidden), L + 1 (output). In the abc-parametrization of
Yang & Hu (2021) the trainable parameter of layer l is ``w^l`` and the network uses

    W^l = g_l * n^{-a_l} * w^l,      w^l_ij ~ N(0, n^{-2 b_l}),
    SGD/Adam learning rate of w^l:   eta * n^{-c_l},

with width-independent constants ``g_1 = sigma_w / sqrt(d)`` (d: input dimension) and
``g_l = sigma_w`` for l > 1. The forward pass is

    h^1 = x W^1 + beta^1,   x^l = phi(h^l),   h^{l+1} = x^l W^{l+1} + beta^{l+1},
    f(x) = output_scale * h^{L+1}.

Biases ``beta^l = sigma_b * n^{-a} * v^l``, ``v^l ~ N(0, n^{-2b})``, use exponents of their
own (``bias_a``, ``bias_b``, ``bias_c``): a bias is a weight with fan-in 1, so hidden biases
scale like the input layer and the output bias is width-independent.

Named parametrizations (``parametrization(name, depth, optimizer)``):

=======  ===========================  =====================  =====================
name     a (input, hidden.., output)  b                      c (SGD)
=======  ===========================  =====================  =====================
sp       0, 0.., 0                    0, 1/2.., 1/2          0 (fixed lr)
ntk      0, 1/2.., 1/2                0, 0.., 0              0
mup      -1/2, 0.., 1/2               1/2, 1/2.., 1/2        0
mf       0, 1 (depth 1 only)          0, 0                   -1
=======  ===========================  =====================  =====================

For Adam, ``mup`` uses c = (1/2, 1.., 1, 1/2) so that every layer's update is the size
muP prescribes (Tensor Programs V, Table 3); ``sp`` keeps c = 0. Parameters are a list
of ``{"w": (fan_in, fan_out), "b": (fan_out,)}`` dicts, one per layer.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp

from widenets import _checks, _random, activations

Params = list  # list[dict[str, jax.Array]], one {"w", "b"} per layer

PARAMETRIZATIONS = ("sp", "ntk", "mup", "mf")
OPTIMIZERS = ("sgd", "adam")


@dataclasses.dataclass(frozen=True)
class Parametrization:
    """Per-layer exponents (a_l, b_l, c_l) for weights and biases, l = 1..L+1."""

    name: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    bias_a: tuple[float, ...]
    bias_b: tuple[float, ...]
    bias_c: tuple[float, ...]

    @property
    def depth(self) -> int:
        """Number of hidden layers L (there are L + 1 weight matrices)."""
        return len(self.a) - 1


def abc(
    a: Sequence[float],
    b: Sequence[float],
    c: Sequence[float],
    bias_a: Sequence[float] | None = None,
    bias_b: Sequence[float] | None = None,
    bias_c: Sequence[float] | None = None,
    name: str = "abc",
) -> Parametrization:
    """An explicit abc-parametrization; ``a``, ``b``, ``c`` have one entry per weight matrix.

    Bias exponents default to the input layer's (a_1, b_1, c_1) for the hidden biases and
    to (0, 0, 0), a width-independent output bias, for the output layer.
    """
    lengths = {len(a), len(b), len(c)}
    if len(lengths) != 1 or len(a) < 2:
        raise ValueError(
            f"a, b, c must have the same length >= 2 (one entry per weight matrix), "
            f"got lengths {len(a)}, {len(b)}, {len(c)}"
        )
    for name_, seq in (("a", a), ("b", b), ("c", c), ("bias_a", bias_a), ("bias_b", bias_b),
                       ("bias_c", bias_c)):
        for v in seq if seq is not None else ():
            _checks.finite_number(v, f"{name_} (every exponent)")
    m = len(a)
    ba = tuple(float(v) for v in bias_a) if bias_a is not None else (float(a[0]),) * (m - 1) + (0.0,)
    bb = tuple(float(v) for v in bias_b) if bias_b is not None else (float(b[0]),) * (m - 1) + (0.0,)
    bc = tuple(float(v) for v in bias_c) if bias_c is not None else (float(c[0]),) * (m - 1) + (0.0,)
    if not (len(ba) == len(bb) == len(bc) == m):
        raise ValueError(f"bias_a, bias_b, bias_c must have length {m}")
    return Parametrization(
        name, tuple(map(float, a)), tuple(map(float, b)), tuple(map(float, c)), ba, bb, bc
    )


def parametrization(name: str, depth: int = 1, optimizer: str = "sgd") -> Parametrization:
    """The named parametrization ``sp``, ``ntk``, ``mup`` or ``mf`` for ``depth`` hidden layers."""
    _checks.one_of(name, PARAMETRIZATIONS, "parametrization")
    L = _checks.positive_int(depth, "depth")
    _checks.one_of(optimizer, OPTIMIZERS, "optimizer")
    hidden = L - 1
    if name == "sp":
        return abc((0.0,) * (L + 1), (0.0,) + (0.5,) * L, (0.0,) * (L + 1), name="sp")
    if name == "ntk":
        if optimizer == "adam":
            raise ValueError("parametrization 'ntk' has no Adam preset; use optimizer='sgd'")
        return abc((0.0,) + (0.5,) * L, (0.0,) * (L + 1), (0.0,) * (L + 1), name="ntk")
    if name == "mup":
        a = (-0.5,) + (0.0,) * hidden + (0.5,)
        b = (0.5,) * (L + 1)
        if optimizer == "sgd":
            return abc(a, b, (0.0,) * (L + 1), name="mup")
        c = (0.5,) + (1.0,) * hidden + (0.5,)
        return abc(a, b, c, bias_c=(0.5,) * L + (0.0,), name="mup")
    # mean field: defined here for one hidden layer, where it is muP up to the abc symmetry
    if L != 1:
        raise ValueError(f"parametrization 'mf' is defined for depth=1 only, got depth={depth}")
    if optimizer == "adam":
        raise ValueError("parametrization 'mf' has no Adam preset; use optimizer='sgd'")
    return abc((0.0, 1.0), (0.0, 0.0), (-1.0, -1.0), name="mf")


_named_parametrization = parametrization


class Forward(NamedTuple):
    """Everything a forward pass computes: ``preacts[l]`` = h^{l+1}, ``acts[l]`` = x^{l+1}
    for the hidden layers (each (N, n)), and ``output`` (N, out_dim)."""

    preacts: list
    acts: list
    output: jax.Array


def _scaled(draw: jax.Array, scale: float) -> jax.Array:
    # x * 1.0 == x exactly; skipping it saves an eager compilation per shape (NTK-style layers)
    return draw if scale == 1.0 else draw * scale


@dataclasses.dataclass(frozen=True)
class MLP:
    """A fully connected network ``in_dim -> width x depth -> out_dim`` (see module docstring).

    Hashable and immutable, so it can be a static argument of ``jax.jit``.
    """

    in_dim: int
    width: int
    out_dim: int
    depth: int
    activation: str
    param: Parametrization
    sigma_w: float
    sigma_b: float
    output_scale: float = 1.0

    def __post_init__(self):
        # constructing MLP(...) directly is validated like mlp.mlp(...)
        _checks.positive_int(self.in_dim, "in_dim")
        _checks.positive_int(self.width, "width")
        _checks.positive_int(self.out_dim, "out_dim")
        _checks.positive_int(self.depth, "depth")
        _checks.one_of(self.activation, tuple(activations.ACTIVATIONS), "activation")
        _checks.positive(self.sigma_w, "sigma_w")
        _checks.nonnegative(self.sigma_b, "sigma_b")
        _checks.finite_number(self.output_scale, "output_scale", nonzero=True)
        if not isinstance(self.param, Parametrization):
            raise ValueError(f"param must be a Parametrization (see abc), got {self.param!r}")
        if self.param.depth != self.depth:
            raise ValueError(
                f"parametrization has exponents for depth {self.param.depth}, but depth={self.depth}"
            )

    # --- shapes and scalings -------------------------------------------------------
    def layer_dims(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of each of the L + 1 weight matrices."""
        dims = [self.in_dim] + [self.width] * self.depth + [self.out_dim]
        return list(zip(dims[:-1], dims[1:]))

    def multipliers(self) -> list[tuple[float, float]]:
        """(weight multiplier g_l n^{-a_l}, bias multiplier sigma_b n^{-bias_a_l}) per layer."""
        n = float(self.width)
        p = self.param
        out = []
        for l in range(self.depth + 1):
            g = self.sigma_w / math.sqrt(self.in_dim) if l == 0 else self.sigma_w
            out.append((g * n ** (-p.a[l]), self.sigma_b * n ** (-p.bias_a[l])))
        return out

    def lr_scales(self) -> Params:
        """Per-parameter learning-rate factors n^{-c_l}, with the same structure as params."""
        n = float(self.width)
        p = self.param
        return [
            {"w": n ** (-p.c[l]), "b": n ** (-p.bias_c[l])} for l in range(self.depth + 1)
        ]

    # --- init and forward ----------------------------------------------------------
    def init(self, key: jax.Array, dtype=jnp.float64) -> Params:
        """Draw w^l_ij ~ N(0, n^{-2 b_l}) and v^l_j ~ N(0, n^{-2 bias_b_l})."""
        _checks.prng_key(key)
        n = float(self.width)
        p = self.param
        keys = jax.random.split(key, 2 * (self.depth + 1))
        params = []
        for l, (fan_in, fan_out) in enumerate(self.layer_dims()):
            w = _scaled(_random.normal(keys[2 * l], (fan_in, fan_out), dtype), n ** (-p.b[l]))
            b = _scaled(_random.normal(keys[2 * l + 1], (fan_out,), dtype), n ** (-p.bias_b[l]))
            params.append({"w": w, "b": b})
        return params

    def init_many(self, keys: Sequence[jax.Array], dtype=jnp.float64) -> Params:
        """``init(k)`` for each key, stacked on a leading axis: the params of ``len(keys)`` networks.

        Exactly ``init(k)`` for each key, drawn one key at a time outside any jit: XLA's CPU
        compiler takes about 0.25 s per distinct normal draw, and several times that for vmapped
        draws fused into a larger program. Pass the result into a jitted training loop instead of
        drawing the initialization inside it. Against ``jit(vmap(init))(keys)`` it agrees to one
        float ulp (XLA fuses the vmapped draw, and the scale n^{-b}, into one program that rounds
        a few entries differently).
        """
        inits = [self.init(k, dtype) for k in keys]
        if not inits:
            raise ValueError("keys must contain at least one key")
        return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *inits)

    def forward(self, params: Params, x: jax.Array, multipliers=None) -> Forward:
        """All pre-activations, activations and the output for inputs ``x`` of shape (N, in_dim).

        ``multipliers`` replaces :meth:`multipliers` (one (weight, bias) pair per layer); passing
        them as arrays lets one jitted program serve networks that differ only in multipliers.
        """
        _checks.net_inputs(self, x)
        _checks.net_params(self, params)
        phi = activations.get(self.activation)
        mults = self.multipliers() if multipliers is None else multipliers
        preacts, acts = [], []
        z = x
        for l in range(self.depth):
            gw, gb = mults[l]
            h = z @ (gw * params[l]["w"]) + gb * params[l]["b"]
            z = phi(h)
            preacts.append(h)
            acts.append(z)
        gw, gb = mults[-1]
        out = z @ (gw * params[-1]["w"]) + gb * params[-1]["b"]
        return Forward(preacts, acts, self.output_scale * out)

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        """The network output f(x; params), shape (N, out_dim), for ``x`` of shape (N, in_dim)."""
        return self.forward(params, x).output

    def readout_contributions(self, params: Params, x: jax.Array) -> jax.Array:
        """Per-neuron terms of the output, shape (N, n, out_dim): f = sum_i term_i + bias."""
        gw, _ = self.multipliers()[-1]
        last = self.forward(params, x).acts[-1]
        return self.output_scale * last[:, :, None] * (gw * params[-1]["w"])[None, :, :]


def mlp(
    in_dim: int,
    width: int,
    out_dim: int = 1,
    depth: int = 1,
    activation: str = "relu",
    parametrization: str | Parametrization = "ntk",
    optimizer: str = "sgd",
    sigma_w: float | None = None,
    sigma_b: float = 0.0,
    output_scale: float = 1.0,
) -> MLP:
    """Build an :class:`MLP`, validating every argument.

    ``sigma_w`` defaults to sqrt(2) for ReLU (variance-preserving) and 1 otherwise;
    ``parametrization`` is a name (``sp``, ``ntk``, ``mup``, ``mf``) or an :func:`abc` object.
    """
    in_dim = _checks.positive_int(in_dim, "in_dim")
    width = _checks.positive_int(width, "width")
    out_dim = _checks.positive_int(out_dim, "out_dim")
    depth = _checks.positive_int(depth, "depth")
    _checks.one_of(activation, tuple(activations.ACTIVATIONS), "activation")
    if sigma_w is None:
        sigma_w = math.sqrt(2.0) if activation == "relu" else 1.0
    sigma_w = _checks.positive(sigma_w, "sigma_w")
    sigma_b = _checks.nonnegative(sigma_b, "sigma_b")
    output_scale = _checks.finite_number(output_scale, "output_scale", nonzero=True)
    if isinstance(parametrization, str):
        param = _named_parametrization(parametrization, depth, optimizer)
    elif isinstance(parametrization, Parametrization):
        if parametrization.depth != depth:
            raise ValueError(
                f"parametrization has exponents for depth {parametrization.depth}, "
                f"but depth={depth}"
            )
        param = parametrization
    else:
        raise ValueError(
            f"parametrization must be a name in {PARAMETRIZATIONS} or a Parametrization, "
            f"got {parametrization!r}"
        )
    return MLP(in_dim, width, out_dim, depth, activation, param, sigma_w, sigma_b, float(output_scale))
