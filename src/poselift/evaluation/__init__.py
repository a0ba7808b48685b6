"""Metrics and the evaluation protocols of section 6."""

from .metrics import mpjpe, pa_mpjpe, pck, pixel_error

__all__ = ["mpjpe", "pa_mpjpe", "pck", "pixel_error"]
