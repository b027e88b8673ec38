"""Which review tokens pushed a score up or down (MMSS.md "Explaining a score", last bullet; ours).

Integrated gradients (Sundararajan, Taly and Yan, ICML 2017) of the score ``f`` with respect to
the review token states ``x = T^r`` the model reads (the text encoder's last hidden states, ``(L, H)``
a review; for a frozen encoder, the cached ones), along the straight path from a baseline ``x'``::

    IG_t = sum_h (x - x')_th * integral_0^1 df(x' + a (x - x'))/dx_th da

summed over the hidden dimension ``h``: one value per token, in score units.

- **Baseline: zeros** (:data:`BASELINE`). Every real token keeps its place in the masks; only its
  content goes to zero (a zero state is what padding positions hold, and what ``pad_states``
  pads with), so the projected token becomes ``text_proj.bias + type_emb[review]`` and the review
  "says nothing". A token's value is how far its content moved the score from there.
- **Completeness** is the check: ``sum_t IG_t = f(x) - f(x')`` up to the quadrature error of the
  integral (:attr:`TokenAttributions.gap`). The integral is taken by Gauss-Legendre quadrature on
  ``[0, 1]`` (n nodes are exact for polynomials of degree 2n - 1; the path through the projection,
  attention, SoftPool and GELU head is smooth), or by the midpoint rule for comparison.
- **Cost**: only the blocks of F_c that read the review text (``p_t r_t``, ``p_v r_t``, ``r_t r_v``;
  the pooled ``r_t`` under ``no_module_b``) are recomputed along the path, ``steps`` forward and
  backward passes of those, batched over reviews and steps; the image attention, the other branches
  and the metadata are computed once. Float32 outside autocast (a bf16 path misses completeness by
  ~1e-2). Gradients are taken with respect to the path only, never the weights, and in the
  d-wide projected space, which gives the same values (:class:`_Path`).

The score's metadata path does not read the text: it cancels in ``f(x) - f(x')``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ATOL", "BASELINE", "DEFAULT_STEPS", "MAX_STEPS", "RTOL", "RULES", "TokenAttributions", "integrated_gradients", "quadrature"]

BASELINE = "zeros"
#: Gauss-Legendre nodes by default. On the bundled sample under the starter model, 4 nodes give a
#: completeness gap below 1e-6 (float32 noise: 32 nodes give the same) and token values within
#: 3e-6 of the review's largest |value| of a 32-node integral, where 2 nodes are off by 2e-3 and a
#: 32-step midpoint sum has a gap of 6e-6 (benchmarks/scoring_explain.py prints these).
DEFAULT_STEPS = 4
#: Scoring's refinement: a review whose completeness gap exceeds ``ATOL + RTOL * |f(x) - f(0)|`` is
#: integrated again with twice the nodes, up to ``MAX_STEPS`` (a sharper model than the starter,
#: e.g. attention logits three times as large, needs 64 nodes or more for the same gap).
RTOL, ATOL, MAX_STEPS = 1e-2, 1e-4, 64
RULES = ("gauss-legendre", "midpoint")


def quadrature(steps: int, rule: str = "gauss-legendre") -> tuple[np.ndarray, np.ndarray]:
    """``(alphas, weights)`` of an n-point rule on ``[0, 1]`` (the weights sum to 1)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if rule == "gauss-legendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1.0) / 2.0, weights / 2.0
    if rule == "midpoint":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    raise ValueError(f"unknown quadrature rule {rule!r}; choose one of {RULES}")


@dataclass
class TokenAttributions:
    """Integrated gradients of a batch's scores over its review tokens.

    Attributes
    ----------
    values : (B, L)
        One value per review token position (``[CLS]`` and ``[SEP]`` included), in score units;
        0 at padding.
    mask : (B, L) bool
        The real token positions.
    score : (B,)
        ``f(x)``, the score (float32, metadata path included).
    delta : (B,)
        ``f(x) - f(baseline)``: what the values add up to.
    steps : (B,) long
        Quadrature nodes each review got (more where the first count missed the tolerance).
    rule : str
        The quadrature rule.
    """

    values: torch.Tensor
    mask: torch.Tensor
    score: torch.Tensor
    delta: torch.Tensor
    steps: torch.Tensor
    rule: str

    @property
    def gap(self) -> torch.Tensor:
        """``sum_t values - delta`` per review ``(B,)``: the completeness error."""
        return self.values.sum(dim=1) - self.delta

    def lengths(self) -> list[int]:
        return self.mask.sum(dim=1).tolist()


def _review_states(model, batch):
    """The batch with the review side as token states (runs the encoder when it carries ids)."""
    if batch.review_text_states is not None:
        return batch
    if model.text_encoder is None:
        raise ValueError("the batch carries review token ids and the model has no text encoder")
    with torch.no_grad():
        states = model.text_encoder(batch.review_input_ids, batch.review_attention_mask)  # (B, L, H)
    return dataclasses.replace(batch, review_text_states=states, review_text_mask=batch.review_attention_mask.bool(),
                               review_input_ids=None, review_attention_mask=None)


