"""Metrics and the evaluation protocols of section 6."""

from .metrics import PCK_FRACTION, mpjpe, pa_mpjpe, pck, pck_hits, pixel_error, torso_size

__all__ = ["PCK_FRACTION", "mpjpe", "pa_mpjpe", "pck", "pck_hits", "pixel_error", "torso_size"]
