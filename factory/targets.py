"""What the factory builds for unless told otherwise: riscv64, with the userland's python."""

DEFAULT_ARCH = "riscv64"
DEFAULT_PYTHON = "3.13"  # Debian trixie's, the python of the emulated userland and of boards