def integrated_gradients(model, batch, steps: int = DEFAULT_STEPS, *, rule: str = "gauss-legendre",
                         max_steps: int | None = None, rtol: float = RTOL, atol: float = ATOL,
                         max_rows: int = 256) -> TokenAttributions:
    """Integrated gradients of ``model``'s score of every review of ``batch`` with respect to its
    review token states, from the zero baseline (see the module docstring).

    Starts with ``steps`` nodes; a review whose completeness gap exceeds ``atol + rtol * |delta|``
    is integrated again with twice the nodes, up to ``max_steps`` (default: ``steps``, no
    refinement); :attr:`TokenAttributions.steps` says how many each review got. At most
    ``max_rows`` review copies (reviews x nodes) go through one forward/backward."""
    if torch.is_inference_mode_enabled():
        raise RuntimeError("integrated_gradients needs autograd: call it outside torch.inference_mode()")
    quadrature(steps, rule)  # checks the rule and the count
    was_training = model.training
    model.eval()
    try:
        batch = _review_states(model, batch)
        batch.validate()
        device = batch.review_text_states.device
        with torch.autocast(device_type=device.type, enabled=False):
            path = _Path(model, batch)
            values, n = path.integrate(steps, rule, max_rows), steps
            used = torch.full((path.B,), steps, dtype=torch.long)
            while max_steps is not None and 2 * n <= max_steps:
                gap = (values.sum(dim=1) - path.delta).abs()
                redo = (gap > atol + rtol * path.delta.abs()).nonzero().flatten()
                if not len(redo):
                    break
                n *= 2
                values[redo] = path.integrate(n, rule, max_rows, rows=redo)
                used[redo.cpu()] = n
        return TokenAttributions(values.detach(), path.mask, path.f_x.detach(), path.delta.detach(), used, rule)
    finally:
        model.train(was_training)


class _Path:
    """The score as a function of the review's projected token features along the straight path,
    with everything that does not read the review text computed once (see the module docstring).

    The review side enters the model through an affine map (``text_proj`` + the review type
    embedding, masked; dropout is off in eval mode): ``r_t(a x) = c + a p`` with ``c = r_t(0)`` and
    ``p = r_t(x) - c``. So the path is walked in the d-wide projected space, and by the chain rule
    ``sum_h x_h * dF/dx_h = sum_j p_j * dF/dz_j`` per token: the same values as in the H-wide state
    space, without the H x d projection in every node's forward and backward."""

    def __init__(self, model, batch) -> None:
        self.model = model
        self.names = model.fusion_block_names
        reads = [n for n in self.names if "r_t" in n.split(" ")]  # the blocks that read the review text
        self.needed = {k for n in reads for k in n.split(" ") if k != "r_t"}  # the other inputs they read
        x = batch.review_text_states.detach().float().clone()  # (B, L, H); never an inference tensor
        self.mask = batch.review_text_mask.bool()
        self.B = x.shape[0]
        with torch.no_grad():
            self.inputs = model.modality_inputs(dataclasses.replace(batch, review_text_states=x))
            self.meta = model.normalized_metadata(batch)
            self.fixed = {n: model.fusion_block(n, self.inputs, self.meta) for n in self.names if n not in reads}
            self.c = model.review_text_features(torch.zeros_like(x), self.mask)[0]  # (B, L, d): the baseline
            self.p = self.inputs["r_t"][0] - self.c  # (B, L, d): r_t(x) - r_t(0)
            rows = torch.arange(self.B, device=x.device)
            ends = self.score(torch.cat([self.p, torch.zeros_like(self.p)]), torch.cat([rows, rows]))
        self.f_x = ends[:self.B]
        self.delta = self.f_x - ends[self.B:]  # f(x) - f(baseline)

    def score(self, ap: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Scores ``(N,)`` of reviews ``rows (N,)`` of the batch at ``r_t = c + ap``, ``ap (N, L, d)``."""
        m = self.model
        ins = {key: (self.inputs[key][0][rows], self.inputs[key][1][rows]) for key in self.needed}
        mask = self.mask[rows]
        ins["r_t"] = ((self.c[rows] + ap) * mask[..., None], mask)
        meta = self.meta[rows] if self.meta is not None else None
        blocks = [self.fixed[n][rows] if n in self.fixed else m.fusion_block(n, ins, meta) for n in self.names]
        return m.fused_score(blocks, meta)[1]

    def integrate(self, steps: int, rule: str, max_rows: int, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Token values ``(R, L)`` of reviews ``rows`` (default all) with ``steps`` nodes."""
        rows = torch.arange(self.B, device=self.p.device) if rows is None else rows.to(self.p.device)
        p = self.p[rows]  # (R, L, d)
        R = p.shape[0]
        alphas, weights = quadrature(steps, rule)
        a_all = torch.as_tensor(alphas, dtype=p.dtype, device=p.device)
        w_all = torch.as_tensor(weights, dtype=p.dtype, device=p.device)
        total = torch.zeros_like(p)  # sum_k w_k dF/dz at c + alpha_k p
        per = max(1, max_rows // max(R, 1))
        for s in range(0, steps, per):
            a, w = a_all[s:s + per], w_all[s:s + per]
            k = len(a)
            with torch.enable_grad():
                path = (a[:, None, None, None] * p[None]).reshape(k * R, *p.shape[1:]).requires_grad_(True)
                y = self.score(path, rows.repeat(k))  # node-major copies of the rows
                (grad,) = torch.autograd.grad(y.sum(), path)  # reviews are independent rows
            total += (w[:, None, None, None] * grad.view(k, *p.shape)).sum(dim=0)
        return (p * total).sum(dim=-1) * self.mask[rows]  # (R, L): summed over the hidden dimension
