"""Building blocks of MM-SS: masked self-attention and masked SoftPool.

Masks are boolean, True where a position holds real data. Every layer here is safe on a
row whose positions are all masked (it returns zeros there, never NaN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SelfAttention", "soft_pool", "SubtaskHead"]


class SelfAttention(nn.Module):
    """One multi-head self-attention layer with a residual and post-LayerNorm.

    ``y = LayerNorm(x + Dropout(MHA(x, key_padding_mask)))``; padded positions are excluded
    as keys and their outputs are zeroed. No feed-forward sublayer: MMSS.md names a single
    self-attention, and the paper gives no FFN (our reading).
    """

    def __init__(self, d: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d % n_heads:
            raise ValueError(f"d={d} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln = nn.LayerNorm(d)
        self.attn_dropout = dropout
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L, d = x.shape  # (B, L, d)
        if L == 0:
            return x
        nh = self.n_heads
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(B, L, nh, d // nh).transpose(1, 2)  # (B, nh, L, hs)
        k = k.view(B, L, nh, d // nh).transpose(1, 2)  # (B, nh, L, hs)
        v = v.view(B, L, nh, d // nh).transpose(1, 2)  # (B, nh, L, hs)
        # A row with no valid key would softmax over nothing (NaN): let it attend to all
        # positions instead; its outputs are zeroed below anyway.
        key_ok = mask | ~mask.any(dim=1, keepdim=True)  # (B, L)
        attn_mask = key_ok[:, None, None, :]  # (B, 1, 1, L), broadcast over heads and queries
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.attn_dropout if self.training else 0.0
        )  # (B, nh, L, hs)
        y = y.transpose(1, 2).contiguous().view(B, L, d)  # (B, L, d)
        y = self.ln(x + self.dropout(self.proj(y)))
        return y * mask[..., None].to(y.dtype)


def soft_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """SoftPool over the sequence, per channel: ``sum_i softmax(x)_i * x_i`` (MMSS.md).

    The softmax runs over unmasked positions only; a fully masked row pools to zeros.

    x: (B, L, d), mask: (B, L) bool -> (B, d)
    """
    if x.shape[1] == 0:
        return x.new_zeros(x.shape[0], x.shape[2])
    m = mask[..., None]  # (B, L, 1)
    logits = x.masked_fill(~m, torch.finfo(x.dtype).min)  # (B, L, d)
    w = torch.softmax(logits, dim=1) * m.to(x.dtype)  # (B, L, d); zero on padding
    return (w * x).sum(dim=1)  # (B, d)


class SubtaskHead(nn.Module):
    """Module (d) for one subtask: ``f_s* = GELU(Linear(f_s))``; ``y_hat_s = MLP(f_s*)``.

    The MLP is Linear(d, d) -> GELU -> Linear(d, 1), as Self-MM's post-fusion layers.
    """

    def __init__(self, d: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))

    def forward(self, f_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f_star = F.gelu(self.proj(f_s))  # (B, d)
        return f_star, self.mlp(f_star).squeeze(-1)  # (B, d), (B,)
