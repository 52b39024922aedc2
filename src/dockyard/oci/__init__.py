"""OCI data: runtime spec, state, image formats, references. Pure data, no I/O."""
