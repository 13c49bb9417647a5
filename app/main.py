"""Entry point placeholder; replaced by the composition root."""
def main() -> int:
    return 0
