"""Video: people tracked from frame to frame, their 3D poses smoothed over time."""
