"""Draw the starter pack: one small looping GIF per reaction, made with Pillow only.

Run ``python -m media_cdn.starter.generate`` to (re)draw ``media_cdn/starter/gifs/*.gif``. The
output is deterministic (no randomness, no system fonts beyond Pillow's bundled one), so running it
again produces the same bytes and the committed files stay reproducible. No third-party media.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from media_cdn.starter import STARTER_DIR, STARTER_REACTIONS

SIZE = 240
FRAMES = 12
FRAME_MS = 90
INK = (40, 30, 50)
WHITE = (255, 255, 255)
SKIN_A = (255, 214, 102)  # the actor
SKIN_B = (130, 200, 255)  # the target
HEART = (235, 64, 100)
BLUSH = (255, 140, 150)
TEAR = (80, 160, 255)
BACKGROUNDS = {
    "interaction": [(255, 240, 245), (240, 248, 255), (245, 255, 240), (255, 250, 235)],
    "expression": [(250, 245, 255), (240, 255, 250), (255, 245, 235), (245, 250, 255)],
}

Draw = ImageDraw.ImageDraw
Scene = Callable[[Draw, float], None]  # (draw, t in [0, 1)) -> paints one frame


# -- primitives ------------------------------------------------------------------------------
def face(d: Draw, cx: float, cy: float, r: float, *, skin=SKIN_A, mood: str = "happy", blush: bool = False) -> None:
    """A round cartoon face; ``mood`` picks eyes and mouth."""
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=skin, outline=INK, width=3)
    ex, ey, er = r * 0.38, cy - r * 0.18, max(3, r * 0.11)
    for side in (-1, 1):
        x = cx + side * ex
        if mood in {"x"}:
            d.line((x - er, ey - er, x + er, ey + er), fill=INK, width=3)
            d.line((x - er, ey + er, x + er, ey - er), fill=INK, width=3)
        elif mood in {"laugh", "sleep"} or (mood == "wink" and side == 1):
            d.arc((x - er * 1.4, ey - er, x + er * 1.4, ey + er * 1.6), 200, 340, fill=INK, width=3)
        elif mood == "hurt":
            d.line((x - er, ey - er * (side), x + er, ey), fill=INK, width=3)
            d.line((x - er, ey + er * (side), x + er, ey), fill=INK, width=3)
        else:
            d.ellipse((x - er, ey - er, x + er, ey + er), fill=INK)
    my = cy + r * 0.32
    mw = r * 0.45
    if mood in {"happy", "wink", "blush"}:
        d.arc((cx - mw, my - mw * 0.8, cx + mw, my + mw * 0.6), 20, 160, fill=INK, width=3)
    elif mood == "laugh":
        d.chord((cx - mw, my - mw * 0.5, cx + mw, my + mw * 0.8), 0, 180, fill=INK)
    elif mood == "sad":
        d.arc((cx - mw, my, cx + mw, my + mw * 1.2), 200, 340, fill=INK, width=3)
    elif mood in {"hurt", "x"}:
        d.ellipse((cx - mw * 0.35, my - mw * 0.1, cx + mw * 0.35, my + mw * 0.5), fill=INK)
    elif mood == "bite":
        d.chord((cx - mw, my - mw * 0.4, cx + mw, my + mw * 0.9), 0, 180, fill=INK)
        for i in range(4):
            tx = cx - mw * 0.75 + i * mw * 0.5
            d.polygon(
                [(tx, my + mw * 0.2), (tx + mw * 0.25, my + mw * 0.2), (tx + mw * 0.12, my + mw * 0.5)], fill=WHITE
            )
    else:  # neutral, sleep
        d.line((cx - mw * 0.6, my + 4, cx + mw * 0.6, my + 4), fill=INK, width=3)
    if blush or mood == "blush":
        for side in (-1, 1):
            bx = cx + side * r * 0.55
            d.ellipse((bx - r * 0.18, cy + r * 0.05, bx + r * 0.18, cy + r * 0.25), fill=BLUSH)


def heart(d: Draw, cx: float, cy: float, s: float, color=HEART) -> None:
    d.ellipse((cx - s, cy - s * 0.8, cx, cy + s * 0.2), fill=color)
    d.ellipse((cx, cy - s * 0.8, cx + s, cy + s * 0.2), fill=color)
    d.polygon([(cx - s * 0.98, cy - s * 0.1), (cx + s * 0.98, cy - s * 0.1), (cx, cy + s * 1.1)], fill=color)


def burst(d: Draw, cx: float, cy: float, s: float, color=(255, 200, 40)) -> None:
    """An impact star."""
    points = []
    for i in range(16):
        radius = s if i % 2 == 0 else s * 0.45
        angle = math.pi * 2 * i / 16
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    d.polygon(points, fill=color, outline=INK)


def hand(d: Draw, cx: float, cy: float, s: float, skin=SKIN_A) -> None:
    d.ellipse((cx - s, cy - s, cx + s, cy + s), fill=skin, outline=INK, width=3)


def tear(d: Draw, cx: float, cy: float, s: float) -> None:
    d.polygon([(cx, cy - s * 1.6), (cx - s, cy), (cx + s, cy)], fill=TEAR)
    d.ellipse((cx - s, cy - s, cx + s, cy + s), fill=TEAR)


def note(d: Draw, x: float, y: float) -> None:
    """A quaver, drawn (the bundled font has no music glyphs)."""
    d.ellipse((x - 9, y - 6, x + 5, y + 6), fill=INK)
    d.line((x + 4, y, x + 4, y - 32), fill=INK, width=3)
    d.line((x + 4, y - 32, x + 14, y - 22), fill=INK, width=3)


def wave_t(t: float) -> float:
    """0 -> 1 -> 0 over one loop, smooth, so every GIF loops without a jump."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * t)


