"""Video in, model input out: decoding only the sampled frames (`decode.py`), sampling
plans (`sampling.py`), crops and normalisation (`transforms.py`, `preprocess.py`), live
sources (`live/`), folders of videos (`files.py`). Every input, offline or live, is
read through one frame-source seam (`sources/`).

No torch here. Import the submodules; this package only quietens FFmpeg's per-frame
warnings before OpenCV is first imported (damaged files raise typed errors instead).
"""

import os

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
