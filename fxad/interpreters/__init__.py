"""The transformations: forward mode and transposition (ad), batching, and staging/partial evaluation."""