# -- scenes ----------------------------------------------------------------------------------
def duo(d: Draw, t: float, *, gap: float, a_mood="happy", b_mood="happy", b_dx=0.0, b_dy=0.0, blush=False) -> tuple:
    """Two faces, the actor left and the target right, ``gap`` px apart at their centres."""
    ax, bx, y = SIZE / 2 - gap / 2, SIZE / 2 + gap / 2, 105
    face(d, bx + b_dx, y + b_dy, 42, skin=SKIN_B, mood=b_mood, blush=blush)
    face(d, ax, y, 42, skin=SKIN_A, mood=a_mood, blush=blush)
    return ax, bx + b_dx, y + b_dy


def scene_hug(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=150 - 70 * k, blush=k > 0.6)
    d.arc((ax - 20, y - 10, bx + 20, y + 60), 20, 160, fill=INK, width=5)
    if k > 0.5:
        heart(d, SIZE / 2, 40, 12 + 8 * k)


def scene_pat(d, t):
    ax, bx, y = duo(d, t, gap=130, b_mood="blush")
    hand(d, bx, y - 52 + 8 * math.sin(2 * math.pi * t * 2), 16)


def scene_kiss(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=140 - 50 * k, b_mood="blush", blush=True)
    if k > 0.4:
        heart(d, SIZE / 2, 45 - 20 * k, 10 + 10 * k)


def scene_cuddle(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=100 - 20 * k, a_mood="sleep", b_mood="sleep", blush=True)
    for i in range(3):
        heart(d, 60 + i * 60, 40 - 10 * math.sin(2 * math.pi * (t + i / 3)), 9)


def scene_slap(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=130, b_mood="hurt" if k > 0.7 else "neutral", b_dx=6 * k)
    hand(d, ax + 30 + 60 * k, y - 10, 18)
    if k > 0.7:
        burst(d, bx - 30, y - 20, 22)


def scene_bonk(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=130, b_mood="x" if k > 0.75 else "neutral", b_dy=8 * k)
    hx, hy = bx - 10, y - 110 + 60 * k
    d.rectangle((hx - 4, hy - 40, hx + 4, hy), fill=(150, 100, 60), outline=INK)
    d.rectangle((hx - 26, hy, hx + 26, hy + 22), fill=(120, 120, 130), outline=INK, width=3)
    if k > 0.75:
        burst(d, bx, y - 50, 16)


def scene_punch(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=140, b_mood="hurt" if k > 0.7 else "neutral", b_dx=10 * k)
    hand(d, ax + 30 + 55 * k, y + 5, 15)
    d.line((ax + 10, y + 5, ax + 20 + 55 * k, y + 5), fill=INK, width=5)
    if k > 0.7:
        burst(d, bx - 35, y + 5, 20)


def scene_poke(d, t):
    k = wave_t((t * 2) % 1)
    ax, bx, y = duo(d, t, gap=140, b_mood="neutral")
    tip = ax + 45 + 40 * k
    d.line((ax + 35, y + 20, tip, y + 10), fill=INK, width=6)
    if k > 0.8:
        d.text((bx + 30, y - 70), "!", fill=INK, font=ImageFont.load_default(size=34))


def scene_bite(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=130 - 40 * k, a_mood="bite", b_mood="hurt" if k > 0.6 else "neutral")
    if k > 0.6:
        burst(d, bx, y - 45, 12, color=(255, 120, 120))


def scene_highfive(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=150)
    left, right = ax + 20 + 45 * k, bx - 20 - 45 * k
    hand(d, left, y - 55, 14)
    hand(d, right, y - 55, 14, skin=SKIN_B)
    if k > 0.85:
        burst(d, SIZE / 2, y - 55, 18)


def scene_yeet(d, t):
    ax, _, y = SIZE / 2 - 60, 0, 110
    face(d, ax, y, 42, mood="laugh")
    fly = t
    bx, by = SIZE / 2 + 30 + 120 * fly, y - 150 * fly * (1.2 - fly)
    face(d, bx, by, 42 * (1 - 0.6 * fly), skin=SKIN_B, mood="x")
    for i in range(3):
        d.line((bx - 60 - i * 10, by + 10 * i, bx - 40 - i * 10, by + 10 * i), fill=INK, width=3)


