"""What drives fresh kernels from outside: headless builds, the replay driver,
the nbconvert exporter. Nothing here runs inside the user's kernel."""
