"""Stage-1 sources of 2D belief maps (paper section 5.1): BlazePose's pretrained networks."""

from .blazepose import BlazePose, Crop, Detection, LandmarkOutput, ModelError

__all__ = ["BlazePose", "Crop", "Detection", "LandmarkOutput", "ModelError"]
