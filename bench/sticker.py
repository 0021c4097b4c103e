"""Sticker figures: the time and memory ``.sticker`` costs for a 5 MB GIF and a 10 s video.

For each input (generated here with ffmpeg: a noisy 320x240 GIF of 9 s, about 5 MB, and a 640x360
30 fps H.264 clip of 10 s), in a fresh child process each:

1. ``sticker_<input>_time_ratio``: wall time of ``media_cdn.sticker.sticker_make`` (probe, the
   one-second probes, the full encode that fits, the EXIF) over the floor: the plain ffmpeg command
   a bot without limits runs, one libwebp_anim encode of the same input, 512x512 padded, at the
   encoder's first settings (quality 60, at most 15 fps), no trimming, no size check. Goal <= 1.5x.
2. ``sticker_<input>_rss_growth_mib``: peak RSS growth of the Python process while it makes the
   sticker (sampled every 2 ms), over its RSS before; ffmpeg runs as a child either way and its own
   peak is reported beside it (``ffmpeg_peak_mib``), ours and the floor's. Goal < 30 MiB.

    python bench/sticker.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIME_GOAL = 1.5
RSS_GOAL_MIB = 30.0

_CHILD = r"""
import json, os, resource, sys, threading, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ["BLACKSKY_DOTENV"] = "0"
os.environ["DATABASE_URL"] = "sqlite:///" + sys.argv[3] + "/bench.sqlite3"
os.environ["LOG_LEVEL"] = "WARNING"
import django
django.setup()
import psutil
from media_cdn.sticker import sticker_make
from media_cdn.convert import ffmpeg_exe
ffmpeg_exe()
me = psutil.Process()
base = me.memory_info().rss
peak = [base]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], me.memory_info().rss)
        time.sleep(0.002)
threading.Thread(target=sample, daemon=True).start()
started = time.perf_counter()
made = sticker_make(Path(sys.argv[2]), workdir=Path(sys.argv[3]), pack="Bench", author="Bench")
took = time.perf_counter() - started
done.set()
print(json.dumps({"seconds": took, "growth": (peak[0] - base) / 2**20, "bytes": len(made.data),
                  "encodes": made.attempts, "frames": made.frames,
                  "ffmpeg_peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_inputs(folder: Path) -> dict[str, Path]:
    gif, video = folder / "noisy.gif", folder / "clip.mp4"
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=9,noise=alls=12:allf=t",
         "-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse=dither=bayer", str(gif)],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=10",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", str(video)],
        check=True,
    )  # fmt: skip
    return {"gif_5mb": gif, "video_10s": video}


def floor(source: Path, out: Path) -> tuple[float, float]:
    """The plain command: one encode at the first settings, in a child; (seconds, ffmpeg peak MiB)."""
    video_filter = (
        "fps=15,scale=512:512:force_original_aspect_ratio=decrease:flags=lanczos,format=rgba,"
        "pad=512:512:(ow-iw)/2:(oh-ih)/2:color=0x00000000"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", "-i", str(source), "-an", "-vf", video_filter, "-c:v", "libwebp_anim",
         "-lossless", "0", "-q:v", "60", "-compression_level", "4", "-loop", "0", "-threads", "1", str(out)],
        check=True,
    )  # fmt: skip
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, max(peak, before) / 1024


def ours(source: Path, workdir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), str(source), str(workdir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"sticker child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sticker-") as tmp:
        folder = Path(tmp)
        for name, source in make_inputs(folder).items():
            floor_s, floor_peak = floor(source, folder / f"{name}-floor.webp")
            result = ours(source, folder)
            floor_bytes = (folder / f"{name}-floor.webp").stat().st_size
            print(
                f"{name}: input {source.stat().st_size / 2**20:.1f} MiB; ours {result['seconds']:.2f} s, "
                f"{result['bytes']} B in {result['encodes']} encodes ({result['frames']} frames), "
                f"ffmpeg peak {result['ffmpeg_peak']:.0f} MiB; plain ffmpeg {floor_s:.2f} s, {floor_bytes} B "
                f"(within WhatsApp's 500 KB: {floor_bytes <= 500 * 1024}), ffmpeg peak {floor_peak:.0f} MiB"
            )
            ratio = result["seconds"] / floor_s
            print(
                f"RESULT sticker_{name}_time_ratio value={result['seconds']:.3f} floor={floor_s:.3f} "
                f"ratio={ratio:.2f} goal=<={TIME_GOAL}"
            )
            print(
                f"RESULT sticker_{name}_rss_growth_mib value={result['growth']:.1f} floor=0 "
                f"ratio={result['growth']:.1f} goal=<{RSS_GOAL_MIB:g}"
            )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
