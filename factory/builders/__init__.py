"""Where build commands run: natively on this host, or inside an emulated riscv64 userland.

Both implement ``BuildHost``; the rest of the factory never knows which one it uses.
"""
