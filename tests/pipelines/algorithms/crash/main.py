import sys

print("about to crash on purpose", flush=True)
sys.exit(3)
