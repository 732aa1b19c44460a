"""riscv64 wheel factory: YAML recipes in, repaired and tested riscv64 wheels out."""

__version__ = "0.1.0"
