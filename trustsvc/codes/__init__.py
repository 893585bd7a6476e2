"""Codes with check characters and the serials inside them: the unified social credit
code (GB 32100), citizen ID numbers (GB 11643), e-license identifiers (GB/T 36904) and
their unguessable FF1 serials.

Pure rules: may import only ``errors``. No I/O.
"""
