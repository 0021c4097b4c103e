"""Create .env from .env.example with a freshly generated SECRET_KEY (never overwrites .env)."""

import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    target = ROOT / ".env"
    if target.exists():
        return 0
    lines = (ROOT / ".env.example").read_text().splitlines()
    key = secrets.token_urlsafe(50)
    out = [f"SECRET_KEY={key}" if line.startswith("SECRET_KEY=") else line for line in lines]
    target.write_text("\n".join(out) + "\n")
    target.chmod(0o600)
    print("created .env from .env.example with a new SECRET_KEY", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