def scene_kill(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=140, a_mood="wink", b_mood="x" if k > 0.5 else "neutral", b_dy=20 * k)
    if k > 0.5:
        burst(d, bx, y - 40, 22, color=(200, 80, 255))
        d.text((bx - 30, y + 40), "K.O.", fill=INK, font=ImageFont.load_default(size=22))


def scene_boop(d, t):
    k = wave_t(t)
    ax, bx, y = duo(d, t, gap=140, b_mood="blush" if k > 0.7 else "happy")
    hand(d, ax + 40 + 40 * k, y + 2, 8)
    if k > 0.7:
        d.text((bx - 20, y - 80), "boop", fill=INK, font=ImageFont.load_default(size=20))


def solo(d: Draw, t: float, mood: str, *, dx=0.0, dy=0.0, blush=False, r=60.0) -> tuple[float, float]:
    cx, cy = SIZE / 2 + dx, 110 + dy
    face(d, cx, cy, r, mood=mood, blush=blush)
    return cx, cy


def scene_smile(d, t):
    solo(d, t, "happy", r=56 + 6 * wave_t(t))


def scene_happy(d, t):
    cx, cy = solo(d, t, "laugh", dy=-22 * abs(math.sin(2 * math.pi * t)))
    for i in range(4):
        angle = 2 * math.pi * (t + i / 4)
        burst(d, cx + 85 * math.cos(angle), cy + 70 * math.sin(angle), 8)


def scene_wave(d, t):
    cx, cy = solo(d, t, "happy", dx=-20)
    angle = math.radians(-40 + 60 * wave_t((t * 2) % 1))
    hx, hy = cx + 75 + 20 * math.sin(angle), cy - 40 - 20 * math.cos(angle)
    d.line((cx + 50, cy + 10, hx, hy), fill=INK, width=5)
    hand(d, hx, hy, 15)


def scene_dance(d, t):
    dx = 35 * math.sin(2 * math.pi * t)
    cx, cy = solo(d, t, "happy", dx=dx, dy=-10 * abs(math.cos(2 * math.pi * t)), r=50)
    for i, x in enumerate((40, 195)):
        note(d, x, 55 + 15 * math.sin(2 * math.pi * (t + i / 2)))


def scene_cry(d, t):
    cx, cy = solo(d, t, "sad")
    for side in (-1, 1):
        for i in range(2):
            p = (t + i / 2) % 1
            tear(d, cx + side * 23, cy + 10 + 80 * p, 6)


def scene_blush(d, t):
    solo(d, t, "blush", blush=True, dx=4 * math.sin(4 * math.pi * t))
    heart(d, 190, 45 - 10 * wave_t(t), 10)


def scene_laugh(d, t):
    cx, cy = solo(d, t, "laugh", dx=5 * math.sin(6 * math.pi * t))
    font = ImageFont.load_default(size=26)
    d.text((20, 20 + 6 * math.sin(2 * math.pi * t)), "HA", fill=INK, font=font)
    d.text((180, 30 - 6 * math.sin(2 * math.pi * t)), "HA", fill=INK, font=font)


def scene_wink(d, t):
    solo(d, t, "wink" if 0.3 < t < 0.7 else "happy")
    if 0.3 < t < 0.7:
        burst(d, 190, 60, 10)


def scene_sleep(d, t):
    cx, cy = solo(d, t, "sleep", r=55 + 3 * wave_t(t))
    font = ImageFont.load_default(size=20 + int(10 * t))
    d.text((cx + 50 + 20 * t, cy - 60 - 40 * t), "z", fill=INK, font=font)


SCENES: dict[str, Scene] = {name: globals()[f"scene_{name}"] for name in STARTER_REACTIONS}


def render(name: str) -> list[Image.Image]:
    """Every frame of one reaction, with its label underneath."""
    category = STARTER_REACTIONS[name]
    palette = BACKGROUNDS[category]
    background = palette[sum(map(ord, name)) % len(palette)]
    label_font = ImageFont.load_default(size=26)
    frames = []
    for i in range(FRAMES):
        image = Image.new("RGB", (SIZE, SIZE), background)
        draw = ImageDraw.Draw(image)
        SCENES[name](draw, i / FRAMES)
        label = name.upper()
        width = draw.textlength(label, font=label_font)
        draw.text(((SIZE - width) / 2, SIZE - 46), label, fill=INK, font=label_font)
        frames.append(image.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    return frames


def write_gif(name: str, out_dir: Path) -> Path:
    frames = render(name)
    path = out_dir / f"{name}.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0, optimize=True)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=STARTER_DIR, help="output directory (default: the starter pack)")
    parser.add_argument("names", nargs="*", help="only these reactions (default: all)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(STARTER_REACTIONS):
        path = write_gif(name, args.out)
        print(f"{path} {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
