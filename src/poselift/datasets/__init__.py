"""Readers for the data poselift learns from and is evaluated on.

* :mod:`.h36m`: Human3.6M 3D poses, cameras and Stacked-Hourglass detections.
* :mod:`.bvh`, :mod:`.asf_amc`: CMU motion capture, with forward kinematics.
* :mod:`.cmu`: both CMU formats mapped onto the H36M-17 joint set.
"""

from .paths import data_root

__all__ = ["data_root"]
