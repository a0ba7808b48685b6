"""Frames of a video file (OpenCV's FFmpeg) or of a folder of numbered images, one at a time.

A video is read frame by frame, never whole: memory does not grow with its length. A file
that cannot be opened, a codec FFmpeg cannot decode (named when the container says which),
a video without frames, and a video that ends before the frame count its container states
(a truncated file) each raise :class:`VideoError`; a truncated video first yields every
frame it has.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own messages (read when it first opens a file)
import cv2  # noqa: E402

from ..images import ImageError, read_image  # noqa: E402

__all__ = ["VIDEO_SUFFIXES", "VideoError", "VideoInfo", "Video", "open_video", "open_frame_folder", "frame_number",
           "FRAME_FOLDER_FPS"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
"""File name endings taken as videos."""

FRAME_FOLDER_FPS = 30.0
"""Frame rate of a folder of numbered frames (or a keypoint sequence) unless told otherwise."""

TRUNCATION_TOLERANCE = 2
"""Frames a video may fall short of its container's count without being called truncated
(containers round their count from the duration)."""


class VideoError(ValueError):
    """A video that cannot be read, or that ended early; ``frames_read`` says how many frames came first."""

    def __init__(self, message: str, frames_read: int = 0) -> None:
        super().__init__(message)
        self.frames_read = frames_read


@dataclass(frozen=True)
class VideoInfo:
    """What a video says of itself.

    Attributes:
        path: the file or folder.
        width, height: frame size, pixels.
        fps: frames per second.
        frames: the frame count the container states (None: it does not say).
        codec: the codec's four-character code, or the folder's image type.
    """

    path: Path
    width: int
    height: int
    fps: float
    frames: int | None
    codec: str

    def describe(self) -> dict:
        return {"path": str(self.path), "width": self.width, "height": self.height, "fps": self.fps,
                "frames": self.frames, "codec": self.codec}


class Video:
    """An opened video: :attr:`info`, and iteration over ``(index, (H, W, 3) uint8 RGB frame)``.

    Args:
        info: what the video says of itself.
        frames: a generator of its frames.
        release: called by :meth:`close` to let go of the file.
    """

    def __init__(self, info: VideoInfo, frames: Iterator[tuple[int, np.ndarray]],
                 release: Callable[[], None] | None = None) -> None:
        self.info = info
        self._frames, self._release = frames, release

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return self._frames

    def close(self) -> None:
        """Stop reading and let go of the file (also when no frame was read)."""
        self._frames.close()
        if self._release is not None:
            self._release()


def open_video(path: str | Path) -> Video:
    """Open a video file.

    Raises:
        VideoError: it cannot be opened (not a video, a codec FFmpeg cannot decode, a
            container cut before its index), or has no frames; iterating raises it too
            when the video ends before its stated frame count.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    with _opencv_quiet():  # its own log lines: the errors below say what went wrong
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        codec = container_codec(path)
        raise VideoError(f"{path}: cannot decode its video (codec {codec!r}): FFmpeg here has no decoder for it"
                         if codec else f"{path}: not a readable video (not a video file, or one cut short "
                         "before its index)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    info = VideoInfo(path=path, width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                     fps=float(fps) if fps > 0 and np.isfinite(fps) else FRAME_FOLDER_FPS,
                     frames=count if count > 0 else None, codec=_fourcc(capture))
    ok, first = capture.read()
    if not ok:
        capture.release()
        raise VideoError(f"{path}: the video has no frames" if not info.frames else
                         f"{path}: cannot decode its frames (codec {info.codec!r})")
    return Video(info, _frames_of(capture, first, info), capture.release)


@contextlib.contextmanager
def _opencv_quiet():
    """OpenCV's log silenced for a while (its level restored after)."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def _frames_of(capture, first: np.ndarray, info: VideoInfo) -> Iterator[tuple[int, np.ndarray]]:
    index, frame = 0, first
    try:
        while True:
            yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
            ok, frame = capture.read()
            if not ok:
                break
    finally:
        capture.release()
    if info.frames is not None and index < info.frames - TRUNCATION_TOLERANCE:
        raise VideoError(f"{info.path}: the video ends after {index} of its {info.frames} frames (truncated or "
                         "damaged)", frames_read=index)


def _fourcc(capture) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    return _printable(code.to_bytes(4, "little")) or f"0x{code:08x}"


def container_codec(path: Path) -> str | None:
    """The video codec a file's container names (an AVI's or QuickTime/MP4's four-character
    code, a Matroska/WebM codec id), read from its first megabyte; None if it names none."""
    try:
        with open(path, "rb") as file:
            head = file.read(1 << 20)
    except OSError:
        return None
    if head[:4] == b"RIFF" and (found := head.find(b"strf")) >= 0 and len(head) >= found + 28:
        return _printable(head[found + 24:found + 28])  # BITMAPINFOHEADER.biCompression
    if (found := head.find(b"stsd")) >= 0 and len(head) >= found + 20:
        return _printable(head[found + 16:found + 20])  # the first sample entry's format
    if head[:4] == b"\x1a\x45\xdf\xa3" and (match := re.search(rb"\x86[\x80-\xff]([A-Z]_[A-Z0-9/_.]+)", head)):
        return match.group(1).decode("ascii")  # Matroska CodecID
    return None


def _printable(code: bytes) -> str | None:
    text = code.decode("latin-1")
    return text if text.isprintable() and text.strip() else None


def open_frame_folder(folder: str | Path, fps: float = FRAME_FOLDER_FPS) -> Video:
    """A folder of numbered frames (``frame_0001.png`` ..., ordered by the number in each name)
    as a video at ``fps``.

    Raises:
        VideoError: no such folder, no images in it, or a first frame that cannot be read;
            iterating raises it for a frame that cannot be read or has another size (after
            the frames before it).
    """
    from ..images import list_images

    folder = Path(folder)
    if not folder.is_dir():
        raise VideoError(f"{folder}: not a folder of frames")
    try:
        files = list_images([folder])
    except (FileNotFoundError, ValueError) as error:
        raise VideoError(f"{folder}: {error}") from None
    files = sorted(files, key=frame_number)
    try:
        first = read_image(files[0])
    except ImageError as error:
        raise VideoError(str(error)) from None
    info = VideoInfo(path=folder, width=first.shape[1], height=first.shape[0], fps=float(fps),
                     frames=len(files), codec=files[0].suffix.lstrip(".").lower())
    return Video(info, _folder_frames(files, first, info))


def frame_number(path: Path) -> tuple:
    """The sort key of a frame file: the last number in its name (``clip_000012_keypoints`` -> 12), then the name."""
    numbers = re.findall(r"\d+", path.stem)
    return (int(numbers[-1]) if numbers else -1, path.name)


def _folder_frames(files: list[Path], first: np.ndarray, info: VideoInfo) -> Iterator[tuple[int, np.ndarray]]:
    yield 0, first
    for index, file in enumerate(files[1:], start=1):
        try:
            frame = read_image(file)
        except ImageError as error:
            raise VideoError(f"{error} (frame {index} of {info.path})", frames_read=index) from None
        if frame.shape[:2] != (info.height, info.width):
            raise VideoError(f"{file}: {frame.shape[1]}x{frame.shape[0]}, but the folder's frames are "
                             f"{info.width}x{info.height}", frames_read=index)
        yield index, frame
