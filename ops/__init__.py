"""GPU-loan logistics (not installed): the device bundle and the packing of its results."""
