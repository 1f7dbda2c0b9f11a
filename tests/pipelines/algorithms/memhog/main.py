chunks = []
print("allocating", flush=True)
for _ in range(128):  # 4 GiB in 32 MiB steps, each page written
    chunks.append(b"x" * (32 * 1024 * 1024))
print("allocated everything: the limit did not hold", flush=True)
